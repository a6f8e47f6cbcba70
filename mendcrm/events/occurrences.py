"""One UID's VEVENTs → its Occurrences in the span, in UTC.

A lone VEVENT is read directly (:func:`read_single`), which is much cheaper; a series (RRULE,
RDATE or RECURRENCE-ID) is expanded with recurring-ical-events (:func:`read_series`). Both
build each occurrence the same way: the fields but the times read once from the component,
then placed at each start and end (all-day and floating times in the user's zone). Separate
from :mod:`mendcrm.events.reader`, which decodes, trims and parses the object and groups its
VEVENTs by UID before handing each group here.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import icalendar
import recurring_ical_events

from mendcrm.events.contentlines import Described
from mendcrm.events.descriptive import categories_of, my_partstat_of, people_of, text_of
from mendcrm.events.guards import as_utc, rrule_problem
from mendcrm.events.instances import moved_back, range_shift, rid_text
from mendcrm.events.lengths import Length, length_of, place, single_end
from mendcrm.events.readcontext import Where
from mendcrm.events.values import dt_of
from mendcrm.events.versions import component_version
from mendcrm.events.zones import zone_name
from mendcrm.model import Occurrence

# -- single events ----------------------------------------------------------------------------


def read_single(event: icalendar.Component, where: Where) -> list[Occurrence]:
    """Given a lone VEVENT (no RRULE, RDATE or RECURRENCE-ID) and what reading its UID needs,
    return its occurrence if it overlaps the span, else nothing; a cancelled event, or one
    without DTSTART (with a warning), gives nothing. Raise ValueError (or what icalendar
    raises) for a time that cannot be read; the reader makes that one warning."""
    start_prop = event.get("DTSTART")
    if start_prop is None:
        where.warn("event has no DTSTART; skipped")
        return []
    keep_first_times(event, where)
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


def _end_value(event: icalendar.Component, start: date | datetime, where: Where) -> date | datetime:
    length = _length(event, where)
    written = event.get("DTEND")
    return single_end(start, length, _time_value(written, "DTEND") if written is not None else None)


def _length(event: icalendar.Component, where: Where) -> Length:
    """Return how long ``event``'s occurrences last, warning (once) about an end that is not
    sound; see :mod:`mendcrm.events.lengths`."""
    length = length_of(event)
    if length is None:
        raise ValueError("DTSTART is not a date or date-time")
    if length.problem:
        where.warn(length.problem)
    return length


# -- series -----------------------------------------------------------------------------------


_ONCE_ONLY = ("DTSTART", "DTEND", "DURATION")
"""Times a VEVENT may give once only (RFC 5545 §3.6.1: "MUST NOT occur more than once")."""


def keep_first_times(component: icalendar.Component, where: Where) -> None:
    """Given a VEVENT, keep only the first value of each time property it gives more than once,
    and warn: icalendar keeps them all (and the recurrence expansion fails on a list), and
    which one the writer meant is a guess."""
    for name in _ONCE_ONLY:
        values = component.get(name)
        if isinstance(values, list) and values:
            component[name] = values[0]
            if len(values) > 1:
                where.warn(
                    f"{name} given {len(values)} times (RFC 5545 §3.6.1 allows one); "
                    "the first is read"
                )


def read_series(components: list[icalendar.Component], where: Where) -> list[Occurrence]:
    """Given one UID's VEVENTs (its master and overrides, RFC 5545 §3.8.4.4) and what reading
    them needs, return the series' occurrences in the span by start, at most
    ``max_occurrences``; nothing (with a warning) if a component has no DTSTART or a rule fails
    the guard. Raise what icalendar or recurring-ical-events raise for a series they cannot
    read; the reader makes that one warning."""
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
        keep_first_times(component, where)
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


def _origin(component: icalendar.Component, where: Where) -> _Origin | None:
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


# A date or floating time is read in the calendar's zone, as the guards read it.
_utc = as_utc


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _base(event: icalendar.Component, where: Where) -> Occurrence | None:
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
    where: Where,
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


__all__ = ["read_series", "read_single"]
