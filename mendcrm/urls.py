"""Which server addresses MendCRM may talk to: https anywhere, plain http only to this machine.

One policy for every caller (the config loader, the HTTP transport, the CLI, the e-mail plugin);
each caller turns a refusal into its own error type and wording. Nothing here opens a
connection or resolves a name: a host is judged by how it is written.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from urllib.parse import unquote, urlsplit


class UrlProblem(StrEnum):
    """Why a URL is refused; the value reads as the end of "the url is …"."""

    NOT_HTTP = "not an http(s) URL"
    PLAIN_HTTP = "plain http:// to a host other than this machine"


def is_loopback(host: str) -> bool:
    """Given a host name or address (IPv6 with or without brackets), return whether it names
    this machine: ``localhost``, a ``*.localhost`` name, or a loopback address.

    Addresses are judged by :mod:`ipaddress`, so ``127.evil.example`` is a name, not a loopback
    address, and shorthand such as ``127.1`` (which ipaddress does not accept) is refused.
    """
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> UrlProblem | None:
    """Given a server URL, return None if MendCRM may use it, else why not.

    Acceptable: ``https://`` to any host, and ``http://`` to loopback (credentials and calendars
    must not cross the network unencrypted).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" in the host
        return UrlProblem.NOT_HTTP
    if parts.scheme not in ("https", "http") or not host:
        return UrlProblem.NOT_HTTP
    if parts.scheme == "http" and not is_loopback(host):
        return UrlProblem.PLAIN_HTTP
    return None


DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class Origin:
    """A URL's origin (RFC 6454 §4): scheme, host and port, normalised so that equal origins
    compare equal (``HTTPS://Host.:443`` is ``https://host``)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS.get(self.scheme)
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def _normal_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")  # a Unicode name as it is sent (xn--)
    except UnicodeError:
        return host


def origin_of(url: str) -> Origin | None:
    """Given an absolute URL, return its origin, or None if it has no http(s) origin (another
    scheme, no host, a port that is not a number)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return Origin(scheme, _normal_host(host), port if port is not None else DEFAULT_PORTS[scheme])


@cache
def _suffix_list() -> object:
    # Imported on first use: the config loader and the CLI import this module and need no list.
    # publicsuffixlist ships the list inside the package and never fetches it at run time.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable_domain(host: str) -> str | None:
    """Given a host name, return its registrable domain by the Public Suffix List (private
    section included, so two sites under ``github.io`` are two domains), or None for an IP
    address or a host that is itself a public suffix."""
    host = _normal_host(host)
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    found = _suffix_list().privatesuffix(host)  # type: ignore[attr-defined]
    return str(found) if found else None


def credentials_may_go(url: str, configured: str) -> bool:
    """Given a URL a request is about to go to and the URL the user configured, return whether
    the credentials for the configured URL may go with it.

    RFC 7617 §2.2: the protection space is the configured origin (scheme, host, port). MendCRM
    widens it only over https, on the same port, to hosts of the same registrable domain (iCloud
    answers discovery on caldav.icloud.com and keeps the calendar home on pNN-caldav.icloud.com,
    both on 443), and never to plain http unless that is the configured loopback origin itself.
    Another port of the same host is another origin, possibly another service: refused.
    """
    target, home = origin_of(url), origin_of(configured)
    if target is None or home is None:
        return False
    if target == home:
        return True
    if target.scheme != "https" or target.port != home.port:
        return False
    domain = registrable_domain(target.host)
    return domain is not None and domain == registrable_domain(home.host)


def _segments(url: str) -> list[str] | None:
    path = unquote(urlsplit(url).path)
    parts = [p for p in path.split("/") if p]
    return None if any(p in (".", "..") for p in parts) else parts


def inside_collection(url: str, collection: str) -> bool:
    """Given an absolute object URL and a collection's URL, return whether the object lies
    inside that collection: same origin, and below its path, compared segment by segment after
    percent-decoding (``%40`` is ``@``); a ``.`` or ``..`` segment, even encoded, never is."""
    origin, top = _collection_scope(collection)
    if origin is None or origin_of(url) != origin or top is None:
        return False
    below = _segments(url)
    if below is None:
        return False
    return len(below) > len(top) and tuple(below[: len(top)]) == top


@lru_cache(maxsize=64)
def _collection_scope(collection: str) -> tuple[Origin | None, tuple[str, ...] | None]:
    # A sync checks thousands of hrefs against the same few collections: split each once.
    top = _segments(collection)
    return origin_of(collection), None if top is None else tuple(top)


__all__ = [
    "Origin",
    "UrlProblem",
    "credentials_may_go",
    "inside_collection",
    "is_loopback",
    "origin_of",
    "registrable_domain",
    "url_problem",
]
