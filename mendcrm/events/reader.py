"""The event reader: one calendar object's text → the Occurrences that fall in a span.

Pure: text in, occurrences and warnings out; it never raises for bad input. A series (VEVENTs
sharing a UID, with RRULE, RDATE or RECURRENCE-ID) is expanded with recurring-ical-events; a
lone VEVENT is read directly, which is much cheaper. Times become UTC; all-day and floating
times are placed in the user's zone; the original zone name is kept in ``tzid``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast

import icalendar
import recurring_ical_events
import x_wr_timezone

from mendcrm.events.contentlines import Described, physical_lines, split_descriptive
from mendcrm.events.customzones import (
    ZoneBlock,
    custom_zone_blocks,
    keep_zones,
    seed_zones,
    without_blocks,
)
from mendcrm.events.descriptive import categories_of, my_partstat_of, people_of, text_of
from mendcrm.events.guards import nesting_problem, rrule_problem
from mendcrm.events.instances import moved_back, range_shift, rid_text
from mendcrm.events.lean import lean_lines
from mendcrm.events.lengths import Length, length_of, place, single_end
from mendcrm.events.octets import decode_calendar
from mendcrm.events.values import dt_of
from mendcrm.events.versions import component_version, newest_versions
from mendcrm.events.window import Span
from mendcrm.events.zoneguard import zone_rules_problem
from mendcrm.events.zones import zone_name
from mendcrm.model import Occurrence

_LINE_BREAKS = {
    ord(c): c.encode("unicode_escape").decode("ascii")
    for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
}
"""The characters :meth:`str.splitlines` ends a line at → their backslash escapes."""


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What the reader needs to know besides the text: where it came from and the user's setup."""

    source: str
    calendar: str
    calendar_name: str = ""
    zone: tzinfo = UTC
    my_emails: frozenset[str] = frozenset()
    max_occurrences: int = 500
    max_object_bytes: int = 1_000_000

    def warning(self, href: str, uid: str | None, what: str) -> str:
        """Return a one-line warning naming the source, calendar, href and UID.

        One line whatever the object holds: a UID is TEXT (RFC 5545 §3.8.4.7), so ``\\n`` in
        it is unescaped to a line break; every character :meth:`str.splitlines` breaks at is
        written as its escape instead."""
        where = self.calendar_name or self.calendar
        line = f"{self.source} ({where}): {href or '-'} UID {uid or '?'}: {what}"
        return line.translate(_LINE_BREAKS)


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
        lines = lean_lines(lines)
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
            where = _Where(uid, span, ctx, href, etag, reading.warnings, details)
            if len(components) == 1 and not any(p in components[0] for p in RECURRENCE_PROPS):
                reading.occurrences.extend(_read_single(components[0], where))
            else:
                reading.recurring = True
                reading.occurrences.extend(_read_series(components, where))
        except Exception as exc:  # one bad series must not cost the others
            reading.warnings.append(
                ctx.warning(href, uid, f"unreadable event ({_why(exc)}); skipped")
            )
    reading.occurrences.sort(key=lambda o: (o.start, o.uid))
    return reading


@dataclass(frozen=True, slots=True)
class _Where:
    """What reading one UID's events needs besides the events themselves."""

    uid: str
    span: Span
    ctx: ReadContext
    href: str
    etag: str
    warnings: list[str]
    details: dict[int, Described | None]

    def warn(self, what: str) -> None:
        # Once per event: a series repeats its components' faults in every instance.
        line = self.ctx.warning(self.href, self.uid, what)
        if line not in self.warnings:
            self.warnings.append(line)


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


# -- single events ----------------------------------------------------------------------------


def _read_single(event: icalendar.Component, where: _Where) -> list[Occurrence]:
    start_prop = event.get("DTSTART")
    if start_prop is None:
        where.warn("event has no DTSTART; skipped")
        return []
    start_value = _time_value(start_prop, "DTSTART")
    end_value = _end_value(event, start_value, where)
    base = _base(event, where)
    if base is None:
        return []
    occurrence = _timed(_fields(base), start_value, end_value, None, where)
    if not where.span.overlaps(occurrence.start, occurrence.end):
        return []
    if not isinstance(start_value, datetime) or start_value.tzinfo is None:
        # Placed in the user's zone: its identity is the start as written, not the UTC instant.
        occurrence = dataclasses.replace(occurrence, local_key=rid_text(start_value))
    return [occurrence]


