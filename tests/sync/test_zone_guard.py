"""A VTIMEZONE's rules are counted before icalendar expands them (issue 12, found by the
hostile-input test): icalendar builds every transition to 2038 whatever span is read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.zoneguard import ZONE_RULE_BUDGET, zone_rule_candidates

SPAN = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("rule", "dtstart", "expected"),
    [
        # Outlook's zone rule. 1601-10-28T03:00 to 2039-01-01 (where icalendar stops a rule
        # with neither UNTIL nor COUNT) is 437.18 years of 31,556,952 s: 438 + 1 = 439 periods.
        # A day must be in October (31 a year) and a last Sunday (53 a year): at most 31;
        # plus 366 days examined at 0.01: ceil(439 × 34.66) = 15,216.
        ("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "16011028T030000", 15_216),
        # UNTIL bounds it: 1970-03-29T02:00 to 1990-01-01 is 19.76 years: 21 periods,
        # ceil(21 × 34.66) = 728.
        ("FREQ=YEARLY;UNTIL=19900101T000000Z;BYMONTH=3;BYDAY=-1SU", "19700329T020000", 728),
        # The hostile zone the test found: daily from 1601-04-23T17:06 is 159,863.3 days to
        # 2039: 159,865 periods of one candidate and one day examined: ceil(159,865 × 1.01).
        ("FREQ=DAILY", "16010423T170600", 161_464),
        # Time parts multiply: 2 hours × 2 minutes on DTSTART's weekday, 678.3 weeks from
        # 2026 to 2039: 680 periods × (4 + 0.07) = 2,767.6 → 2,768.
        ("FREQ=WEEKLY;BYHOUR=1,2;BYMINUTE=0,30", "20260101T000000", 2_768),
        # Not a rule dateutil expands (icalendar fails on it first): nothing to count.
        ("FREQ=FORTNIGHTLY", "20260101T000000", None),
        ("FREQ=YEARLY", "not a date", None),
    ],
)
def test_zone_rules_are_counted_from_their_start_to_where_icalendar_stops(
    rule: str, dtstart: str, expected: int | None
) -> None:
    assert zone_rule_candidates(rule, dtstart) == expected


def test_a_rule_that_never_advances_counts_past_any_budget() -> None:
    count = zone_rule_candidates("FREQ=YEARLY;INTERVAL=0", "19700101T000000")
    assert count is not None and count > ZONE_RULE_BUDGET


def outlook_zone(tzid: str, standard: str, daylight: str) -> str:
    return (
        f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n"
        f"BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:{daylight}\r\n"
        f"TZOFFSETTO:{standard}\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n"
        f"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:{standard}\r\n"
        f"TZOFFSETTO:{daylight}\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n"
        "END:VTIMEZONE\r\n"
    )


def read(zones: str, tzid: str) -> tuple[list[str], list[datetime]]:
    data = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + zones + "BEGIN:VEVENT\r\nUID:z\r\n"
        f"DTSTART;TZID={tzid}:20260505T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    reading = read_object(data, SPAN, ReadContext(source="feed:z", calendar="z.ics"))
    return reading.warnings, [o.start for o in reading.occurrences]


def test_three_outlook_zones_from_1601_are_read() -> None:
    zones = (
        outlook_zone("W. Europe Standard Time", "+0100", "+0200")
        + outlook_zone("GMT Standard Time", "+0000", "+0100")
        + outlook_zone("E. Europe Standard Time", "+0200", "+0300")
    )
    # 10:00 in summer time at +02:00 is 08:00 UTC (5 May is after the last Sunday of March).
    assert read(zones, "W. Europe Standard Time") == ([], [datetime(2026, 5, 5, 8, tzinfo=UTC)])


def test_a_zone_with_a_daily_rule_from_1601_is_refused_before_icalendar_expands_it() -> None:
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010423T170600\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=DAILY\r\nEND:DAYLIGHT\r\n"
        "END:VTIMEZONE\r\n"
    )
    warnings, starts = read(zone, "Custom")
    assert starts == []
    assert warnings == [
        "feed:z (z.ics): - UID ?: VTIMEZONE 'Custom': its DAYLIGHT RRULE and the object's other "
        "zone rules would generate about 10^5 transitions (limit 100,000); a time zone changes "
        "once or twice a year; skipped"
    ]
