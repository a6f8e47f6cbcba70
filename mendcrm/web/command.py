"""``mendcrm ui``: serve the page on loopback and print its URL (with the access token)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import click

from mendcrm.cli.context import AppContext
from mendcrm.errors import UsageError

SERVER_FILE = "ui-server.json"
"""Beside the store: where the running server says its address, for ``mendcrm ui --url``."""


def page_url(host: str, port: int, token: str, *, tls: bool = False) -> str:
    """Given the address, the token and whether the server speaks TLS, return the URL to open
    (IPv6 in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}/?token={token}"


def _running(server_file: Path) -> dict[str, object] | None:
    """Given the server file, return what it says if its process still runs, else None (a
    server stopped by a signal cannot always remove its file)."""
    try:
        where = json.loads(server_file.read_text("utf-8"))
        os.kill(int(where["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(where)


def _graphical() -> bool:
    """Return True if a browser window can be opened (a desktop session, not SSH or a server)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@click.group("ui", invoke_without_command=True)
@click.option("--host", default=None, help="Address to listen on (default: [ui] host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default: [ui] port, 8765)."
)
@click.option("--no-open", is_flag=True, help="Do not open a browser.")
@click.option("--url", "print_url", is_flag=True, help="Print the running server's URL and exit.")
@click.option("--rotate-token", is_flag=True, help="Replace the access token (old links stop).")
@click.pass_context
def ui(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    no_open: bool,
    print_url: bool,
    rotate_token: bool,
) -> None:
    """Serve the local web page; print one line with its URL (it carries the access token)."""
    if ctx.invoked_subcommand is not None:
        return
    from mendcrm.web.exposed import read_password, refuse_exposed
    from mendcrm.web.security import load_token, token_path

    app = ctx.find_object(AppContext)
    assert app is not None  # the main group always makes it
    host = host or app.config.ui.host
    port = port or app.config.ui.port

    tokens = token_path(app.store_path)
    server_file = app.store_path.with_name(SERVER_FILE)
    if print_url:
        where = _running(server_file)
        if where is None:
            raise UsageError(
                "no page is running for this store", hint="start one with `mendcrm ui`"
            )
        click.echo(
            page_url(
                str(where["host"]),
                int(str(where["port"])),
                load_token(tokens),
                tls=bool(where.get("tls")),
            )
        )
        return
    refuse_exposed(host, app.config.ui, read_password(host))
    token = load_token(tokens, rotate=rotate_token)
    serve(
        app, host, port, token, open_browser=not no_open and _graphical(), server_file=server_file
    )


def serve(
    app: AppContext,
    host: str,
    port: int,
    token: str,
    *,
    open_browser: bool,
    server_file: Path,
) -> None:
    """Given the app context and the address, run the page until interrupted."""
    from mendcrm.files import write_private
    from mendcrm.secrets import get_password
    from mendcrm.web.app import Site
    from mendcrm.web.exposed import page_hosts, page_server, page_sessions, uses_tls

    ui_config = app.config.ui
    site = Site(
        config=app.config,
        store=app.store,
        clock=app.clock,
        sessions=page_sessions(host, port, ui_config, token),
        hosts=page_hosts(host, port, ui_config),
        password_for=get_password,
    )
    tls = uses_tls(ui_config)
    url = page_url(host, port, token, tls=tls)
    server = page_server(site, host, port, ui_config)
    # Listen before the URL is printed or the browser opened, so whoever reads that line (a
    # person, a browser, a script) finds the page answering.
    listening = _listen(host, port)
    where = {"host": host, "port": port, "pid": os.getpid(), "tls": tls}
    write_private(server_file, json.dumps(where))
    click.echo(f"MendCRM page: {url}", err=False)
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.run(sockets=[listening])
    finally:
        server_file.unlink(missing_ok=True)
        listening.close()


def _listen(host: str, port: int) -> socket.socket:
    """Given the address and port to serve on, return a socket listening there; raise
    UsageError naming them if it cannot be had (in use, no such address)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})",
            hint="choose another --port, or stop what already listens there",
        ) from None


@ui.command("set-password")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def set_password(password_stdin: bool) -> None:
    """Set the password the page asks for when served off loopback (kept in the keyring)."""
    from mendcrm.secrets import keyring_set
    from mendcrm.web.exposed import PASSWORD_ENTRY

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "Page password", hide_input=True, confirmation_prompt=True, err=True
        )
    if len(password) < 8:
        raise UsageError(
            "the page password is too short (fewer than 8 characters)",
            hint="choose a longer one: it guards your notes from the network",
        )
    keyring_set(PASSWORD_ENTRY, password)
    click.echo("The page password is set; it is asked for when the page is served off loopback.")


__all__ = ["page_url", "serve", "set_password", "ui"]
