"""``mendcrm annotations …``: remove MendCRM's notes from the user's calendars.

No ``from __future__ import annotations`` here: the group is called ``annotations``.
"""

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.errors import NotFoundError


@click.group()
def annotations() -> None:
    """Manage MendCRM's notes in your calendars."""


@annotations.command("clear")
@click.option("--account", "account_name", default=None, help="Only this account (default: all).")
@click.option(
    "--remove-calendar",
    is_flag=True,
    help="Also delete the dedicated calendar (only if MendCRM created it or it is left empty).",
)
@pass_app
def clear(app: AppContext, account_name: str | None, remove_calendar: bool) -> None:
    """Strip inline notes from your events and delete MendCRM's items from its calendar.

    MendCRM writes them again on the next sync unless the account's ``annotate`` is "off".
    """
    from mendcrm.annotations.run import STATE_PREFIX, clear_accounts
    from mendcrm.secrets import get_password

    config = app.config
    if account_name is not None and config.account(account_name) is None:
        known = ", ".join(a.name for a in config.accounts) or "none configured"
        raise NotFoundError(
            f"no account named {account_name!r} (accounts: {known})",
            hint="see 'mendcrm account list'",
        )
    with app.store.read() as view:
        state = {
            d["id"]: d
            for d in view.all("sync_state")
            if str(d.get("id", "")).startswith(STATE_PREFIX) or d.get("kind") == "account"
        }
    result = clear_accounts(
        config,
        state,
        password_for=get_password,
        now=app.clock.now(),
        accounts=None if account_name is None else [account_name],
        remove_calendar=remove_calendar,
    )
    with app.store.transaction() as tx:
        for doc in result.state.values():
            tx.put("sync_state", doc)
    for warning in result.warnings:
        click.echo(f"mendcrm: warning: {warning}", err=True)
    cleared = sorted(doc["account"] for doc in result.state.values() if not doc.get("items"))
    if cleared:
        click.echo(f"Annotations cleared: {', '.join(cleared)}")
    elif not result.warnings:
        click.echo("No annotations to clear.")
    if result.warnings:
        click.get_current_context().exit(1)


__all__ = ["annotations"]
