"""``mendcrm account …``: CalDAV accounts in the config, their passwords in the keyring."""

from __future__ import annotations

import sys
from typing import Any

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import emit_json, json_option, table
from mendcrm.errors import NotFoundError, UsageError


@click.group()
def account() -> None:
    """Add, list, test and remove CalDAV accounts."""


@account.command("add")
@click.argument("name")
@click.option("--url", required=True, help="The server's CalDAV address (root or principal URL).")
@click.option("--username", required=True, help="Your login on that server.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
@click.option(
    "--password-command",
    help='A command printing the password, e.g. "pass show dav/work" (kept instead of a password).',
)
@click.option(
    "--annotate",
    type=click.Choice(["off", "dedicated", "inline"]),
    default=None,
    help="How MendCRM annotates this account's calendars (default: dedicated).",
)
@pass_app
def add(
    app: AppContext,
    name: str,
    url: str,
    username: str,
    password_stdin: bool,
    password_command: str | None,
    annotate: str | None,
) -> None:
    """Add a CalDAV account NAME; its password goes to the system keyring, never the config."""
    import shlex
    from urllib.parse import urlsplit

    from mendcrm.config.edit import add_account, add_my_email
    from mendcrm.secrets import keyring_set
    from mendcrm.urls import UrlProblem, url_problem

    problem = url_problem(url)
    if problem is UrlProblem.NOT_HTTP:
        raise UsageError(f"{url!r} is not an http(s) URL", hint="e.g. https://dav.example.org/")
    if problem is UrlProblem.PLAIN_HTTP:
        raise UsageError(
            f"plain http:// to {urlsplit(url).hostname} would send your password unencrypted",
            hint="use the server's https:// address",
        )
    if password_stdin and password_command:
        raise UsageError("give either --password-stdin or --password-command, not both")
    entry: dict[str, Any] = {"name": name, "url": url, "username": username}
    if password_command:
        try:
            argv = shlex.split(password_command)
        except ValueError as exc:  # "No closing quotation", "No escaped character"
            raise UsageError(
                f"--password-command cannot be split into words: {exc}",
                hint="close the quote, e.g. --password-command \"pass show 'dav/work'\"",
            ) from None
        if not argv:
            raise UsageError("--password-command is empty", hint='e.g. "pass show dav/work"')
        entry["password_command"] = argv
    if annotate:
        entry["annotate"] = annotate
    password = None
    if not password_command:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(f"password for {username}", hide_input=True)
        if not password:
            raise UsageError("the password is empty", hint="pass it on standard input")
        # Keyring first: a config entry without a stored password would fail every sync.
        keyring_set(name, password)
    add_account(app.config_file, entry)
    where = "password command" if password_command else "system keyring"
    click.echo(f"added account {name} to {app.config_file} (password in the {where})")
    # Detection needs the user's own addresses (who declined, who organises): a login that is
    # an address almost always is one of them.
    if "@" in username and add_my_email(app.config_file, username):
        click.echo(f"added {username.strip().lower()} to [me] emails")
    click.echo(f"check it with `mendcrm account test {name}`")


@account.command("list")
@json_option
@pass_app
def list_accounts(app: AppContext, as_json: bool) -> None:
    """List the configured accounts and feeds."""
    accounts = app.config.accounts
    feeds = app.config.feeds
    rows = [
        {
            "name": a.name,
            "kind": "caldav",
            "url": a.url,
            "username": a.username,
            "password": "command" if a.password_command else "keyring",
            "annotate": a.annotate,
        }
        for a in accounts
    ] + [
        {
            "name": f.name,
            "kind": "feed",
            "url": f.url or str(f.path),
            "username": "",
            "password": "",
            "annotate": "off",
        }
        for f in feeds
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no accounts: add one with `mendcrm account add NAME --url URL --username USER`")
        return
    table(
        [
            [r["name"], r["kind"], r["url"], r["username"], r["password"], r["annotate"]]
            for r in rows
        ],
        ["NAME", "KIND", "URL", "USERNAME", "PASSWORD", "ANNOTATE"],
    )


@account.command("remove")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Remove account NAME from the config and its password from the keyring."""
    from mendcrm.config.edit import remove_account
    from mendcrm.secrets import keyring_delete

    if not remove_account(app.config_file, name):
        raise NotFoundError(f"no account named {name!r} in {app.config_file}")
    keyring_delete(name)
    click.echo(f"removed account {name}")


@account.command("test")
@click.argument("name")
@json_option
@pass_app
def test(app: AppContext, name: str, as_json: bool) -> None:
    """Connect to account NAME and say what MendCRM finds there."""
    from mendcrm.secrets import get_password
    from mendcrm.sources import test_account

    config = app.config.account(name)
    if config is None:
        raise NotFoundError(f"no account named {name!r}", hint="see `mendcrm account list`")
    report = test_account(config, get_password(config), timeout=app.config.sync.timeout_seconds)
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(
        f"{name}: connected to {report.url} in {report.seconds:.1f} s ({report.requests} requests)"
    )
    click.echo(f"  principal: {report.principal}")
    if report.addresses:
        click.echo(
            f"  your addresses there (counted with [me] emails): {', '.join(report.addresses)}"
        )
    click.echo(
        "  sync-token (fast incremental sync): "
        + ("supported" if report.sync_token else "not supported")
    )
    if not report.calendars:
        click.echo("  no event calendars found")
    for info in report.calendars:
        mark = "syncs" if info.selected else "skipped"
        click.echo(f"  [{mark}] {info.name or '(unnamed)'}  {info.url}")
