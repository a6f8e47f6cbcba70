"""Generated hostile iCalendar through the reader (issue 12): nothing escapes, work is bounded.

Every object hypothesis builds (tests/sync/hostile_ics.py: random folds, also inside multi-byte
characters; property and parameter soup; nested and unbalanced components; RRULEs with random
BY parts; absurd dates; custom and unknown TZIDs; huge counts; broken UTF-8; control
characters) goes through :func:`read_object`, which must:

- never raise;
- return each warning as one line (``str.splitlines`` sees one line);
- keep at most ``max_occurrences`` occurrences per UID;
- expand no event rule whose counted work (:func:`rrule_candidates` for the rule dateutil was
  actually given: candidate instances from its DTSTART to the span's end) exceeds
  ``RRULE_CANDIDATE_BUDGET``; counted by watching every rule dateutil builds, so a rule that
  reaches expansion without passing the guard is caught too;
- allocate at most ``PEAK_BASE + PEAK_PER_BYTE × size`` bytes at its tracemalloc peak.

No seconds anywhere: pytest-timeout only stops a runaway.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dateutil.rrule
import pytest
from hypothesis import HealthCheck, example, given, settings

from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.guards import RRULE_CANDIDATE_BUDGET, rrule_candidates
from tests.sync.hostile_ics import hostile_calendar

SPAN = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
ZONE = ZoneInfo("Europe/Berlin")
CAP = 40

PEAK_BASE = 2 * 1024 * 1024
"""Fixed part of the per-object allocation bound: 2 MiB.

Reading any object builds icalendar's component tree, recurring-ical-events' series and up to
``CAP`` occurrences; measured on the generated objects (about 0.1 to 3 KB), the highest peak
was about 0.3 MiB. A zone or rule expanded past its budget keeps what it generates (160,000
zone transitions are ~20 MiB), far past this bound."""

PEAK_PER_BYTE = 200
"""Variable part: 200 bytes of allocation per octet of input. icalendar holds each property
as several objects (name, parameters, parsed value, raw line), about 50–100 bytes of Python
objects per octet of a short line."""

FREQ_NAMES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
BY_PARTS = {
    "bysetpos": "BYSETPOS",
    "bymonth": "BYMONTH",
    "byweekno": "BYWEEKNO",
    "byyearday": "BYYEARDAY",
    "bymonthday": "BYMONTHDAY",
    "byweekday": "BYDAY",
    "byhour": "BYHOUR",
    "byminute": "BYMINUTE",
    "bysecond": "BYSECOND",
}

hostile = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def ctx() -> ReadContext:
    return ReadContext(
        source="feed:hostile",
        calendar="/tmp/hostile.ics",
        zone=ZONE,
        my_emails=frozenset({"me@example.com"}),
        max_occurrences=CAP,
    )


@contextmanager
def built_rules() -> Iterator[list[tuple[dateutil.rrule.rrule, bool]]]:
    """Record every rule dateutil builds while the reader runs (the real constructor runs),
    and whether it was built for a VTIMEZONE (by icalendar's zone code) or for an event."""
    built: list[tuple[dateutil.rrule.rrule, bool]] = []
    original = dateutil.rrule.rrule.__init__

    def spy(self: dateutil.rrule.rrule, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        frame, for_zone = sys._getframe(1), False
        while frame is not None and not for_zone:
            for_zone = frame.f_code.co_filename.endswith("cal/timezone.py")
            frame = frame.f_back  # type: ignore[assignment]
        built.append((self, for_zone))

    dateutil.rrule.rrule.__init__ = spy  # type: ignore[method-assign]
    try:
        yield built
    finally:
        dateutil.rrule.rrule.__init__ = original  # type: ignore[method-assign]


def counted_work(rule: dateutil.rrule.rrule) -> int:
    """Candidate instances dateutil's ``rule`` generates up to the span's end, counted the
    guard's way (RFC 5545 §3.3.10: periods × candidates per period)."""
    parts: dict[str, Any] = {"FREQ": [FREQ_NAMES[rule._freq]], "INTERVAL": [rule._interval]}
    if rule._until is not None:
        parts["UNTIL"] = [rule._until]
    for attribute, name in BY_PARTS.items():
        values = rule._original_rule.get(attribute)
        if values:
            parts[name] = list(values)
    start: date | datetime = rule._dtstart
    return rrule_candidates(parts, start, SPAN.end, ZONE)


def check(data: bytes) -> None:
    reading_ctx = ctx()
    tracemalloc.start()
    try:
        with built_rules() as built:
            reading = read_object(data, SPAN, reading_ctx, href="hostile.ics")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for warning in reading.warnings:
        assert warning.splitlines() == [warning], warning
    per_uid: dict[str, int] = {}
    for occurrence in reading.occurrences:
        per_uid[occurrence.uid] = per_uid.get(occurrence.uid, 0) + 1
    assert all(count <= CAP for count in per_uid.values()), per_uid
    for rule, for_zone in built:
        if not for_zone:
            assert counted_work(rule) <= RRULE_CANDIDATE_BUDGET, str(rule)
    assert peak <= PEAK_BASE + PEAK_PER_BYTE * len(data), (peak, len(data))


def test_warm_up_caches_before_measuring() -> None:
    # The first read fills process-wide caches (zoneinfo, regexes, icalendar's type maps);
    # they are not the object's cost, so they are paid here, outside any measured example.
    read_object(
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTART;TZID=Europe/Berlin:20260505T1000"
        b"00\r\nRRULE:FREQ=DAILY;COUNT=2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        SPAN,
        ctx(),
    )


@pytest.mark.filterwarnings("ignore:Using both 'count' and 'until':DeprecationWarning")
@hostile
@given(hostile_calendar())
# Found by this test: a UID is TEXT, so "\n" in it became a line break inside the warning.
@example(
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\\nb\r\n"
    b"DTSTART:00010101T000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
# Found by this test: a RECURRENCE-ID icalendar could not parse raised BrokenCalendarProperty
# out of read_object (every ``.dt`` now goes through mendcrm.events.values.dt_of).
@example(
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260501T000000\r\n"
    b"RECURRENCE-ID;VALUE=PERIOD:20260501T000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
# Found by this test: DTEND before DTSTART makes recurring-ical-events expand from DTEND (year
# 1), about 10^5 candidates the guard did not count (it counted from DTSTART).
@example(
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260501T000000\r\n"
    b"DTEND:00010501\r\nRRULE:FREQ=YEARLY;BYDAY=MO;BYHOUR=0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
# Found by this test: a VTIMEZONE rule is expanded by icalendar to 2038 whatever the span,
# unguarded (FREQ=DAILY from 1601 took 7 s); mendcrm.events.zoneguard now counts it first.
@example(
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:DAYLIGHT\r\n"
    b"DTSTART:16010423T170600\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=DAILY\r\n"
    b"END:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:z\r\n"
    b"DTSTART;TZID=Custom:20260505T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
def test_hostile_calendars_never_escape_the_reader_or_its_bounds(data: bytes) -> None:
    check(data)
