"""``mendcrm init``: write a commented config file to start from."""

from __future__ import annotations

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.errors import UsageError


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--name", help="Your name, as on invitations.")
@click.option(
    "--email", "emails", multiple=True, help="Your own address (repeatable): to see your replies."
)
@click.option("--timezone", help='Your IANA time zone, e.g. "Europe/Berlin" (default: system).')
@pass_app
def init(
    app: AppContext, force: bool, name: str | None, emails: tuple[str, ...], timezone: str | None
) -> None:
    """Write a commented config file (to --config, $MENDCRM_CONFIG or the user config folder)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from mendcrm.config.edit import example_text, set_me, write_private
    from mendcrm.contacts import clean_emails

    path = app.config_file
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists already", hint="edit it, or run `mendcrm init --force` to start over"
        )
    addresses = list(clean_emails(emails))
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                f"unknown time zone {timezone!r}", hint='use an IANA name such as "Europe/Berlin"'
            ) from None
    write_private(path, example_text())
    if name or addresses or timezone:
        set_me(path, name=name, emails=addresses or None, timezone=timezone)
    click.echo(f"wrote {path}")
    if not addresses:
        click.echo(
            "set [me] emails in it (or pass --email): MendCRM needs your own addresses to see "
            "which invitations you declined"
        )
    click.echo(
        "next: `mendcrm account add NAME --url URL --username USER` and `mendcrm contact add`"
    )
