"""Which server addresses MendCRM may talk to: https anywhere, plain http only to this machine.

One policy for every caller (the config loader, the HTTP transport, the CLI, the e-mail plugin);
each caller turns a refusal into its own error type and wording. Nothing here opens a
connection or resolves a name: a host is judged by how it is written.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from urllib.parse import urlsplit


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


__all__ = ["UrlProblem", "is_loopback", "url_problem"]
