"""The identity of one instance of a series: its RECURRENCE-ID, as the rule first gave it.

RFC 5545 §3.8.4.4: an instance's RECURRENCE-ID is "the original value of the DTSTART property
of the recurrence instance", however often it is moved. An override with
``RANGE=THISANDFUTURE`` moves its own instance and every later one "by the same time
difference" (the override's DTSTART minus its RECURRENCE-ID). recurring-ical-events applies
that difference but reports the moved start as the instance's start and the override's
RECURRENCE-ID for every instance it moved (its open issue #222), so identities drift each time
the organiser moves the part again.

Method: the library places an instance the override governs at ``rule start + difference``,
where the difference is the one governing override's (the latest THISANDFUTURE override whose
RECURRENCE-ID is not after the rule start: later overrides replace earlier ones from their
point on, they do not add up, because each RECURRENCE-ID names an original rule start). So the
rule start is the occurrence's start minus that same difference, computed the same way (wall
clock in the series' zone), which undoes the library's step exactly. A second move of the same
part (a newer override with the same RECURRENCE-ID and a higher SEQUENCE) or of a later part
(another RECURRENCE-ID) changes the difference, never the rule start, so the ids stay put.

Identities are zone-free: a date stays a date and a floating time stays floating, so changing
``[me] timezone`` (which moves where such events are placed) does not change who they are.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import icalendar

from mendcrm.events.values import dt_of
from mendcrm.model import to_iso


def _value(prop: Any) -> Any:
    return dt_of(prop)


def _comparable(a: date | datetime, b: date | datetime) -> tuple[datetime, datetime]:
    # As recurring-ical-events compares them: dates as midnights, naive in the other's zone.
    def as_datetime(value: date | datetime, zone: tzinfo | None) -> datetime:
        if not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=zone)
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)

    zone = (a.tzinfo if isinstance(a, datetime) else None) or (
        b.tzinfo if isinstance(b, datetime) else None
    )
    return as_datetime(a, zone), as_datetime(b, zone)


def range_shift(origin: icalendar.Component) -> timedelta | None:
    """Given the component an occurrence comes from, return the time difference a
    ``RANGE=THISANDFUTURE`` override applies to the instances it governs (RFC 5545 §3.8.4.4:
    its DTSTART minus its RECURRENCE-ID); None if ``origin`` is no such override."""
    rid = origin.get("RECURRENCE-ID")
    if rid is None:
        return None
    params = getattr(rid[0] if isinstance(rid, list) and rid else rid, "params", {})
    if str(params.get("RANGE", "")).upper() != "THISANDFUTURE":
        return None
    start, original = _value(origin.get("DTSTART")), _value(rid)
    if not isinstance(start, date) or not isinstance(original, date):
        return None
    if isinstance(start, datetime) == isinstance(original, datetime):
        return start - original  # same type: the difference the library applied
    moved, was = _comparable(start, original)
    return moved - was


def original_start(start: date | datetime, origin: icalendar.Component) -> date | datetime:
    """Given an occurrence's start as placed and the component it comes from, return the start
    its rule gave it (its RECURRENCE-ID, RFC 5545 §3.8.4.4): the start itself unless a
    THISANDFUTURE override moved it, else the start minus that override's difference."""
    return moved_back(start, range_shift(origin))


def moved_back(start: date | datetime, shift: timedelta | None) -> date | datetime:
    """Given an occurrence's start as placed and the :func:`range_shift` of the component it
    comes from, return the start its rule gave it (see :func:`original_start`)."""
    if not shift:
        return start
    if isinstance(start, datetime) or not (shift % timedelta(days=1)):
        return start - shift
    return start  # a date moved by part of a day cannot be undone as a date; keep it


def rid_text(value: date | datetime) -> str:
    """Given a RECURRENCE-ID value (or a rule start), return it as a zone-free identity: a date
    as ``YYYY-MM-DD``, a floating time as local ISO without offset, any other time in UTC."""
    if isinstance(value, datetime):
        return to_iso(value) if value.tzinfo is not None else value.isoformat()
    return value.isoformat()


__all__ = ["moved_back", "original_start", "range_shift", "rid_text"]
