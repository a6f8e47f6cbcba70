"""Custom VTIMEZONEs turned into time zones once per distinct definition, not once per object.

A zone the zone database knows never reaches icalendar (:mod:`mendcrm.events.lean` drops its
VTIMEZONE). One it does not know — Outlook's "Customized Time Zone", a vendor's
``/mozilla.org/…`` copy of an old rule set — is turned into a tzinfo by icalendar at the
block's ``END:VTIMEZONE`` (RFC 5545 §3.6.5), expanding every STANDARD/DAYLIGHT rule: 5–20 ms
for a real zone, for every object of a calendar that repeats the same block in each one. The
reader empties icalendar's process-wide zone cache before each object that holds a VTIMEZONE
(:func:`mendcrm.events.reader.forget_custom_zones`), because two objects may define one TZID
differently and the first must not decide for the second.

So the zones are cached here by the whole text of their block, which is everything their
construction reads: the same text always builds the same zone, and a different definition under
the same TZID is a different key. Before an object is parsed, the zones of its blocks already
built are handed to icalendar under their TZID (first block per TZID, as icalendar keeps the
first); after, the ones it built are kept. A block whose construction could read anything
outside its text (a property with a TZID parameter inside it), or whose TZID is not written
plainly, is left to icalendar every time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

import icalendar

from mendcrm.events.contentlines import property_name

CACHED_ZONES = 64
"""Distinct custom zone definitions kept: a calendar uses a handful; the bound keeps a feed
that writes a new definition into every object from growing the cache without end."""

_ZONES: OrderedDict[str, tzinfo] = OrderedDict()


@dataclass(frozen=True, slots=True)
class ZoneBlock:
    """One VTIMEZONE of an object: its TZID as icalendar keys it, and its text."""

    tzid: str
    text: str
    lines: range
    """Where the block stands in the lines it was found in."""


def custom_zone_blocks(lines: list[str]) -> list[ZoneBlock]:
    """Given an object's unfolded lines (after :func:`mendcrm.events.lean.lean_lines`, so only
    zones the database does not know are left), return its cacheable VTIMEZONE blocks, the
    first per TZID, in document order."""
    blocks: list[ZoneBlock] = []
    seen: set[str] = set()
    block: list[str] | None = None
    depth = first = 0
    for index, line in enumerate(lines):
        name = property_name(line) if line and line[:1] not in (" ", "\t") else ""
        if block is None:
            if name == "BEGIN" and line.split(":", 1)[-1].strip().upper() == "VTIMEZONE":
                block, depth, first = [line], 1, index
            continue
        block.append(line)
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
            if depth == 0:
                tzid = _plain_tzid(block)
                if tzid is None:
                    # Which TZID icalendar files it under is not certain: cache nothing here.
                    return []
                if tzid not in seen:  # icalendar keeps the first block per TZID, so do we
                    seen.add(tzid)
                    blocks.append(ZoneBlock(tzid, "\r\n".join(block), range(first, index + 1)))
                block = None
    return blocks


def _plain_tzid(block: list[str]) -> str | None:
    """Return the block's TZID as icalendar keys it (``TZID:value``, slashes stripped); None if
    it is written otherwise (parameters, escapes, twice) or a property inside has a TZID
    parameter (its value would depend on other zones)."""
    tzids = [line for line in block if property_name(line) == "TZID"]
    if len(tzids) != 1 or any(";TZID=" in line.upper() for line in block):
        return None
    head, _, value = tzids[0].partition(":")
    if head.upper() != "TZID" or "\\" in value or not value.strip("/"):
        return None
    return value.strip("/")


def _icalendar_zones() -> dict[str, tzinfo] | None:
    cache = getattr(icalendar.timezone.tzp, "_TZP__tz_cache", None)
    return cache if isinstance(cache, dict) else None


def seed_zones(blocks: list[ZoneBlock]) -> list[ZoneBlock]:
    """Hand icalendar the zones already built from these blocks' texts, before it parses the
    object (call right after its cache was emptied); return the blocks it was handed."""
    cache = _icalendar_zones()
    if cache is None:
        return []
    seeded = []
    for block in blocks:
        zone = _ZONES.get(block.text)
        if zone is not None:
            _ZONES.move_to_end(block.text)
            cache[block.tzid] = zone
            seeded.append(block)
    return seeded


def without_blocks(lines: list[str], blocks: list[ZoneBlock]) -> list[str]:
    """Return ``lines`` without those of ``blocks``: a zone handed to icalendar already need
    not be parsed again (its text parsed cleanly when it was built, so leaving it out changes
    nothing but the cost)."""
    dropped = {index for block in blocks for index in block.lines}
    return [line for index, line in enumerate(lines) if index not in dropped]


def keep_zones(blocks: list[ZoneBlock]) -> None:
    """Keep the zones icalendar built from these blocks while it parsed the object."""
    cache = _icalendar_zones()
    if cache is None:
        return
    for block in blocks:
        zone = cache.get(block.tzid)
        if zone is None or block.text in _ZONES or isinstance(zone, ZoneInfo):
            continue  # none built, already kept, or a zone the database knows by that TZID
        _ZONES[block.text] = zone
        while len(_ZONES) > CACHED_ZONES:
            _ZONES.popitem(last=False)


def forget_zones() -> None:
    """Drop every cached zone (tests, and a change of icalendar's zone provider)."""
    _ZONES.clear()


__all__ = [
    "CACHED_ZONES",
    "ZoneBlock",
    "custom_zone_blocks",
    "forget_zones",
    "keep_zones",
    "seed_zones",
    "without_blocks",
]