def _first(value: Any) -> Any:
    # A property written twice arrives as a list; the first one wins, as most clients do.
    return value[0] if isinstance(value, list) and value else value


def _time_value(prop: Any, name: str) -> date | datetime:
    value = dt_of(prop)
    if not isinstance(value, date):
        raise ValueError(f"{name} is not a date or date-time: {str(prop)[:40]!r}")
    return value


def _end_value(
    event: icalendar.Component, start: date | datetime, where: _Where
) -> date | datetime:
    length = _length(event, where)
    written = event.get("DTEND")
    return single_end(start, length, _time_value(written, "DTEND") if written is not None else None)


def _length(event: icalendar.Component, where: _Where) -> Length:
    """Return how long ``event``'s occurrences last, warning (once) about an end that is not
    sound; see :mod:`mendcrm.events.lengths`."""
    length = length_of(event)
    if length is None:
        raise ValueError("DTSTART is not a date or date-time")
    if length.problem:
        where.warn(length.problem)
    return length


# -- series -----------------------------------------------------------------------------------


def _read_series(components: list[icalendar.Component], where: _Where) -> list[Occurrence]:
    ctx, span = where.ctx, where.span
    for component in components:
        # Every component of a series needs its DTSTART (RFC 5545 §3.6.1), an RDATE-only master
        # or an override as much as a rule's master: the expansion fails on any without one.
        if component.get("DTSTART") is None:
            rid = component.get("RECURRENCE-ID")
            if rid is None:
                where.warn("recurring event has no DTSTART; skipped")
            else:
                value = dt_of(_first(rid))
                what = rid_text(value) if isinstance(value, date) else "?"
                where.warn(f"its override for RECURRENCE-ID {what} has no DTSTART; series skipped")
            return []
        if "RECURRENCE-ID" in component or "RRULE" not in component:
            continue
        first = _expansion_start(component, _time_value(component.get("DTSTART"), "DTSTART"))
        rules = component["RRULE"]
        for rule in rules if isinstance(rules, list) else [rules]:
            problem = rrule_problem(cast(Mapping[str, Any], rule), first, span.end, ctx.zone)
            if problem:
                where.warn(f"{problem}; series skipped")
                return []
    calendar = icalendar.Calendar()
    for component in components:
        calendar.add_component(component)
    query = recurring_ical_events.of(calendar)
    found: list[Any] = []
    cap = ctx.max_occurrences
    # In the user's zone, so floating and all-day times are compared where they happen.
    local_start, local_end = span.start.astimezone(ctx.zone), span.end.astimezone(ctx.zone)
    for series in query.series:
        found.extend(itertools.islice(series.between(local_start, local_end), cap + 1 - len(found)))
        if len(found) > cap:
            break
    if len(found) > cap:
        where.warn(
            f"more than {cap} occurrences in the span; kept the first {cap} "
            "([sync] max_occurrences_per_series)"
        )
    # Each occurrence shares its fields with the component it comes from (the master or an
    # override); they are read once per component, not copied per occurrence.
    bases: dict[int, _Origin | None] = {}
    occurrences: list[Occurrence] = []
    for item in found:
        # The component an occurrence comes from; recurring-ical-events keeps it on a private
        # attribute, so fall back to its public (copying, slower) call should that ever change.
        origin: Any = getattr(getattr(item, "_adapter", None), "_component", None)
        if origin is None:
            origin = item.as_component(False)
        key = id(origin)
        if key not in bases:
            bases[key] = _origin(origin, where)
        read = bases[key]
        if read is None:
            continue
        start, end = place(item.start, item.end, read.length)
        # An override's own RECURRENCE-ID, else (a rule instance, or one a THISANDFUTURE
        # override moved) the rule's own start.
        identity = read.identity or rid_text(moved_back(start, read.shift))
        occurrence = _timed(read.fields, start, end, identity, where)
        if span.overlaps(occurrence.start, occurrence.end):
            occurrences.append(occurrence)
    occurrences.sort(key=lambda o: o.start)
    return occurrences[:cap]


@dataclass(frozen=True, slots=True)
class _Origin:
    """What every occurrence from one component of a series shares, read once."""

    fields: dict[str, Any]
    """The component's :class:`Occurrence` fields, times aside (see :func:`_base`)."""
    length: Length
    identity: str | None
    """An override's own RECURRENCE-ID as an identity; None for the rule's instances."""
    shift: timedelta | None
    """The time difference a ``RANGE=THISANDFUTURE`` override applies, if it is one."""


