"""``mendcrm demo``: run the whole product against a throwaway local server."""

from __future__ import annotations

import sys

import click

from mendcrm.cli.context import AppContext, pass_app


def _wait_for_interrupt() -> None:
    import signal

    try:
        signal.pause()
    except KeyboardInterrupt:
        click.echo("\nstopping the demo server")


@click.command()
@click.option(
    "--keep", is_flag=True, help="Leave the server running so you can point a client at it."
)
@pass_app
def demo(app: AppContext, keep: bool) -> None:
    """Start an embedded Radicale with sample data, run a full pass and show what MendCRM found.

    Nothing touches your own config, store or keyring.
    """
    from mendcrm.demo.run import run_demo

    sys.exit(run_demo(app.clock, click.echo, keep=keep, wait=_wait_for_interrupt))
