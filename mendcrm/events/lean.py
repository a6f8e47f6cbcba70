"""Trim a calendar object down to what the reader uses, before the (costly) full parse.

icalendar parses every content line with its parameters; on a typical meeting most lines are
ones MendCRM never reads (alarms, stamps, vendor X- properties, attachments, and VTIMEZONE
blocks for zones the zone database already knows). Dropping them first makes parsing several
times cheaper and keeps stored series text small. Unknown VTIMEZONEs (custom TZIDs) are kept,
since the times that use them cannot be read without them.
"""

from __future__ import annotations

import functools
import re
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from mendcrm.events.contentlines import parse_params, physical_lines, property_name

_DROPPED_PROPERTIES = frozenset(
    {
        "CREATED",
        "ATTACH",
        "CONFERENCE",
        "COMMENT",
        "CONTACT",
        "URL",
        "CLASS",
        "TRANSP",
        "PRIORITY",
        "GEO",
        "RESOURCES",
        "REQUEST-STATUS",
        "RELATED-TO",
        "IMAGE",
        "COLOR",
    }
)
# SEQUENCE, DTSTAMP and LAST-MODIFIED stay: they tell two versions of one component apart
# (mendcrm.events.versions); the reader cuts them out before icalendar parses, so they cost little.
_KEPT_X = frozenset({"X-WR-TIMEZONE", "X-WR-CALNAME"})
_DROPPED_COMPONENTS = frozenset({"VALARM"})


@functools.lru_cache(maxsize=512)
def known_zone(tzid: str) -> bool:
    """Return whether ``tzid`` names a zone in the zone database, or a Windows zone that maps to
    one, so its VTIMEZONE is redundant.

    Dropping those blocks also keeps icalendar from caching one object's definition of, say,
    "Pacific Standard Time" process-wide and reading every later object with it.
    """
    if tzid.strip() in WINDOWS_TO_OLSON:
        return True
    try:
        ZoneInfo(tzid.strip())
    except (ValueError, KeyError, OSError):
        return False
    return True


def lean_text(text: str) -> str:
    """Given iCalendar text, return it without the components and properties MendCRM ignores."""
    return "\r\n".join(lean_lines(physical_lines(text))) + "\r\n"


def lean_lines(lines: list[str]) -> list[str]:
    """Given the physical lines of iCalendar text, return those :func:`lean_text` keeps."""
    out: list[str] = []
    skipping = False  # inside a dropped property's continuation lines
    drop_depth = 0  # > 0 while inside a dropped component
    zone_block: list[str] | None = None
    zone_depth = 0
    for line in lines:
        if not line or line[:1] in (" ", "\t"):
            # Blank lines keep the state: some writers put them inside folded properties.
            if not skipping and not drop_depth:
                (zone_block if zone_block is not None else out).append(line)
            continue
        skipping = False
        name = property_name(line)
        if drop_depth:
            if name == "BEGIN":
                drop_depth += 1
            elif name == "END":
                drop_depth -= 1
            continue
        if name == "BEGIN":
            component = line.split(":", 1)[-1].strip().upper()
            if component in _DROPPED_COMPONENTS:
                drop_depth = 1
                continue
            if component == "VTIMEZONE" and zone_block is None:
                zone_block, zone_depth = [line], 1
                continue
            if zone_block is not None:
                zone_depth += 1
        elif name == "END" and zone_block is not None:
            zone_block.append(line)
            zone_depth -= 1
            if zone_depth == 0:
                if not _redundant_zone(zone_block):
                    out.extend(zone_block)
                zone_block = None
            continue
        if zone_block is not None:
            zone_block.append(line)
            continue
        if name in _DROPPED_PROPERTIES or (name.startswith("X-") and name not in _KEPT_X):
            skipping = True
            continue
        out.append(line)
    if zone_block is not None:
        out.extend(zone_block)
    return out


_EMPTY_DATE_LIST = re.compile(r"(?:RDATE|EXDATE)(?:;.*)?:[ \t]*$", re.IGNORECASE)
"""A physical line that may be an RDATE or EXDATE with no value: the cheap test before the
exact one (most objects have none)."""


def without_empty_date_lists(lines: list[str]) -> tuple[list[str], list[str]]:
    """Given an event's lean lines, return them without the RDATE and EXDATE properties of its
    VEVENTs whose value is empty, and the names of those left out, in order.

    RFC 5545 §3.8.5.1 and §3.8.5.2 give each one or more dates. An empty one adds or excludes
    nothing, but icalendar refuses the whole component over it (every instance of a series
    lost for an EXDATE written blank): it is left out, and the reader says so. Observances of a
    VTIMEZONE are not events and are left as they are.
    """
    if not any(_EMPTY_DATE_LIST.match(line) for line in lines if line[:1] in "RrEe"):
        return lines, []
    out: list[str] = []
    dropped: list[str] = []
    stack: list[str] = []
    skip_to = 0  # past a dropped property's continuation lines
    for index, line in enumerate(lines):
        if index < skip_to:
            continue
        name = property_name(line) if line[:1] not in (" ", "\t") else ""
        if name == "BEGIN":
            stack.append(line.split(":", 1)[-1].strip().upper())
        elif name == "END" and stack:
            stack.pop()
        elif name in ("RDATE", "EXDATE") and stack and stack[-1] == "VEVENT":
            value = parse_params(line)[1]
            following = index + 1
            while following < len(lines) and lines[following][:1] in (" ", "\t"):
                value += lines[following][1:]
                following += 1
            if not value.strip():
                dropped.append(name)
                skip_to = following
                continue
        out.append(line)
    return out, dropped


def _redundant_zone(block: list[str]) -> bool:
    for line in block:
        if property_name(line) == "TZID":
            return known_zone(line.split(":", 1)[-1].strip())
    return False


__all__ = ["known_zone", "lean_lines", "lean_text", "without_empty_date_lists"]
