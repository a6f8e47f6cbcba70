"""HTTP for one source: a caldav DAVClient built from MendCRM's settings alone, plus the policy
the library leaves to its caller: which URLs are acceptable, redirects, retries, request counts.

- Every setting is passed explicitly: no ``get_davclient`` (it reads CALDAV_* variables and
  ``~/.config/caldav/calendar.conf``), no RFC 6764 DNS discovery, no proxy or .netrc from the
  environment (``trust_env`` off). TLS is always verified, against ``ca_file`` if given.
- ``http://`` is refused except to loopback: credentials and calendars would travel in clear.
- Every request, whatever sent it (discovery following a principal or calendar-home href, an
  object href from a REPORT, a redirect, the library's own re-send after a 401), passes one check
  before it leaves (:meth:`Transport._guard`): it must go where the credentials may go
  (RFC 7617 §2.2: the configured origin, or over https on its port a host of the same registrable
  domain; see :func:`mendcrm.urls.credentials_may_go`). Anything else is refused before a
  connection is made, as an error naming the source.
- Redirects are followed here, not by the HTTP library, under that same check, never down to
  http, and with the same method (the library turns a 302'd PROPFIND into a GET).
- Only idempotent requests are retried (connection errors, timeouts, 429/502/503/504), with
  back-off, honouring Retry-After up to a limit.
- Every request is bounded in time, size and XML by :mod:`mendcrm.sources.request_bounds`: a
  total deadline, a stop flag, the body streamed and counted in decoded bytes, no DTD.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from caldav.davclient import DAVClient
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http_lib
from caldav.lib.python_utilities import WireBytes
from caldav.response import DAVResponse

from mendcrm.errors import SourceError
from mendcrm.sources.request_bounds import DEFAULT_DEADLINE_SECONDS, read_body, run_within
from mendcrm.urls import UrlProblem, credentials_may_go, origin_of, registrable_domain, url_problem

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5
USER_AGENT = "MendCRM (caldav)"
"""Sent to CalDAV servers. Not a browser's: Nextcloud/SabreDAV answer errors to browsers with an
HTML page instead of the DAV:error XML MendCRM reads. Feeds send their own (see sources.feeds)."""


def check_url(url: str, where: str) -> None:
    """Given a URL from the config (or a redirect), raise SourceError if MendCRM must not use it."""
    problem = url_problem(url)
    if problem is UrlProblem.PLAIN_HTTP:
        raise SourceError(
            f"{where}: refusing plain http:// to {urlsplit(url).hostname}: the password and the "
            "calendar would cross the network unencrypted",
            hint="use the server's https:// address (http:// is allowed only for loopback)",
        )
    if problem is UrlProblem.NOT_HTTP:
        raise SourceError(
            f"{where}: {url!r} is not an http(s) URL", hint="give the full https:// address"
        )


class Transport:
    """Requests to one server on behalf of one source, counted and retried by policy.

    ``requests`` counts HTTP exchanges on the wire (authentication round trips and failed
    attempts included); ``sleep`` is how back-off waits (tests pass a recorder).
    """

    def __init__(
        self,
        url: str,
        *,
        where: str,
        username: str = "",
        password: str = "",
        auth_type: str | None = None,
        ca_file: Path | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
        max_response_bytes: int = 256 * 1024 * 1024,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = USER_AGENT,
    ) -> None:
        check_url(url, where)
        if ca_file is not None and not Path(ca_file).is_file():
            raise SourceError(f"{where}: CA file {ca_file} does not exist", hint="fix ca_file")
        self.where = where
        self.configured = url
        """The URL the user configured: its origin bounds where requests may go."""
        self.host = _host(url)
        self.requests = 0
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_response_bytes = max_response_bytes
        self.deadline = deadline
        """Seconds one :meth:`request` may take in all (redirects, retries, reads included)."""
        self.sleep = sleep
        self.last_url = url
        """The URL the last answer came from, after redirects."""
        self.client = DAVClient(
            url=url,
            username=username or None,
            password=password or None,
            auth_type=auth_type if (username and password) else None,
            timeout=timeout,  # type: ignore[arg-type]  # a float works; the hint says int
            ssl_verify_cert=str(ca_file) if ca_file else True,
            headers={"User-Agent": user_agent},
            enable_rfc6764=False,
            require_tls=True,
            rate_limit_handle=False,
        )
        session = self.client.session
        session.trust_env = False
        session.hooks.setdefault("response", []).append(self._on_response)
        follow = session.request

        def request_without_redirects(method: str, target: str, **kwargs: Any) -> Any:
            # Every exchange on the wire goes through here, so this is the one place the
            # credential scope is enforced (the Authorization header is attached below it).
            self._guard(target)
            kwargs["allow_redirects"] = False
            # Streamed, so the body is counted as it arrives instead of being read whole.
            kwargs["stream"] = True
            response = follow(method, target, **kwargs)
            host = urlsplit(target).hostname or self.host
            read_body(response, limit=self.max_response_bytes, where=self.where, host=host)
            return response

        session.request = request_without_redirects  # type: ignore[method-assign,assignment]

    @property
    def url(self) -> str:
        return str(self.client.url)

    @property
    def auth_type(self) -> str | None:
        """The scheme that worked ("basic", "digest", "bearer"), to send up front next time."""
        auth = self.client.auth
        if auth is None:
            return None
        name = type(auth).__name__.lower()
        for scheme in ("digest", "basic", "bearer"):
            if scheme in name:
                return scheme
        return None

    def close(self) -> None:
        self.client.close()

    def may_send_to(self, url: str) -> bool:
        """Given an absolute URL, return whether a request (and the credentials) may go there."""
        return credentials_may_go(url, self.configured)

    def _guard(self, url: str) -> None:
        """Raise OutsideScope if a request to ``url`` would carry the credentials (or the
        feed's address) anywhere but their protection space (RFC 7617 §2.2)."""
        if self.may_send_to(url):
            return
        target, home = origin_of(url), origin_of(self.configured)
        if target is None or home is None:
            raise OutsideScope(
                f"{self.where}: the server points to {url!r}, which is not an http(s) URL",
                hint="check the server; MendCRM sends requests only to http(s) addresses",
            )
        if target.scheme == "http":
            why = "plain http"
        elif target.port != home.port:
            why = "another port"
        else:
            why = "another domain"
        domain = registrable_domain(home.host)
        allowed = f"{home}" + (
            f" or https hosts under {domain} on port {home.port}" if domain else ""
        )
        raise OutsideScope(
            f"{self.where}: refused to send a request to {target} ({why}), where the server "
            f"pointed: this source's requests and credentials go only to {allowed}",
            hint=f"if the calendars really live there, set the url to {target}/",
        )

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_response_bytes:
            raise SourceError(
                f"{self.where}: the server sent a {int(length)}-byte answer, over the "
                f"{self.max_response_bytes}-byte limit",
                hint="check the server; a calendar that big is likely an error",
            )
        return response

    def request(
        self,
        url: str,
        method: str,
        body: str | bytes = "",
        headers: Mapping[str, str] | None = None,
    ) -> DAVResponse:
        """Send one request (following safe redirects, retrying if idempotent) and return the
        answer, whatever its status; raise SourceError when the server cannot be reached, refuses
        the credentials, or keeps failing."""
        target = url
        until = time.monotonic() + self.deadline
        for _ in range(MAX_REDIRECTS + 1):
            response = self._with_retries(target, method, body, headers, until)
            self.last_url = target
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    return response
                target = self._redirect_target(target, location)
                continue
            return response
        raise SourceError(f"{self.where}: too many redirects from {url}", hint="check the URL")

    def _redirect_target(self, current: str, location: str) -> str:
        target = urljoin(current, location)
        if urlsplit(current).scheme == "https" and urlsplit(target).scheme != "https":
            raise OutsideScope(
                f"{self.where}: the server redirects from https to plain http "
                f"({origin_of(target) or target})",
                hint="fix the server, or use its https:// address",
            )
        check_url(target, self.where)
        self._guard(target)  # also checked as the request leaves; refused here, before it
        return target

    def _with_retries(
        self,
        url: str,
        method: str,
        body: str | bytes,
        headers: Mapping[str, str] | None,
        until: float,
    ) -> DAVResponse:
        attempts = self.attempts if method in IDEMPOTENT else 1
        host = _host(url)  # errors name the host asked, which may not be the configured one
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = run_within(
                    lambda: self.client.request(
                        url,
                        method,
                        Octets(body) if isinstance(body, bytes) else body,  # type: ignore[arg-type]
                        dict(headers or {}),
                    ),
                    until,
                    lambda: self._too_slow(url),
                )
            except dav_error.RateLimitError as exc:
                wait = self._retry_wait(exc.retry_after_seconds, attempt)
                if last or wait is None:
                    raise SourceError(
                        f"{self.where}: the server is busy ({exc.status}) and asks to retry "
                        f"after {exc.retry_after or 'a while'}",
                        hint="MendCRM will try again on the next sync",
                    ) from exc
                self.sleep(wait)
                continue
            except dav_error.AuthorizationError as exc:
                raise self._auth_error(exc) from exc
            except http_lib.exceptions.Timeout as exc:
                self.requests += 1
                if last:
                    raise SourceError(
                        f"{self.where}: no answer from {host} within the timeout",
                        hint="check the server, or raise timeout_seconds",
                    ) from exc
                self.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            except http_lib.exceptions.SSLError as exc:
                self.requests += 1
                raise SourceError(
                    f"{self.where}: TLS certificate of {host} could not be verified",
                    hint="for a private CA, set ca_file to its certificate",
                ) from exc
            except (http_lib.exceptions.ConnectionError, OSError) as exc:
                self.requests += 1
                if last:
                    raise SourceError(
                        f"{self.where}: cannot connect to {host}",
                        hint="check that the server is up and the url is right",
                    ) from exc
                self.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            except http_lib.exceptions.RequestException as exc:
                self.requests += 1
                raise SourceError(f"{self.where}: request to {host} failed ({exc})") from exc
            if response.status in RETRY_STATUSES and not last:
                wait = self._retry_wait(None, attempt)
                if wait is not None:
                    self.sleep(wait)
                    continue
            return response
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _too_slow(self, url: str) -> SourceError:
        return SourceError(
            f"{self.where}: {urlsplit(url).hostname or self.host} did not finish answering "
            f"within {self.deadline:g} s; MendCRM gave up on the request",
            hint="check the server; if a very large calendar needs longer, raise [sync] "
            "request_deadline_seconds",
        )

    def _retry_wait(self, retry_after: float | None, attempt: int) -> float | None:
        if retry_after is None:
            return self.backoff * 2 ** (attempt - 1)
        if retry_after > self.max_retry_after:
            return None
        return max(0.0, retry_after)

    def _auth_error(self, exc: dav_error.AuthorizationError) -> SourceError:
        if exc.status == 403 and exc.preconditions:
            return PreconditionFailed(self.where, exc.preconditions, exc.status)
        if exc.status == 403:
            return SourceError(
                f"{self.where}: the server refuses access (403) to {exc.url}",
                hint="check the account's permissions and the calendar URL",
            )
        return AuthRejected(
            f"{self.where}: the server rejected the username or password (401)",
            hint="check the username, and the password in the keyring or password_command",
        )


class Octets(WireBytes):
    """A request body sent exactly as given.

    The library sends a ``WireBytes`` body untouched (any other body has its LF line ends
    rewritten to CRLF), but it also builds a debug line with the body decoded strictly as UTF-8,
    even with logging off; iCalendar octets whose folds cut a character (RFC 5545 §3.1) are not
    UTF-8 until unfolded, so that decode must not raise.
    """

    def decode(self, encoding: str = "utf-8", errors: str = "replace") -> str:
        return bytes(self).decode(encoding, errors)


def _host(url: str) -> str:
    origin = origin_of(url)
    return str(origin).split("://", 1)[1] if origin is not None else url


class OutsideScope(SourceError):
    """A request would have gone outside the credentials' protection space; none was sent."""


class AuthRejected(SourceError):
    """The server answered 401 to the credentials sent."""


class PreconditionFailed(SourceError):
    """The server answered with a DAV:error precondition (e.g. an invalid sync token)."""

    def __init__(self, where: str, preconditions: list[str], status: int | None) -> None:
        names = ", ".join(p.split("}")[-1] for p in preconditions)
        super().__init__(f"{where}: the server refused the request ({status}: {names})")
        self.preconditions = preconditions
        self.status = status


__all__ = [
    "IDEMPOTENT",
    "AuthRejected",
    "Octets",
    "OutsideScope",
    "PreconditionFailed",
    "Transport",
    "check_url",
]
