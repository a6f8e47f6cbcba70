"""An RDATE or EXDATE with no value (RFC 5545 §3.8.5.1, §3.8.5.2: one or more dates) adds or
excludes nothing: the event is read without it and the reader says so, instead of losing the
whole component to the parser (corpus: parsing_error.ics, issue_1081_empty_rdate.ics)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.lean import without_empty_date_lists

CONTEXT = ReadContext(source="feed:x", calendar="x", zone=ZoneInfo("Europe/Berlin"))
SPAN = Span(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def _event(*lines: str, component: str = "VEVENT") -> list[str]:
    return [
        "BEGIN:VCALENDAR",
        f"BEGIN:{component}",
        "UID:u1",
        "DTSTART:20260505T100000Z",
        *lines,
        f"END:{component}",
        "END:VCALENDAR",
    ]


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("RDATE:", "RDATE"),
        ("EXDATE;VALUE=DATE:", "EXDATE"),
        ("exdate:  ", "EXDATE"),  # names are case-insensitive (§3.1); blanks are no date
        ('EXDATE;TZID="Odd:Zone":', "EXDATE"),  # a colon inside a quoted parameter
    ],
)
def test_an_empty_date_list_in_an_event_is_left_out_and_named(line: str, name: str) -> None:
    lines, dropped = without_empty_date_lists(_event(line, "SUMMARY:x"))
    assert dropped == [name]
    assert lines == _event("SUMMARY:x")


@pytest.mark.parametrize(
    "lines",
    [
        # Folded (§3.1): the value is on the continuation line, so it is not empty.
        _event("EXDATE;VALUE=DATE:", " 20260506"),
        _event("RDATE:20260507T100000Z"),
        # Not an event: a zone's observance, a to-do (MendCRM reads VEVENTs only).
        _event("RDATE:", component="DAYLIGHT"),
        _event("RDATE:", component="VTODO"),
    ],
)
def test_anything_else_is_left_as_it_is(lines: list[str]) -> None:
    assert without_empty_date_lists(lines) == (lines, [])


def test_a_blank_folded_value_goes_with_its_continuation() -> None:
    lines, dropped = without_empty_date_lists(_event("RDATE:", "  ", "SUMMARY:x"))
    assert dropped == ["RDATE"] and lines == _event("SUMMARY:x")


def test_a_series_with_an_empty_exdate_keeps_its_instances_and_says_so() -> None:
    # DAILY;COUNT=5 from 2026-05-05 10:00Z: five instances (§3.3.10); EXDATE 05-06 removes one
    # (§3.8.5.1); the empty EXDATE removes nothing.
    text = "\r\n".join(
        _event(
            "RRULE:FREQ=DAILY;COUNT=5",
            "EXDATE:20260506T100000Z",
            "EXDATE;VALUE=DATE:",
            "SUMMARY:Standup",
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reading = read_object((text + "\r\n").encode(), SPAN, CONTEXT, href="/cal/a.ics")
    assert [o.start.day for o in reading.occurrences] == [5, 7, 8, 9]
    [warning] = reading.warnings
    assert "empty EXDATE ignored" in warning and "/cal/a.ics" in warning
