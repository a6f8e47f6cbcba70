"""Who may use the page: the access token, sessions, CSRF tokens, the Host check and headers.

The page holds notes about people, so every request is checked before anything else runs:

* **Host** (DNS rebinding): only the names the server was started for (``127.0.0.1:PORT``,
  ``localhost:PORT``, ``[::1]:PORT``); any other Host header gets 403.
* **Token** (as Jupyter does): a random secret in a 0600 file. ``?token=…`` on any URL is
  exchanged for a session cookie (``HttpOnly``, ``SameSite=Strict``, named with the port, since
  browsers do not isolate cookies by port) and a redirect to the same URL without it, so the
  token leaves the address bar and the history. Without a valid session: 401.
* **CSRF**: every POST carries the session's CSRF token in a form field; without it: 403.
* **Password** (off loopback only, see :mod:`mendcrm.web.exposed`): the token opens a login
  form instead of a session; the password (constant-time compare, a per-client back-off after
  a few failures) then starts the same session.
* **Headers**: a strict Content-Security-Policy (only this origin's script and style files, no
  inline ones, nothing from another origin), no referrer, no caching, no framing.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import time
from collections.abc import Callable, Iterable
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


FREE_FAILURES = 3
"""Wrong passwords a client may send before it must wait."""
MAX_WAIT = 300.0
"""The longest wait (seconds) the back-off asks for."""


@dataclass
class Sessions:
    """The page's sessions: session id → CSRF token, in memory (a restart asks for the token
    again). The only state the page holds of its own.

    With ``password`` set (off loopback), a valid token starts a *login* (id → CSRF token of
    the login form) and only the password turns it into a session; ``secure`` marks the
    cookies ``Secure`` (behind a TLS proxy the server itself sees plain http). ``now`` is a
    monotonic clock in seconds (injected in tests)."""

    token: str
    port: int
    password: str | None = None
    secure: bool = False
    now: Callable[[], float] = time.monotonic
    _csrf: dict[str, str] = field(default_factory=dict)
    _logins: dict[str, str] = field(default_factory=dict)
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def cookie(self) -> str:
        return cookie_name(self.port)

    @property
    def login_cookie(self) -> str:
        return f"{cookie_name(self.port)}_login"

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

    def start_login(self) -> str:
        """Start a login (the token was right, the password is still to come); return its id."""
        if len(self._logins) > 1000:  # only token holders get here; bound it all the same
            self._logins.clear()
        login = secrets.token_urlsafe(32)
        self._logins[login] = secrets.token_urlsafe(32)
        return login

    def login_csrf_of(self, login: str | None) -> str | None:
        """Given a login id from its cookie, return the login form's CSRF token, or None."""
        return self._logins.get(login or "")

    def wait_for(self, client: str) -> float:
        """Given a client's address, return how many seconds it must wait before trying a
        password again (0 if it may try now)."""
        count, last = self._failures.get(client, (0, 0.0))
        if count < FREE_FAILURES:
            return 0.0
        wait = min(2.0 ** (count - FREE_FAILURES), MAX_WAIT)
        return max(0.0, last + wait - self.now())

    def log_in(self, login: str | None, csrf: str | None, password: str, client: str) -> str:
        """Given a login id, the form's CSRF token, the password typed and the client's
        address, return the new session's id; raise PermissionError if the CSRF token or the
        password is wrong (a wrong password counts towards the client's back-off)."""
        wanted_csrf = self.login_csrf_of(login)
        if not (wanted_csrf and csrf and hmac.compare_digest(csrf, wanted_csrf)):
            raise PermissionError("missing or wrong form token")
        expected = (self.password or "").encode()
        # Constant time, and never equal when no password is set.
        if not (self.password and hmac.compare_digest(password.encode(), expected)):
            count, _ = self._failures.get(client, (0, 0.0))
            self._failures[client] = (count + 1, self.now())
            raise PermissionError("wrong password")
        self._failures.pop(client, None)
        self._logins.pop(login or "", None)
        return self.start()


__all__ = [
    "CSP",
    "FREE_FAILURES",
    "HEADERS",
    "MAX_WAIT",
    "Sessions",
    "allowed_hosts",
    "cookie_name",
    "is_loopback",
    "load_token",
    "token_path",
]
