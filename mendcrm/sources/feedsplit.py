"""A feed cut into its events at the octet level, each with only the time zones it names.

A published feed repeats nothing per event: its VTIMEZONEs are written once, before all the
events. Cutting it by UID must keep it that way in memory (a feed with hundreds of zones and
thousands of events would otherwise cost zones × events), so each event refers to the feed's
one :class:`FeedHeader` and builds its octets only when it is read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from mendcrm.events.octets import BOM, unfold_octets

RECURRENCE_LINE = re.compile(rb"^(RRULE|RDATE|RECURRENCE-ID)[;:]", re.IGNORECASE)
_DATE_LINE = re.compile(rb"^(DTSTART|DTEND|DURATION)[;:]", re.IGNORECASE)


@dataclass(slots=True)
class _Block:
    lines: list[bytes] = field(default_factory=list)
    uid: str = ""


@dataclass(frozen=True, slots=True)
class FeedHeader:
    """What every event cut out of one feed shares: the calendar's own properties and its time
    zones by TZID. Held once per feed; each event refers to it instead of copying it."""

    head: bytes
    """``BEGIN:VCALENDAR`` and the calendar's properties, CRLF after each line."""
    zones: dict[bytes, bytes]
    """TZID (as written, unquoted) → the octets of the VTIMEZONE(s) defining it."""


@dataclass(slots=True)
class FeedEvent:
    """One UID's VEVENTs cut out of a feed: its own octets, the TZIDs they name, and a digest
    of everything that decides its meaning. :attr:`data` builds the small calendar to read."""

    key: str
    digest: str
    recurring: bool
    body: bytes
    """The event's VEVENT lines (unfolded), CRLF after each."""
    tzids: tuple[bytes, ...]
    """The TZIDs its lines name that the feed defines with a VTIMEZONE, sorted."""
    header: FeedHeader
    last_day: str | None = None
    """YYYYMMDD of DTEND (or DTSTART) when the event does not recur, for a cheap past check."""

    @property
    def data(self) -> bytes:
        """Return the event as a calendar of its own: the feed's calendar properties, only the
        VTIMEZONEs the event names, its VEVENTs. Built on demand, so a feed costs its own size
        in memory, not its header times its events."""
        zones = b"".join(self.header.zones[tzid] for tzid in self.tzids)
        return self.header.head + zones + self.body + b"END:VCALENDAR\r\n"


# The name and parameters of a content line: everything before the first colon that is not
# inside a quoted parameter value (RFC 5545 §3.1).
_LINE_HEAD = re.compile(rb'[^:"]*(?:"[^"]*"[^:"]*)*')
_TZID_PARAM = re.compile(rb';TZID=("[^"]*"|[^;:]*)', re.IGNORECASE)
_TZID_PROPERTY = re.compile(rb"^TZID[;:]", re.IGNORECASE)


def line_tzids(line: bytes) -> list[bytes]:
    """Given one unfolded content line, return the values of its TZID parameters (RFC 5545
    §3.2.19), quotes removed; a ``;TZID=`` inside the value is not a parameter."""
    if b"tzid" not in line.lower():
        return []
    match = _LINE_HEAD.match(line)
    head = match.group(0) if match else line
    return [value.strip(b'"').strip() for value in _TZID_PARAM.findall(head)]


def _zone_tzid(lines: list[bytes]) -> bytes | None:
    for line in lines[1:]:
        if line[:6].upper() == b"BEGIN:":
            return None  # the TZID belongs to the VTIMEZONE itself, before its STANDARD/DAYLIGHT
        if _TZID_PROPERTY.match(line):
            match = _LINE_HEAD.match(line)
            return line[len(match.group(0)) + 1 if match else 5 :].strip()
    return None


