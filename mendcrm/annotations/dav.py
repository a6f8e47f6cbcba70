"""The few WebDAV requests annotations need, sent through the sources' :class:`Transport`.

The transport brings MendCRM's policies (URL checks, verified TLS, same-host redirects, request
counting, and retries for idempotent requests only): PUT, DELETE and MKCALENDAR are sent once,
and a failure is reported rather than repeated blindly. Writes are conditional: ``If-Match`` on
the ETag last seen, or ``If-None-Match: *`` for a new object, so a concurrent edit answers 412
instead of being overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin
from xml.sax.saxutils import escape

from caldav.lib import error as dav_error
from caldav.response import DAVResponse

from mendcrm.errors import SourceError
from mendcrm.sources import davxml
from mendcrm.sources.davxml import C, D, tag
from mendcrm.sources.transport import PreconditionFailed, Transport
from mendcrm.urls import inside_collection

log = logging.getLogger(__name__)

_ICS = "text/calendar; charset=utf-8"
_XML = "application/xml; charset=utf-8"


class Conflict(Exception):
    """The object changed since it was read (412), or exists when it should not."""


class WriteRefused(Exception):
    """The server refuses MendCRM's writes here (403, a read-only calendar, no MKCALENDAR)."""

    def __init__(self, url: str, status: int, what: str) -> None:
        super().__init__(f"{what} {davxml.href_path(url)} answered {status}")
        self.url = url
        self.status = status
        self.what = what


@dataclass(frozen=True, slots=True)
class Fetched:
    """A calendar object as the server holds it now."""

    url: str
    data: bytes
    """The body exactly as the server sent it: iCalendar octets, not yet unfolded or decoded."""
    etag: str


def _refusal(exc: SourceError, url: str, what: str) -> WriteRefused | None:
    """Given the transport's error for a write, return it as a refusal if it was a 403."""
    if isinstance(exc, PreconditionFailed) and exc.status == 403:
        return WriteRefused(url, 403, what)
    cause = exc.__cause__
    if isinstance(cause, dav_error.AuthorizationError) and cause.status == 403:
        return WriteRefused(url, 403, what)
    return None


def _send(
    t: Transport, url: str, method: str, body: str | bytes, headers: dict[str, str]
) -> DAVResponse:
    try:
        return t.request(url, method, body, headers)
    except SourceError as exc:
        refused = _refusal(exc, url, method)
        if refused is not None:
            raise refused from exc
        raise


def _etag(response: DAVResponse) -> str:
    return str(response.headers.get("ETag") or "")


def _unexpected(t: Transport, method: str, url: str, status: int) -> SourceError:
    return SourceError(
        f"{t.where}: {method} {davxml.href_path(url)} answered {status}",
        hint="MendCRM tries again on the next sync",
    )


def get(t: Transport, url: str) -> Fetched | None:
    """Given an object's URL, return its raw octets and ETag, or None if it is gone (404/410)."""
    response = _send(t, url, "GET", "", {})
    if response.status in (404, 410):
        return None
    if response.status != 200:
        raise _unexpected(t, "GET", url, response.status)
    # The body exactly as received: the library's own text has its line breaks rewritten, and
    # decoding before unfolding would break a character a fold cut in two (RFC 5545 §3.1).
    raw = getattr(response, "_raw_body", b"") or response.raw
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    return Fetched(url, data, _etag(response))


def put(t: Transport, url: str, data: str | bytes, *, etag: str | None) -> str:
    """Given an object's URL and new text (or octets, sent exactly as they are), store it only if
    it still has ``etag`` (None: only if it does not exist yet) and return the new ETag ("" if
    the server sent none); raise Conflict on 412, WriteRefused on 403/405."""
    headers = {"Content-Type": _ICS}
    if etag:
        headers["If-Match"] = etag
    else:
        headers["If-None-Match"] = "*"
    response = _send(t, url, "PUT", data, headers)
    if response.status == 412:
        raise Conflict(url)
    if response.status in (405, 423):
        raise WriteRefused(url, response.status, "PUT")
    if response.status not in (200, 201, 204):
        raise _unexpected(t, "PUT", url, response.status)
    return _etag(response)


