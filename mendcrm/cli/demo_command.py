"""``mendcrm demo``: run the whole product against a throwaway local server."""

from __future__ import annotations

import sys

import click

from mendcrm.cli.context import AppContext, pass_app


@click.command()
@click.option(
    "--keep", is_flag=True, help="Leave the server running so you can point a client at it."
)
@pass_app
def demo(app: AppContext, keep: bool) -> None:
    """Start an embedded Radicale with sample data, run a full pass and show what MendCRM found.

    Nothing touches your own config, store or keyring. With --keep it runs until Ctrl-C or
    SIGTERM, then stops the server and removes the demo folder.
    """
    from mendcrm.demo.run import run_demo
    from mendcrm.demo.stopping import StopRequest

    with StopRequest() as stop:

        def wait() -> None:
            stop.wait()
            click.echo(f"\nstopping the demo server ({stop.received})")

        status = run_demo(app.clock, click.echo, keep=keep, wait=wait)
    sys.exit(status)
