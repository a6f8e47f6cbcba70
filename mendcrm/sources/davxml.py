"""WebDAV/CalDAV XML: the request bodies MendCRM sends and the multistatus answers it reads.

The caldav library's object-level calls cost a request (and a parse) per object; reading the
multistatus of one REPORT directly is what makes a sync cheap [caldav objects_by_sync_token
does one GET per object].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from lxml import etree

D = "DAV:"
C = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
_HEAD = '<?xml version="1.0" encoding="utf-8"?>'
_NS = f'xmlns:D="{D}" xmlns:C="{C}" xmlns:CS="{CS}"'


def tag(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def propfind(*props: str) -> str:
    """Given property names like ``D:displayname``, return a PROPFIND body asking for them."""
    inner = "".join(f"<{p}/>" for p in props)
    return f"{_HEAD}<D:propfind {_NS}><D:prop>{inner}</D:prop></D:propfind>"


PRINCIPAL_PROPS = propfind("D:current-user-principal", "D:resourcetype")
# RFC 6638 §2.4.1: the addresses that mean the user in ORGANIZER/ATTENDEE, asked for in the same
# request as the home (servers without scheduling answer 404 for it, which costs nothing).
HOME_PROPS = propfind("C:calendar-home-set", "C:calendar-user-address-set")
_LISTING = (
    "D:resourcetype",
    "D:displayname",
    "C:supported-calendar-component-set",
    "D:sync-token",
    "D:supported-report-set",
)
LISTING_PROPS = propfind(*_LISTING)
# Servers compute a ctag over every object (Radicale: as slow as the sync-token), so it is only
# asked for from servers that turned out to have no sync-token.
LISTING_PROPS_WITH_CTAG = propfind(*_LISTING, "CS:getctag")


def _data_props(with_data: bool) -> str:
    return "<D:getetag/>" + ("<C:calendar-data/>" if with_data else "")


def sync_collection(token: str, with_data: bool) -> str:
    """Return an RFC 6578 sync-collection REPORT body from ``token`` ("" for the initial one)."""
    return (
        f"{_HEAD}<D:sync-collection {_NS}><D:sync-token>{escape(token)}</D:sync-token>"
        f"<D:sync-level>1</D:sync-level><D:prop>{_data_props(with_data)}</D:prop>"
        "</D:sync-collection>"
    )


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query(start: datetime, end: datetime, with_data: bool) -> str:
    """Return a calendar-query REPORT body for the VEVENTs overlapping [start, end)."""
    return (
        f"{_HEAD}<C:calendar-query {_NS}><D:prop>{_data_props(with_data)}</D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{_stamp(start)}" end="{_stamp(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def multiget(hrefs: list[str]) -> str:
    """Return a calendar-multiget REPORT body for ``hrefs``."""
    inner = "".join(f"<D:href>{escape(h)}</D:href>" for h in hrefs)
    return (
        f"{_HEAD}<C:calendar-multiget {_NS}><D:prop>{_data_props(True)}</D:prop>{inner}"
        "</C:calendar-multiget>"
    )


@dataclass(slots=True)
class Member:
    """One ``<response>`` of a multistatus: its href, status and the properties found."""

    href: str
    status: int = 200
    props: dict[str, Any] = field(default_factory=dict)
    octets: bytes | None = None
    """The object's raw body when it was fetched by GET rather than inside XML."""
    header_etag: str = ""
    """The ETag header of that GET."""
    written: str = ""
    """The href exactly as the server wrote it (``href`` keeps only its path): an absolute one
    may name another origin, which decides whether the member belongs to the collection."""

    def text(self, name: str) -> str | None:
        element = self.props.get(name)
        if element is None:
            return None
        return (element.text or "").strip() if len(element) == 0 else None

    @property
    def etag(self) -> str:
        return self.text(tag(D, "getetag")) or self.header_etag

    @property
    def calendar_data(self) -> str | None:
        element = self.props.get(tag(C, "calendar-data"))
        return None if element is None else (element.text or "")

    @property
    def calendar_octets(self) -> bytes | None:
        """Return the object's octets for the reader: the GET body as received, or the XML's
        calendar-data encoded as UTF-8 again. The XML parser has already decoded that text, and
        well-formed XML cannot hold half a character, so encoding it back is lossless."""
        if self.octets is not None:
            return self.octets
        data = self.calendar_data
        return None if data is None else data.encode("utf-8")

    def children(self, name: str) -> list[str]:
        """Return the tags of the elements inside property ``name`` (e.g. resourcetype)."""
        element = self.props.get(name)
        if element is None:
            return []
        return [
            child.tag
            for child in element.iter()
            if child is not element and isinstance(child.tag, str)
        ]

    def hrefs(self, name: str) -> list[str]:
        element = self.props.get(name)
        if element is None:
            return []
        return [(h.text or "").strip() for h in element.iter(tag(D, "href")) if h.text]


@dataclass(slots=True)
class Multistatus:
    members: list[Member]
    sync_token: str | None = None
    truncated: bool = False


class NotMultistatus(ValueError):
    """The answer was not the multistatus XML asked for."""


def _status_code(text: str | None) -> int:
    parts = (text or "").split()
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return 200


def href_path(href: str) -> str:
    """Given an href (absolute URL or path), return its path, as every comparison uses."""
    return urlsplit(href).path if "://" in href else href


def parse_multistatus(root: Any) -> Multistatus:
    """Given the parsed body of a 207 answer, return its members; raise NotMultistatus if it is
    something else (an HTML error page, garbage)."""
    if root is None or not isinstance(getattr(root, "tag", None), str):
        raise NotMultistatus("the answer is empty or not XML")
    if root.tag != tag(D, "multistatus"):
        found = next((e for e in root.iter(tag(D, "multistatus"))), None)
        if found is None:
            raise NotMultistatus(f"expected a DAV multistatus, got <{etree.QName(root).localname}>")
        root = found
    result = Multistatus(members=[])
    token = root.find(tag(D, "sync-token"))
    if token is not None and token.text:
        result.sync_token = token.text.strip()
    for response in root.iterfind(tag(D, "response")):
        href_el = response.find(tag(D, "href"))
        if href_el is None or not href_el.text:
            continue
        written = href_el.text.strip()
        member = Member(href=href_path(written), written=written)
        status_el = response.find(tag(D, "status"))
        if status_el is not None:
            member.status = _status_code(status_el.text)
            if member.status == 507 and result.sync_token is not None:
                # RFC 6578 3.6: the server truncated the answer; ask again from the new token.
                result.truncated = True
                continue
        for propstat in response.iterfind(tag(D, "propstat")):
            if _status_code(propstat.findtext(tag(D, "status"))) != 200:
                continue
            prop = propstat.find(tag(D, "prop"))
            if prop is None:
                continue
            for child in prop:
                if isinstance(child.tag, str):
                    member.props[child.tag] = child
        result.members.append(member)
    return result


__all__ = [
    "CS",
    "HOME_PROPS",
    "LISTING_PROPS",
    "LISTING_PROPS_WITH_CTAG",
    "PRINCIPAL_PROPS",
    "C",
    "D",
    "Member",
    "Multistatus",
    "NotMultistatus",
    "calendar_query",
    "href_path",
    "multiget",
    "parse_multistatus",
    "propfind",
    "sync_collection",
    "tag",
]
