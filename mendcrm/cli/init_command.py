"""``mendcrm init``: write a commented config file to start from."""

from __future__ import annotations

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.errors import UsageError


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@pass_app
def init(app: AppContext, force: bool) -> None:
    """Write a commented config file (to --config, $MENDCRM_CONFIG or the user config folder)."""
    from mendcrm.config.edit import example_text, write_private

    path = app.config_file
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists already", hint="edit it, or run `mendcrm init --force` to start over"
        )
    write_private(path, example_text())
    click.echo(f"wrote {path}")
    click.echo(
        "next: `mendcrm account add NAME --url URL --username USER` and `mendcrm contact add`"
    )