def _origin(component: icalendar.Component, where: _Where) -> _Origin | None:
    """Return what occurrences from ``component`` share; None if it is cancelled."""
    base = _base(component, where)
    if base is None:
        return None
    length = _length(component, where)
    rid = component.get("RECURRENCE-ID")
    identity = None
    if rid is not None and "RANGE" not in getattr(rid, "params", {}):
        identity = rid_text(_time_value(rid, "RECURRENCE-ID"))
    return _Origin(_fields(base), length, identity, range_shift(component))


def _expansion_start(component: icalendar.Component, start: date | datetime) -> date | datetime:
    """Return where recurring-ical-events starts the rule: DTSTART, unless DTEND (or a negative
    DURATION) lies before it — it then swaps the two and expands from the end, so the guard
    must count from there too."""
    end = dt_of(component.get("DTEND"))
    duration = dt_of(component.get("DURATION"))
    if not isinstance(end, date) and isinstance(duration, timedelta):
        try:
            end = start + duration
        except OverflowError:
            return start
    if isinstance(end, date) and _utc(end, UTC) < _utc(start, UTC):
        return end
    return start


# -- one occurrence ---------------------------------------------------------------------------


def _utc(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _base(event: icalendar.Component, where: _Where) -> Occurrence | None:
    """Return an occurrence with every field but the times filled from ``event``; None if the
    event is cancelled (dropped: an occurrence that is missing withdraws what was planned)."""
    status = str(event.get("STATUS", "CONFIRMED")).strip().upper() or "CONFIRMED"
    if status == "CANCELLED":
        return None
    tzid: str | None = None
    start_prop = _first(event.get("DTSTART"))
    value = dt_of(start_prop)
    if isinstance(value, datetime):
        written_tzid = getattr(start_prop, "params", {}).get("TZID")
        if value.tzinfo is not None:
            tzid = zone_name(value.tzinfo, value)
            if tzid is None or (written_tzid and not getattr(value.tzinfo, "key", None)):
                tzid = str(written_tzid) if written_tzid else tzid
        elif written_tzid:
            where.warn(f"unknown TZID {written_tzid!r}; read in your own time zone")
    info = where.details.get(id(event))
    source: Described | icalendar.Component = info if info is not None else event
    organizer, attendees = people_of(source, where.warn)
    ctx = where.ctx
    return Occurrence(
        source=ctx.source,
        calendar=ctx.calendar,
        calendar_name=ctx.calendar_name,
        href=where.href,
        etag=where.etag,
        uid=where.uid,
        start=_EPOCH,
        end=_EPOCH,
        summary=text_of(source, "SUMMARY"),
        description=text_of(source, "DESCRIPTION"),
        location=text_of(source, "LOCATION"),
        categories=categories_of(source),
        organizer=organizer,
        attendees=attendees,
        my_partstat=my_partstat_of(source, ctx.my_emails),
        status=status,
        tzid=tzid,
        version=component_version(event, info),
    )


_FIELDS = tuple(f.name for f in dataclasses.fields(Occurrence))


def _fields(base: Occurrence) -> dict[str, Any]:
    """Return ``base``'s fields by name, to build its timed copies from (cheaper than
    :func:`dataclasses.replace` once per occurrence)."""
    return {name: getattr(base, name) for name in _FIELDS}


def _timed(
    fields: dict[str, Any],
    start_value: date | datetime,
    end_value: date | datetime,
    recurrence_id: str | None,
    where: _Where,
) -> Occurrence:
    """Return the occurrence with ``fields`` (see :func:`_fields`) placed at the given start
    and end (UTC; all-day in the user's zone)."""
    zone = where.ctx.zone
    start = _utc(start_value, zone)
    end = _utc(end_value, zone)
    if end < start:
        where.warn("event ends before it starts; read as an instant")
        end = start
    all_day = not isinstance(start_value, datetime)
    return Occurrence(
        **{
            **fields,
            "start": start,
            "end": end,
            "recurrence_id": recurrence_id,
            "all_day": all_day,
            "tzid": None if all_day else fields["tzid"],
        }
    )


__all__ = ["ObjectReading", "ReadContext", "read_object"]
