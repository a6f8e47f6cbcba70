"""The event reader: one calendar object's text → the Occurrences that fall in a span.

Pure: text in, occurrences and warnings out; it never raises for bad input. A series (VEVENTs
sharing a UID, with RRULE, RDATE or RECURRENCE-ID) is expanded with recurring-ical-events; a
lone VEVENT is read directly, which is much cheaper. Times become UTC; all-day and floating
times are placed in the user's zone; the original zone name is kept in ``tzid``.

This module decodes, guards, trims and parses the object and groups its VEVENTs by UID; what
it is read with is in :mod:`mendcrm.events.readcontext`, and how one UID's VEVENTs become
occurrences in :mod:`mendcrm.events.occurrences`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import icalendar
import x_wr_timezone

from mendcrm.events.contentlines import Described, physical_lines, split_descriptive
from mendcrm.events.customzones import (
    ZoneBlock,
    custom_zone_blocks,
    keep_zones,
    seed_zones,
    without_blocks,
)
from mendcrm.events.guards import nesting_problem
from mendcrm.events.lean import lean_lines, without_empty_date_lists
from mendcrm.events.occurrences import read_series, read_single
from mendcrm.events.octets import decode_calendar
from mendcrm.events.readcontext import ReadContext, Where
from mendcrm.events.versions import newest_versions
from mendcrm.events.window import Span
from mendcrm.events.zoneguard import zone_rules_problem
from mendcrm.model import Occurrence


@dataclass(slots=True)
class ObjectReading:
    """What one object yielded: its UIDs, whether it recurs, occurrences in the span, warnings."""

    uids: list[str] = field(default_factory=list)
    recurring: bool = False
    text: str = ""
    """The object trimmed to what the reader uses: what to store to read a series again."""
    occurrences: list[Occurrence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


RECURRENCE_PROPS = ("RRULE", "RDATE", "RECURRENCE-ID")
_X_WR_TIMEZONE = re.compile(r"^X-WR-TIMEZONE", re.MULTILINE | re.IGNORECASE)
_FIRST_UID = re.compile(r"^UID(?:;[^:\r\n]*)?:([^\r\n]*)", re.MULTILINE | re.IGNORECASE)


def read_object(
    data: bytes, span: Span, ctx: ReadContext, *, href: str = "", etag: str = ""
) -> ObjectReading:
    """Given one calendar object (or a whole .ics file) as the raw octets its source holds,
    return its occurrences in ``span``.

    The one entry for iCalendar: the octets are unfolded before they are decoded (RFC 5545
    §3.1, see :mod:`mendcrm.events.octets`), so no source may hand it decoded text. Never raises
    for bad input: every problem becomes a warning naming ``href`` and the UID.
    """
    reading = ObjectReading()
    size = len(data)
    if size > ctx.max_object_bytes:
        reading.warnings.append(
            ctx.warning(
                href,
                None,
                f"object of {size} bytes exceeds the {ctx.max_object_bytes}"
                "-byte limit ([sync] max_object_bytes); skipped",
            )
        )
        return reading
    try:
        decoded = decode_calendar(data)
        if decoded.problem:
            first_uid = _FIRST_UID.search(decoded.text)
            named = first_uid.group(1).strip() if first_uid else None
            reading.warnings.append(ctx.warning(href, named, decoded.problem))
        # Split into lines once; the guard, the trim and the cut all walk the same lines.
        lines = physical_lines(decoded.text)
        problem = nesting_problem(lines)
        if problem:
            reading.warnings.append(ctx.warning(href, None, f"{problem}; skipped"))
            return reading
        lines, emptied = without_empty_date_lists(lean_lines(lines))
        text = "\r\n".join(lines) + "\r\n"
        reading.text = text
        zones: list[ZoneBlock] = []
        if "BEGIN:VTIMEZONE" in text:
            problem = zone_rules_problem(text)
            if problem:
                reading.warnings.append(ctx.warning(href, None, f"{problem}; skipped"))
                return reading
            forget_custom_zones()
            zones = custom_zone_blocks(lines)
            seeded = seed_zones(zones)
            if seeded and not _X_WR_TIMEZONE.search(text):
                # Only X-WR-TIMEZONE's conversion could look at the VTIMEZONE components.
                lines = without_blocks(lines, seeded)
        split = split_descriptive(lines)
        tops = icalendar.Calendar.from_ical(split.timing, multiple=True)
        keep_zones(zones)
        events = _vevents(tops, reading, ctx, href)
        described = _pair(events, split.events)
        if described is None:
            # The cut did not line up with icalendar's view of the text: read it all the slow way.
            del reading.warnings[int(bool(decoded.problem)) :]
            events = _vevents(icalendar.Calendar.from_ical(text, multiple=True), reading, ctx, href)
            described = [None] * len(events)
        details = {id(event): info for event, info in zip(events, described, strict=True)}
        # A component written twice (same UID and RECURRENCE-ID) keeps only its newer version.
        events = newest_versions(events, details)
        for name in emptied:  # said once the parse stands (the slow way above resets warnings)
            reading.warnings.append(
                ctx.warning(
                    href,
                    None,
                    f"empty {name} ignored (RFC 5545 §3.8.5 wants at least one date); "
                    "the event is read without it",
                )
            )
    except Exception as exc:  # icalendar raises many kinds for malformed text
        reading.warnings.append(
            ctx.warning(href, None, f"not valid iCalendar ({_why(exc)}); skipped")
        )
        return reading
    for group in _group_by_uid(events, href):
        uid = group[0][0]
        components = [c for _, c in group]
        if uid not in reading.uids:
            reading.uids.append(uid)
        try:
            where = Where(uid, span, ctx, href, etag, reading.warnings, details)
            if len(components) == 1 and not any(p in components[0] for p in RECURRENCE_PROPS):
                reading.occurrences.extend(read_single(components[0], where))
            else:
                reading.recurring = True
                reading.occurrences.extend(read_series(components, where))
        except Exception as exc:  # one bad series must not cost the others
            reading.warnings.append(
                ctx.warning(href, uid, f"unreadable event ({_why(exc)}); skipped")
            )
    reading.occurrences.sort(key=lambda o: (o.start, o.uid))
    return reading


def _pair(
    events: Sequence[icalendar.Component], described: Sequence[Described]
) -> list[Described | None] | None:
    """Match the VEVENTs icalendar found with the descriptive parts cut out of the text, in
    order; None if they do not line up one to one."""
    if len(events) != len(described):
        return None
    for event, info in zip(events, described, strict=True):
        if str(event.get("UID", "")).strip() != info.uid:
            return None
    return list(described)


def forget_custom_zones() -> None:
    """Drop the custom VTIMEZONE definitions icalendar keeps process-wide, first one winning.

    Two objects may define the same custom TZID differently (Outlook's "Customized Time Zone"),
    and one feed must not decide how another calendar's times are read.
    """
    cache = getattr(icalendar.timezone.tzp, "_TZP__tz_cache", None)
    if isinstance(cache, dict):
        cache.clear()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _vevents(
    tops: Iterable[Any], reading: ObjectReading, ctx: ReadContext, href: str
) -> list[icalendar.Component]:
    events: list[icalendar.Component] = []
    for top in tops:
        if top.name == "VEVENT":
            events.append(top)
            continue
        if top.name != "VCALENDAR":
            if top.walk("VEVENT"):
                reading.warnings.append(
                    ctx.warning(
                        href,
                        None,
                        f"events inside a {top.name} component, not a VCALENDAR; skipped",
                    )
                )
            continue
        if "X-WR-TIMEZONE" in top:
            # Google feeds write UTC times and name the real zone only here; move them into it.
            try:
                top = x_wr_timezone.to_standard(top)
            except Exception as exc:
                reading.warnings.append(
                    ctx.warning(href, None, f"X-WR-TIMEZONE not applied ({_why(exc)})")
                )
        events.extend(c for c in top.subcomponents if c.name == "VEVENT")
    return events


def _group_by_uid(
    events: Sequence[icalendar.Component], href: str
) -> list[list[tuple[str, icalendar.Component]]]:
    groups: dict[str, list[tuple[str, icalendar.Component]]] = {}
    for index, event in enumerate(events):
        uid = str(event.get("UID", "")).strip()
        if not uid:
            # Stable across syncs as long as the event is not edited, which is all an id needs here.
            seed = f"{href}|{index}|{event.get('DTSTART', '')!s}"
            uid = "no-uid-" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        groups.setdefault(uid, []).append((uid, event))
    return list(groups.values())


__all__ = ["ObjectReading", "read_object"]
