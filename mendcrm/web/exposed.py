"""Serving the page off loopback: what it needs before it starts, and how it then runs.

On loopback nothing here applies. Off loopback (``--host 0.0.0.0`` or ``[ui] host``, e.g. the
daemon on a home server opened from a phone) other machines can reach the page, so it starts
only with both of:

* **TLS**: ``[ui] tls_cert``/``tls_key`` (PEM files; uvicorn serves https), or a trusted
  TLS-terminating proxy named by ``[ui] allowed_hosts``: the Host header must then be one of
  those names and the cookies are ``Secure`` (the browser speaks https to the proxy);
* **a password** in the keyring (``mendcrm ui set-password``): the token link alone opens only
  the login form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mendcrm.config.model import UiConfig
from mendcrm.errors import SecretError, UsageError
from mendcrm.web.security import Sessions, allowed_hosts, is_loopback

if TYPE_CHECKING:
    import uvicorn

    from mendcrm.web.app import Site

PASSWORD_ENTRY = "mendcrm-ui-page"
"""The page password's keyring entry (service ``mendcrm``), apart from the accounts' entries."""


def read_password(host: str = "") -> str | None:
    """Return the page password from the keyring, or None if none is set (or the keyring cannot
    be read: ``mendcrm ui set-password`` then says why). Given a loopback ``host``, return None
    without touching the keyring: the page asks for no password there."""
    if host and is_loopback(host):
        return None
    from mendcrm.secrets import keyring_get

    try:
        return keyring_get(PASSWORD_ENTRY)
    except SecretError:
        return None


def refuse_exposed(host: str, ui: UiConfig, password: str | None) -> None:
    """Given the address to listen on, ``[ui]`` and the page password (None if unset), raise
    UsageError if the page would be reachable from other machines without TLS (or a TLS proxy)
    and a password; its hint says in one line how to set each missing piece."""
    if is_loopback(host):
        return
    missing = []
    fixes = []
    if ui.tls_cert is None and not ui.allowed_hosts:
        missing.append("TLS")
        fixes.append(
            'set [ui] tls_cert = "cert.pem" and tls_key = "key.pem", or, behind a TLS proxy, '
            '[ui] allowed_hosts = ["crm.example.org"]'
        )
    if not password:
        missing.append("a password")
        fixes.append("run `mendcrm ui set-password`")
    if missing:
        raise UsageError(
            f"refusing to serve the page on {host}: other machines could reach it without "
            + " and ".join(missing),
            hint="; ".join(fixes) + " (or keep the default --host 127.0.0.1 and use an SSH tunnel: "
            "ssh -L 8765:127.0.0.1:8765 HOST)",
        )


def uses_tls(ui: UiConfig) -> bool:
    """Given ``[ui]``, return True if the server itself speaks https."""
    return ui.tls_cert is not None and ui.tls_key is not None


def tls_options(ui: UiConfig) -> dict[str, Any]:
    """Given ``[ui]``, return uvicorn's TLS settings (none without a certificate)."""
    if not uses_tls(ui):
        return {}
    return {"ssl_certfile": str(ui.tls_cert), "ssl_keyfile": str(ui.tls_key)}


def page_hosts(host: str, port: int, ui: UiConfig) -> frozenset[str]:
    """Given the listening address, port and ``[ui]``, return the Host header values accepted:
    behind a TLS proxy off loopback only ``allowed_hosts``; else this machine's names plus them."""
    if not is_loopback(host) and not uses_tls(ui):
        return frozenset(ui.allowed_hosts)
    return allowed_hosts(host, port, ui.allowed_hosts)


def page_sessions(host: str, port: int, ui: UiConfig, token: str) -> Sessions:
    """Given the listening address, port, ``[ui]`` and the access token, return the sessions:
    off loopback they ask for the password and (TLS or proxy) their cookies are ``Secure``."""
    if is_loopback(host):
        return Sessions(token=token, port=port)
    return Sessions(token=token, port=port, password=read_password(host), secure=True)


def page_server(site: Site, host: str, port: int, ui: UiConfig) -> uvicorn.Server:
    """Given the page's site, the listening address, port and ``[ui]``, return the uvicorn
    server that serves it (guarded, quiet, TLS as ``[ui]`` says); nothing listens yet."""
    import uvicorn

    from mendcrm.web.app import guarded

    return uvicorn.Server(
        uvicorn.Config(
            guarded(site),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # the first request's URL carries the token
            server_header=False,
            lifespan="off",
            **tls_options(ui),
        )
    )


__all__ = [
    "PASSWORD_ENTRY",
    "page_hosts",
    "page_server",
    "page_sessions",
    "read_password",
    "refuse_exposed",
    "tls_options",
    "uses_tls",
]
