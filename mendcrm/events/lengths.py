"""How long an event lasts: one reading of DTEND/DURATION for single events and series alike.

RFC 5545 leaves a few inputs degenerate or invalid, and calendar tools write them anyway (Google
Apps Script exports an all-day event with ``DTEND;VALUE=DATE`` equal to DTSTART). Each gets one
reading here, whether the event is single or one instance of a series:

- DATE start with DTEND ≤ start, ``DURATION:P0D`` or no end: one day (§3.6.1 for no end; an
  all-day event shorter than its day has no other sensible meaning, and its follow-up must not
  fall due on the day itself);
- DATE-TIME start with no end: ends at its start (§3.6.1);
- DATE-TIME DTEND before DTSTART: zero length, with a warning (§3.8.2.2 requires it later);
- DATE start with a DURATION that has a time part (§3.8.2.5 allows only days and weeks): rounded
  up to whole days, with a warning; likewise a date-time DTEND on a DATE start (§3.8.2.2 wants
  the same value type), whose day is counted if it reaches into it.

recurring-ical-events computes the ends of a series itself and reads these inputs otherwise (it
swaps a start and an end in the wrong order, and turns a DATE start with a time DURATION into a
floating midnight), so the reader passes each occurrence through :func:`place` as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import icalendar

from mendcrm.events.values import dt_of

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Length:
    """How long each occurrence of one component lasts, as read from its DTEND or DURATION.

    ``days`` is set for an all-day (DATE) start, ``span`` for a DATE-TIME one. ``degenerate``
    says the library's own end (or start) must not be trusted; ``reversed_`` that the written
    end lies before the start (the library then swaps them); ``problem`` is the warning to give
    once, or None.
    """

    all_day: bool
    days: int = 1
    span: timedelta = timedelta(0)
    degenerate: bool = False
    reversed_: bool = False
    problem: str | None = None


def _value(component: icalendar.Component, name: str) -> Any:
    return dt_of(component.get(name))


def length_of(component: icalendar.Component) -> Length | None:
    """Given a VEVENT, return how long each of its occurrences lasts (RFC 5545 §3.6.1, §3.8.2.2,
    §3.8.2.5); None if it has no usable DTSTART (the caller reports that)."""
    start = _value(component, "DTSTART")
    if not isinstance(start, date):
        return None
    end = _value(component, "DTEND")
    duration = _value(component, "DURATION") if end is None else None
    if not isinstance(start, datetime):
        return _all_day_length(start, end, duration)
    if isinstance(end, date):
        end_at = end if isinstance(end, datetime) else datetime.combine(end, time(), start.tzinfo)
        if (end_at.tzinfo is None) != (start.tzinfo is None):
            end_at = end_at.replace(tzinfo=start.tzinfo)
        span = end_at - start
    elif isinstance(duration, timedelta):
        span = duration
    else:
        return Length(all_day=False)  # §3.6.1: a date-time start with no end is an instant
    if span < timedelta(0):
        what = "DTEND" if end is not None else "DURATION"
        return Length(
            all_day=False,
            degenerate=True,
            reversed_=True,
            problem=f"{what} lies before DTSTART (RFC 5545 §3.8.2.2); read as zero length — "
            "ask the organiser to fix the end",
        )
    return Length(all_day=False, span=span)


def _all_day_length(start: date, end: Any, duration: Any) -> Length:
    if isinstance(end, datetime):
        # A date-time end on a date start: count every day the end reaches into.
        last = end.date() + (_DAY if end.time() != time() else timedelta(0))
        days = (last - start).days
        return Length(
            all_day=True,
            days=max(days, 1),
            degenerate=True,
            reversed_=end.date() < start,
            problem="DTEND is a date-time but DTSTART a date (RFC 5545 §3.8.2.2); "
            f"read as {max(days, 1)} whole day(s)",
        )
    if isinstance(end, date):
        days = (end - start).days
        if days >= 1:
            return Length(all_day=True, days=days)
        # An end on or before the start (Google Apps Script writes DTEND = DTSTART): one day.
        return Length(all_day=True, days=1, degenerate=True, reversed_=days < 0)
    if isinstance(duration, timedelta):
        if duration.seconds or duration.microseconds:
            days = max(math.ceil(duration / _DAY), 1)
            return Length(
                all_day=True,
                days=days,
                degenerate=True,
                reversed_=duration < timedelta(0),
                problem=f"DURATION {icalendar.vDuration(duration).to_ical().decode()} has a "
                "time part but DTSTART is a date (RFC 5545 §3.8.2.5 allows days and weeks "
                f"only); rounded up to {days} whole day(s)",
            )
        if duration.days >= 1:
            return Length(all_day=True, days=duration.days)
        return Length(all_day=True, days=1, degenerate=True, reversed_=duration.days < 0)
    return Length(all_day=True, days=1)  # §3.6.1: a date start with no end lasts the day


def place(
    start: date | datetime, end: date | datetime, length: Length
) -> tuple[date | datetime, date | datetime]:
    """Given an occurrence's start and end as recurring-ical-events computed them and its
    component's :class:`Length`, return the (start, end) to use: unchanged unless the length is
    degenerate, else re-read by the rules above (an all-day start stays a date)."""
    if not length.degenerate:
        return start, end
    # The library swapped a start and an end written in the wrong order: the start is its end.
    true_start = end if length.reversed_ else start
    if length.all_day:
        day = true_start.date() if isinstance(true_start, datetime) else true_start
        return day, day + timedelta(days=length.days)
    return true_start, true_start + length.span


def single_end(start: date | datetime, length: Length, written_end: Any) -> date | datetime:
    """Given a single event's DTSTART, its :class:`Length` and its DTEND value (or None), return
    its end: DTEND as written when it is sound, else the reading above."""
    if not length.degenerate and isinstance(written_end, date):
        return written_end
    if length.all_day:
        day = start.date() if isinstance(start, datetime) else start
        return day + timedelta(days=length.days)
    return start + length.span


__all__ = ["Length", "length_of", "place", "single_end"]
