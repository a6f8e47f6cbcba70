"""``mendcrm contact remove``, ``backup`` and ``restore``: the user's data, kept or let go."""

from __future__ import annotations

from pathlib import Path

import click

from mendcrm.cli.context import AppContext, pass_app


@click.command("remove")
@click.argument("query", metavar="NAME|ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def remove(app: AppContext, query: str, yes: bool) -> None:
    """Forget a contact everywhere: the store and its backup copy, their encounters and notes,
    MendCRM's calendar annotations about them, the markdown notes and the export entries."""
    from mendcrm import repository
    from mendcrm.contacts import resolve
    from mendcrm.forgetting import finish_removals, forget_in, scrub_copies
    from mendcrm.plugins import make_plugin_manager
    from mendcrm.secrets import get_password

    with app.store.read() as view:
        person = resolve(repository.contacts(view), query)
    if not yes:
        click.confirm(
            f"Forget {person.name} ({person.id}) and everything MendCRM holds about them?",
            abort=True,
        )
    now = app.clock.now()
    with app.store.transaction() as tx:
        forgotten = forget_in(tx, person.id, now=now)
    manager = make_plugin_manager(app.config)
    warnings = finish_removals(
        app.config, app.store, now=now, password_for=get_password, plugin_manager=manager
    )
    warnings += scrub_copies(app.store, [person.id])  # last: the .bak is then the final version
    for warning in warnings:
        click.echo(f"mendcrm: warning: {warning}", err=True)
    counts = ", ".join(f"{n} {table}" for table, n in sorted(forgotten.removed.items()))
    click.echo(f"forgot {person.name} ({counts})")
    if warnings:
        click.echo("what could not be removed yet is retried on every sync (see `mendcrm status`)")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup(app: AppContext, file: Path) -> None:
    """Write a consistent copy of the store to FILE (mode 0600), restorable anywhere."""
    count = app.store.backup_to(file)
    click.echo(f"backed up {count} contacts to {file}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def restore(app: AppContext, file: Path, yes: bool) -> None:
    """Make the backup FILE the store; the store it replaces is kept as the .bak copy."""
    if not yes and app.store_path.exists():
        click.confirm(f"Replace the store {app.store_path} with {file}?", abort=True)
    count = app.store.restore_from(file)
    click.echo(
        f"restored {count} contacts from {file} (the replaced store: {app.store.backup_path})"
    )


__all__ = ["backup", "remove", "restore"]
