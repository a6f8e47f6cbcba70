"""The RRULE guard counts the work a rule can cause before it is expanded.

No stopwatch: each expectation is a count worked out by hand from RFC 5545 §3.3.10 (periods from
DTSTART to the span's end, candidates per period), and a refused rule is refused before
expansion, which tracemalloc's peak shows. pytest-timeout catches a guard that lets one through.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest

from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.guards import RRULE_CANDIDATE_BUDGET, rrule_candidates
from tests.sync.ics import calendar, event, vevent

SPAN = Span(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 29, tzinfo=UTC))
ALL = {
    "BYMONTH": range(1, 13),
    "BYMONTHDAY": range(1, 32),
    "BYYEARDAY": range(1, 367),
    "BYHOUR": range(24),
    "BYMINUTE": range(60),
    "BYSECOND": range(60),
}


def ctx() -> ReadContext:
    return ReadContext(source="feed:hostile", calendar="/tmp/x.ics", max_occurrences=500)


def parts(*names: str) -> str:
    return ";".join(f"{n}={','.join(map(str, ALL[n]))}" for n in names)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "first", "expected"),
    [
        # 28 days from DTSTART to the end: 29 periods, one candidate and one day examined
        # (weight 0.01) each: ceil(29 × 1.01) = 30.
        ({"FREQ": ["DAILY"]}, utc(2026, 6, 1), 30),
        # 4 weeks: 5 periods; BYDAY=MO,WE lets 2 days a week be candidates, 7 are examined:
        # ceil(5 × (2 + 0.07)) = 11.
        ({"FREQ": ["WEEKLY"], "BYDAY": ["MO", "WE"]}, utc(2026, 6, 1), 11),
        # A year's candidate days are the fewest any one date part allows: BYMONTH=6 holds 31,
        # BYMONTHDAY=1,15 holds 2 × 12 = 24, so 24; June 1 to 29 is 2 periods:
        # ceil(2 × (24 + 3.66)) = 56.
        ({"FREQ": ["YEARLY"], "BYMONTH": [6], "BYMONTHDAY": [1, 15]}, utc(2026, 6, 1), 56),
        # INTERVAL=2 halves the periods: ceil(28 / 2) + 1 = 15 periods: ceil(15 × 1.01) = 16.
        ({"FREQ": ["DAILY"], "INTERVAL": [2]}, utc(2026, 6, 1), 16),
        # UNTIL ten minutes after DTSTART bounds a SECONDLY rule: 601 periods × 1.01 → 608.
        (
            {"FREQ": ["SECONDLY"], "UNTIL": [utc(2026, 6, 1, 0, 10)]},
            utc(2026, 6, 1),
            608,
        ),
        # The time parts multiply per candidate day: 2 hours × 3 minutes = 6, in 29 periods:
        # ceil(29 × (6 + 0.01)) = 175.
        ({"FREQ": ["DAILY"], "BYHOUR": [9, 17], "BYMINUTE": [0, 20, 40]}, utc(2026, 6, 1), 175),
        # At FREQ=HOURLY BYHOUR only limits (no expansion): 673 periods × 1.01 → 680.
        ({"FREQ": ["HOURLY"], "BYHOUR": [9, 10, 11]}, utc(2026, 6, 1), 680),
        # Starting after the span's end costs nothing.
        ({"FREQ": ["SECONDLY"]}, utc(2027, 1, 1), 0),
    ],
)
def test_candidates_are_counted_by_hand(
    rule: dict[str, list[object]], first: datetime, expected: int
) -> None:
    assert rrule_candidates(rule, first, SPAN.end, UTC) == expected


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("freq", "names"),
    [
        # The report's case: one small event, every BY part listed, 29 s and 1.4 GB before.
        ("YEARLY", ("BYMONTH", "BYMONTHDAY", "BYHOUR", "BYMINUTE", "BYSECOND")),
        ("YEARLY", ("BYYEARDAY", "BYHOUR", "BYMINUTE")),
        ("MONTHLY", ("BYMONTHDAY", "BYHOUR", "BYMINUTE", "BYSECOND")),
        ("WEEKLY", ("BYHOUR", "BYMINUTE", "BYSECOND")),
        ("DAILY", ("BYHOUR", "BYMINUTE")),
        ("HOURLY", ("BYMINUTE", "BYSECOND")),
    ],
)
def test_rules_that_multiply_are_refused_before_expansion(
    freq: str, names: tuple[str, ...]
) -> None:
    rule = f"RRULE:FREQ={freq};{parts(*names)}"
    text = event("bomb", "20260101T000000Z", "20260101T000001Z", extra=[rule])
    tracemalloc.start()
    try:
        reading = read_object(text.encode(), SPAN, ctx())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reading.occurrences == []
    assert len(reading.warnings) == 1
    warning = reading.warnings[0]
    assert "UID bomb" in warning and f"RRULE FREQ={freq} would generate about 10^" in warning
    assert f"(limit {RRULE_CANDIDATE_BUDGET:,})" in warning and warning.endswith("series skipped")
    # Parsing the object costs a few hundred KiB; any expansion of these rules costs far more.
    assert peak < 4 * 1024 * 1024, peak


def test_the_rest_of_the_calendar_survives_a_refused_rule() -> None:
    bomb = vevent(
        "bomb",
        "20260101T000000Z",
        "20260101T000001Z",
        extra=[f"RRULE:FREQ=YEARLY;{parts('BYMONTH', 'BYMONTHDAY', 'BYHOUR', 'BYMINUTE')}"],
    )
    fine = vevent("fine", "20260610T090000Z", "20260610T100000Z")
    reading = read_object(calendar(bomb, fine).encode(), SPAN, ctx())
    assert [o.uid for o in reading.occurrences] == ["fine"]
    assert len(reading.warnings) == 1 and "UID bomb" in reading.warnings[0]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("start", "rule", "count"),
    [
        # A daily meeting since 2000: every day of the 28-day span (June 1 09:00 … June 28).
        ("20000101T090000Z", "FREQ=DAILY", 28),
        # Workdays since 1990: June 2026 has 20 weekdays from the 1st to the 26th, none on the 27th
        # or 28th (a weekend).
        ("19900101T090000Z", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", 20),
        # A yearly birthday from Apple's "year unknown" 1604, on June 14: once.
        ("DTSTART;VALUE=DATE:16040614", "FREQ=YEARLY", 1),
    ],
)
def test_long_running_real_series_are_still_read(start: str, rule: str, count: int) -> None:
    text = event("real", start, None, extra=[f"RRULE:{rule}"])
    reading = read_object(text.encode(), SPAN, ctx())
    assert reading.warnings == []
    assert len(reading.occurrences) == count