def split_feed(body: bytes) -> list[FeedEvent] | None:
    """Given a whole .ics feed as raw octets, return its events grouped by UID; None if the
    octets are not shaped like a calendar.

    The feed is unfolded at the octet level first (RFC 5545 §3.1) so a UID split by a fold is
    whole, but nothing is decoded here: each event's octets go to the reader, which decodes once.
    Each event carries only the VTIMEZONEs its own lines name by TZID (§3.2.19), and its digest
    covers the calendar's properties, those zones and its lines: a changed zone changes the
    digest of exactly the events that use it. Memory: the feed's size plus one event's octets
    at a time (:attr:`FeedEvent.data`), never the header once per event.
    """
    lines = unfold_octets(body.removeprefix(BOM)).splitlines()
    if not lines or lines[0].strip().upper() != b"BEGIN:VCALENDAR":
        return None
    header: list[bytes] = []
    zones: dict[bytes, bytes] = {}
    blocks: list[_Block] = []
    depth = 0
    current: list[bytes] | None = None
    kind = b""
    for line in lines:
        upper = line[:16].upper()
        if upper.startswith(b"BEGIN:"):
            depth += 1
            if depth == 2:
                kind = line[6:].strip().upper()
                current = []
        if depth == 1 and not upper.startswith((b"BEGIN:VCALENDAR", b"END:VCALENDAR")):
            header.append(line)
        elif depth >= 2 and current is not None:
            current.append(line)
        if upper.startswith(b"END:"):
            if depth == 2 and current is not None:
                if kind == b"VTIMEZONE":
                    tzid = _zone_tzid(current)
                    if tzid is not None:
                        # A TZID defined twice keeps both definitions, as the whole feed did.
                        zones[tzid] = zones.get(tzid, b"") + b"".join(
                            ln + b"\r\n" for ln in current
                        )
                elif kind == b"VEVENT":
                    blocks.append(_Block(current))
                current = None
            depth -= 1
    del lines
    groups: dict[str, list[_Block]] = {}
    for block in blocks:
        raw_uid = next(
            (ln.split(b":", 1)[1].strip() for ln in block.lines if ln.upper().startswith(b"UID:")),
            b"",
        )
        block.uid = (
            raw_uid.decode("utf-8", errors="replace")
            if raw_uid
            else "no-uid-" + hashlib.sha256(b"\n".join(block.lines)).hexdigest()[:16]
        )
        groups.setdefault(block.uid, []).append(block)
    shared = FeedHeader(b"BEGIN:VCALENDAR\r\n" + b"".join(ln + b"\r\n" for ln in header), zones)
    head_hash = hashlib.sha256(shared.head)
    events: list[FeedEvent] = []
    for uid, members in groups.items():
        unfolded = [ln for b in members for ln in b.lines]
        named = {tzid for ln in unfolded for tzid in line_tzids(ln)}
        tzids = tuple(sorted(t for t in named if t in zones))
        body_data = b"".join(ln + b"\r\n" for ln in unfolded)
        recurring = len(members) > 1 or any(RECURRENCE_LINE.match(ln) for ln in unfolded)
        # The zones an event uses are part of what it means (a changed VTIMEZONE moves its
        # times), so they go into its digest with the calendar's properties and its own lines.
        hasher = head_hash.copy()
        for tzid in tzids:
            hasher.update(zones[tzid])
        hasher.update(body_data)
        events.append(
            FeedEvent(
                key=uid,
                digest=hasher.hexdigest()[:24],
                recurring=recurring,
                body=body_data,
                tzids=tzids,
                header=shared,
                last_day=None if recurring else _last_day(unfolded),
            )
        )
        for block in members:
            block.lines = []  # the event's octets now live in body_data only
    return events


def _last_day(lines: list[bytes]) -> str | None:
    values = {}
    for line in lines:
        match = _DATE_LINE.match(line)
        if match:
            values[match.group(1).upper()] = line.split(b":", 1)[-1].strip()
    value = values.get(b"DTEND") or (values.get(b"DTSTART") if b"DURATION" not in values else None)
    if value and len(value) >= 8 and value[:8].isdigit():
        return value[:8].decode("ascii")
    return None


__all__ = ["FeedEvent", "FeedHeader", "line_tzids", "split_feed"]
