"""``mendcrm plugins list``: which plugins exist, which are enabled, which are failing."""

from __future__ import annotations

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import emit_json, shorten, table


@click.group()
def plugins() -> None:
    """List plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for other tools.")
@pass_app
def plugins_list(app: AppContext, as_json: bool) -> None:
    """Show every discovered plugin, whether it is enabled, and its last error if failing."""
    from mendcrm.delivery import plugin_health
    from mendcrm.plugins import plugins_status

    health = plugin_health(app.store) if app.store_path.exists() else None
    rows = plugins_status(app.config, health)
    if as_json:
        emit_json([row.to_dict() for row in rows])
        return
    if not rows:
        click.echo("no plugins found")
        return
    table(
        [
            [
                row.name,
                "yes" if row.enabled else "no",
                "FAILING" if row.failing else ("ok" if row.enabled else "-"),
                row.origin,
                shorten(row.error or row.location, 70),
            ]
            for row in rows
        ],
        ["NAME", "ENABLED", "STATE", "FROM", "DETAIL"],
    )


def register(group: click.Group) -> None:
    """Given the ``mendcrm`` group, add ``plugins`` to it."""
    group.add_command(plugins)


__all__ = ["plugins", "register"]