def delete(t: Transport, url: str, *, etag: str | None = None) -> None:
    """Delete an object (if it still has ``etag``, when given); a missing one counts as deleted;
    raise Conflict on 412, WriteRefused on 403/405."""
    headers = {"If-Match": etag} if etag else {}
    response = _send(t, url, "DELETE", "", headers)
    if response.status == 412:
        raise Conflict(url)
    if response.status in (405, 423):
        raise WriteRefused(url, response.status, "DELETE")
    if response.status not in (200, 204, 404, 410):
        raise _unexpected(t, "DELETE", url, response.status)


def mkcalendar(t: Transport, url: str, name: str) -> bool:
    """Create a calendar for events and tasks at ``url`` named ``name``; return False if
    something already exists there; raise WriteRefused if the server will not create it."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<C:mkcalendar xmlns:D="{D}" xmlns:C="{C}"><D:set><D:prop>'
        f"<D:displayname>{escape(name)}</D:displayname>"
        '<C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/>'
        "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
    )
    try:
        response = _send(t, url, "MKCALENDAR", body, {"Content-Type": _XML})
    except WriteRefused:
        # Some servers answer 403 when the collection already exists (RFC 4791 5.3.1.1).
        return False
    if response.status in (405, 409):
        return False
    if response.status in (403, 501):
        raise WriteRefused(url, response.status, "MKCALENDAR")
    if response.status not in (200, 201):
        raise _unexpected(t, "MKCALENDAR", url, response.status)
    return True


_ETAGS = davxml.propfind("D:getetag", "D:resourcetype")


def list_etags(t: Transport, calendar_url: str) -> dict[str, str] | None:
    """Given a calendar's URL, return {object path: ETag} for what it holds, or None if the
    calendar does not exist (any more)."""
    headers = {"Content-Type": _XML, "Depth": "1"}
    response = _send(t, calendar_url, "PROPFIND", _ETAGS, headers)
    if response.status in (404, 410):
        return None
    if response.status != 207:
        raise _unexpected(t, "PROPFIND", calendar_url, response.status)
    try:
        found = davxml.parse_multistatus(response.tree)
    except davxml.NotMultistatus as exc:
        raise SourceError(f"{t.where}: the calendar listing is not WebDAV XML ({exc})") from exc
    own = davxml.href_path(calendar_url).rstrip("/")
    if any(m.href.rstrip("/") == own and m.status in (404, 410) for m in found.members):
        return None  # Xandikos says "gone" inside a 207
    collection = tag(D, "collection")
    listed: dict[str, str] = {}
    for m in found.members:
        if m.href.rstrip("/") == own or collection in m.children(tag(D, "resourcetype")):
            continue
        if not inside_collection(urljoin(calendar_url, m.written or m.href), calendar_url):
            # Never deleted or rewritten: MendCRM writes only inside the calendar it found.
            log.warning(
                "%s: the listing of %s names %s, outside it; ignored", t.where, own, m.written
            )
            continue
        listed[m.href] = m.etag
    return listed


def multiget(t: Transport, calendar_url: str, hrefs: list[str]) -> dict[str, str]:
    """Given object paths in a calendar, return {path: calendar text} for those still there."""
    if not hrefs:
        return {}
    headers = {"Content-Type": _XML, "Depth": "1"}
    response = _send(t, calendar_url, "REPORT", davxml.multiget(hrefs), headers)
    if response.status != 207:
        raise _unexpected(t, "REPORT", calendar_url, response.status)
    found = davxml.parse_multistatus(response.tree)
    return {m.href: m.calendar_data for m in found.members if m.calendar_data is not None}


def absolute(base: str, href: str) -> str:
    return urljoin(base, href)


__all__ = [
    "Conflict",
    "Fetched",
    "WriteRefused",
    "absolute",
    "delete",
    "get",
    "list_etags",
    "mkcalendar",
    "put",
]
