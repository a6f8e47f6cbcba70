"""Who may use the page: the access token, sessions, CSRF tokens, the Host check and headers.

The page holds notes about people, so every request is checked before anything else runs:

* **Host** (DNS rebinding): only the names the server was started for (``127.0.0.1:PORT``,
  ``localhost:PORT``, ``[::1]:PORT``); any other Host header gets 403.
* **Token** (as Jupyter does): a random secret in a 0600 file. ``?token=…`` on any URL is
  exchanged for a session cookie (``HttpOnly``, ``SameSite=Strict``, named with the port, since
  browsers do not isolate cookies by port) and a redirect to the same URL without it, so the
  token leaves the address bar and the history. Without a valid session: 401.
* **CSRF**: every POST carries the session's CSRF token in a form field; without it: 403.
* **Headers**: a strict Content-Security-Policy (only this origin's script and style files, no
  inline ones, nothing from another origin), no referrer, no caching, no framing.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mendcrm.errors import UsageError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script or style, nothing from another origin (the SVG chart is inline markup, which
``img-src`` does not govern; it carries no script and no style attribute)."""

HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

TOKEN_FILE = "ui-token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def token_path(store_path: Path) -> Path:
    """Given the store's path, return where the page's access token is kept (beside it)."""
    return store_path.with_name(TOKEN_FILE)


def load_token(path: Path, *, rotate: bool = False) -> str:
    """Given the token file, return its token, making a new one (mode 0600) if there is none or
    ``rotate``; raise UsageError if the file is readable by others (someone may have it)."""
    from mendcrm.files import write_private

    if not rotate and path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise UsageError(
                f"the page's token file {path} can be read by other users (mode {mode:o})",
                hint="run `mendcrm ui --rotate-token` to replace it with a private one",
            )
        token = path.read_text("utf-8").strip()
        if len(token) >= 32:
            return token
    token = secrets.token_urlsafe(32)
    write_private(path, token + "\n")
    os.chmod(path, 0o600)
    return token


def is_loopback(host: str) -> bool:
    """Given the address the server listens on, return True if only this machine reaches it."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """Given the listening address and port, return the Host header values accepted."""
    names = {*LOOPBACK_NAMES, host if ":" not in host else f"[{host.strip('[]')}]"}
    return frozenset({f"{n}:{port}" for n in names} | set(extra))


def cookie_name(port: int) -> str:
    """Given the port, return the session cookie's name (cookies are shared across ports)."""
    return f"mendcrm_session_{port}"


@dataclass
class Sessions:
    """The page's sessions: session id → CSRF token, in memory (a restart asks for the token
    again). The only state the page holds of its own."""

    token: str
    port: int
    _csrf: dict[str, str] = field(default_factory=dict)

    @property
    def cookie(self) -> str:
        return cookie_name(self.port)

    def token_ok(self, given: str | None) -> bool:
        """Given a token from a URL, return True if it is the access token (constant time)."""
        return bool(given) and hmac.compare_digest(str(given).encode(), self.token.encode())

    def start(self) -> str:
        """Start a session; return its id (for the cookie)."""
        session = secrets.token_urlsafe(32)
        self._csrf[session] = secrets.token_urlsafe(32)
        return session

    def csrf_of(self, session: str | None) -> str | None:
        """Given a session id from a cookie, return its CSRF token, or None if unknown."""
        return self._csrf.get(session or "")

    def csrf_ok(self, session: str | None, given: str | None) -> bool:
        """Given a session id and the CSRF token a form sent, return True if they belong."""
        wanted = self.csrf_of(session)
        return bool(wanted and given) and hmac.compare_digest(str(given), str(wanted))


def refuse_exposed(host: str, *, tls: bool) -> None:
    """Given the address to listen on and whether TLS is set up, raise UsageError if the page
    would be reachable from other machines without TLS and a password."""
    if is_loopback(host):
        return
    if not tls:
        raise UsageError(
            f"refusing to serve the page on {host}: other machines could reach it without TLS",
            hint="keep the default --host 127.0.0.1, or reach it through an SSH tunnel "
            "(ssh -L 8765:127.0.0.1:8765 HOST); serving off loopback with TLS and a password "
            "is not available yet",
        )


__all__ = [
    "CSP",
    "HEADERS",
    "Sessions",
    "allowed_hosts",
    "cookie_name",
    "is_loopback",
    "load_token",
    "refuse_exposed",
    "token_path",
]
