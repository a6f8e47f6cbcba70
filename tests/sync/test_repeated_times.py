"""A VEVENT giving DTSTART, DTEND or DURATION more than once (RFC 5545 §3.6.1: "MUST NOT occur
more than once") is read with the first, and said: which one the writer meant is a guess
(corpus: america_new_york_forward_reference.ics, pacific_fiji.ics)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mendcrm.events import ReadContext, Span, read_object

CONTEXT = ReadContext(source="feed:x", calendar="x", zone=ZoneInfo("Europe/Berlin"))
SPAN = Span(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
T = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)


def _read(*lines: str) -> tuple[list[tuple[datetime, datetime]], list[str]]:
    text = "\r\n".join(["BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:u1", *lines, "END:VEVENT"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reading = read_object(f"{text}\r\nEND:VCALENDAR\r\n".encode(), SPAN, CONTEXT, href="h")
    return [(o.start, o.end) for o in reading.occurrences], reading.warnings


@pytest.mark.parametrize(
    ("lines", "expected", "name"),
    [
        # The first DTSTART (10:00Z) with its DTEND (11:00Z).
        (
            ["DTSTART:20260505T100000Z", "DTSTART:20260505T120000Z", "DTEND:20260505T110000Z"],
            [(T, T + timedelta(hours=1))],
            "DTSTART",
        ),
        # The first DTEND (11:00Z).
        (
            ["DTSTART:20260505T100000Z", "DTEND:20260505T110000Z", "DTEND:20260505T130000Z"],
            [(T, T + timedelta(hours=1))],
            "DTEND",
        ),
        # A series (DAILY, COUNT=2) with its DURATION twice: the first, 30 minutes, each day.
        (
            [
                "DTSTART:20260505T100000Z",
                "RRULE:FREQ=DAILY;COUNT=2",
                "DURATION:PT30M",
                "DURATION:PT2H",
            ],
            [
                (T, T + timedelta(minutes=30)),
                (T + timedelta(days=1), T + timedelta(days=1, minutes=30)),
            ],
            "DURATION",
        ),
    ],
)
def test_a_time_given_twice_reads_the_first_and_is_said(
    lines: list[str], expected: list[tuple[datetime, datetime]], name: str
) -> None:
    found, said = _read(*lines)
    assert found == expected
    assert len(said) == 1 and f"{name} given 2 times" in said[0]


def test_each_time_given_once_says_nothing() -> None:
    found, said = _read("DTSTART:20260505T100000Z", "DTEND:20260505T110000Z")
    assert found == [(T, T + timedelta(hours=1))] and said == []
