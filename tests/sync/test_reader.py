"""The event reader: VEVENT text → Occurrences in a span (pure, no servers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mendcrm.events import ReadContext, Span, read_object
from tests.sync.ics import calendar, event, vevent

BERLIN = ZoneInfo("Europe/Berlin")
SPAN = Span(datetime(2026, 4, 30, tzinfo=UTC), datetime(2026, 6, 30, tzinfo=UTC))


def ctx(**changes: object) -> ReadContext:
    options: dict[str, object] = {
        "source": "account:work",
        "calendar": "https://dav.example/cal/",
        "calendar_name": "Work",
        "zone": BERLIN,
        "my_emails": frozenset({"me@example.com"}),
        "max_occurrences": 500,
        "max_object_bytes": 1_000_000,
    }
    options.update(changes)
    return ReadContext(**options)  # type: ignore[arg-type]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_single_event_in_utc_with_attendees_and_my_partstat() -> None:
    text = event(
        "m1",
        "DTSTART;TZID=Europe/Berlin:20260505T100000",
        "DTEND;TZID=Europe/Berlin:20260505T113000",
        summary="Budget review",
        extra=[
            "LOCATION:Room 4",
            "DESCRIPTION:Line one\\nLine two\\, with comma",
            "CATEGORIES:Finance,Quarterly",
            'ORGANIZER;CN="Doe, Jane":MAILTO:Jane.Doe@Example.COM',
            "ATTENDEE;CN=Bob;PARTSTAT=accepted;ROLE=OPT-PARTICIPANT:mailto: Bob@Example.com",
            "ATTENDEE;PARTSTAT=DECLINED:mailto:ME@example.com",
        ],
    )
    reading = read_object(text.encode(), SPAN, ctx(), href="/cal/m1.ics", etag='"1"')
    assert reading.warnings == []
    [occ] = reading.occurrences
    assert (occ.start, occ.end) == (utc(2026, 5, 5, 8), utc(2026, 5, 5, 9, 30))
    assert occ.tzid == "Europe/Berlin" and not occ.all_day
    assert occ.summary == "Budget review" and occ.location == "Room 4"
    assert occ.description == "Line one\nLine two, with comma"
    assert occ.categories == ("Finance", "Quarterly")
    assert occ.organizer is not None and occ.organizer.email == "jane.doe@example.com"
    assert occ.organizer.cn == "Doe, Jane"
    bob = occ.attendees[0]
    assert (bob.email, bob.cn, bob.partstat, bob.role) == (
        "bob@example.com",
        "Bob",
        "ACCEPTED",
        "OPT-PARTICIPANT",
    )
    assert occ.my_partstat == "DECLINED"
    assert (occ.href, occ.etag, occ.uid, occ.recurrence_id) == ("/cal/m1.ics", '"1"', "m1", None)
    assert (occ.source, occ.calendar_name) == ("account:work", "Work")


def test_all_day_multi_day_and_floating_are_placed_in_my_zone() -> None:
    conference = vevent(
        "c1", "DTSTART;VALUE=DATE:20260510", "DTEND;VALUE=DATE:20260513", summary="Summit"
    )
    floating = vevent("f1", "DTSTART:20260511T090000", "DTEND:20260511T100000", summary="Standup")
    reading = read_object(calendar(conference, floating).encode(), SPAN, ctx())
    summit, standup = sorted(reading.occurrences, key=lambda o: o.summary)[::-1]
    assert summit.summary == "Summit" and summit.all_day and summit.tzid is None
    assert summit.start == utc(2026, 5, 9, 22) and summit.end == utc(2026, 5, 12, 22)
    assert standup.start == utc(2026, 5, 11, 7) and not standup.all_day and standup.tzid is None


def test_duration_instead_of_dtend_and_no_end_at_all() -> None:
    with_duration = vevent("d1", "20260505T100000Z", None, extra=["DURATION:PT45M"])
    instant = vevent("d2", "20260506T100000Z", None)
    day = vevent("d3", "DTSTART;VALUE=DATE:20260507", None)
    reading = read_object(calendar(with_duration, instant, day).encode(), SPAN, ctx())
    by_uid = {o.uid: o for o in reading.occurrences}
    assert by_uid["d1"].end - by_uid["d1"].start == timedelta(minutes=45)
    assert by_uid["d2"].end == by_uid["d2"].start
    assert by_uid["d3"].end - by_uid["d3"].start == timedelta(days=1)


def test_outlook_windows_zone_names_resolve() -> None:
    text = event(
        "o1",
        "DTSTART;TZID=Pacific Standard Time:20260505T090000",
        "DTEND;TZID=Pacific Standard Time:20260505T100000",
    )
    [occ] = read_object(text.encode(), SPAN, ctx()).occurrences
    assert occ.start == utc(2026, 5, 5, 16) and occ.tzid == "America/Los_Angeles"


def test_google_x_wr_timezone_is_applied() -> None:
    # Google writes UTC times and names the calendar's zone only in X-WR-TIMEZONE.
    text = calendar(
        vevent("g1", "20260505T080000Z", "20260505T090000Z", extra=["RRULE:FREQ=DAILY;COUNT=3"]),
        head=["X-WR-TIMEZONE:America/New_York"],
    )
    occs = read_object(text.encode(), SPAN, ctx()).occurrences
    assert [o.start for o in occs] == [utc(2026, 5, d, 8) for d in (5, 6, 7)]
    assert {o.tzid for o in occs} == {"America/New_York"}


def test_unknown_tzid_is_read_in_my_zone_with_a_warning() -> None:
    text = event(
        "u1", "DTSTART;TZID=Mars/Olympus:20260505T100000", "DTEND;TZID=Mars/Olympus:20260505T110000"
    )
    reading = read_object(text.encode(), SPAN, ctx())
    assert reading.occurrences[0].start == utc(2026, 5, 5, 8)
    assert "unknown TZID" in reading.warnings[0] and "UID u1" in reading.warnings[0]


def test_series_with_override_exdate_rdate_and_cancelled_instance() -> None:
    master = vevent(
        "s1",
        "DTSTART;TZID=Europe/Berlin:20260504T100000",
        "DTEND;TZID=Europe/Berlin:20260504T110000",
        summary="Weekly",
        extra=[
            "RRULE:FREQ=WEEKLY;COUNT=6",
            "EXDATE;TZID=Europe/Berlin:20260511T100000",
            "RDATE;TZID=Europe/Berlin:20260520T150000",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.com",
        ],
    )
    moved = vevent(
        "s1",
        "DTSTART;TZID=Europe/Berlin:20260519T140000",
        "DTEND;TZID=Europe/Berlin:20260519T150000",
        summary="Weekly (moved)",
        extra=["RECURRENCE-ID;TZID=Europe/Berlin:20260518T100000"],
    )
    cancelled = vevent(
        "s1",
        "DTSTART;TZID=Europe/Berlin:20260525T100000",
        "DTEND;TZID=Europe/Berlin:20260525T110000",
        extra=["RECURRENCE-ID;TZID=Europe/Berlin:20260525T100000", "STATUS:CANCELLED"],
    )
    reading = read_object(calendar(master, moved, cancelled).encode(), SPAN, ctx())
    assert reading.recurring and reading.warnings == []
    starts = [(o.start, o.summary, o.recurrence_id) for o in reading.occurrences]
    assert starts == [
        (utc(2026, 5, 4, 8), "Weekly", "2026-05-04T08:00:00+00:00"),
        (utc(2026, 5, 19, 12), "Weekly (moved)", "2026-05-18T08:00:00+00:00"),
        (utc(2026, 5, 20, 13), "Weekly", "2026-05-20T13:00:00+00:00"),
        (utc(2026, 6, 1, 8), "Weekly", "2026-06-01T08:00:00+00:00"),
        (utc(2026, 6, 8, 8), "Weekly", "2026-06-08T08:00:00+00:00"),
    ]
    assert {o.my_partstat for o in reading.occurrences if o.summary == "Weekly"} == {"ACCEPTED"}


def test_this_and_future_changes_the_rest_of_the_series() -> None:
    master = vevent(
        "t1",
        "20260504T100000Z",
        "20260504T110000Z",
        summary="Old",
        extra=["RRULE:FREQ=WEEKLY;COUNT=4"],
    )
    future = vevent(
        "t1",
        "20260518T120000Z",
        "20260518T130000Z",
        summary="New",
        extra=["RECURRENCE-ID;RANGE=THISANDFUTURE:20260518T100000Z"],
    )
    occs = read_object(calendar(master, future).encode(), SPAN, ctx()).occurrences
    assert [(o.start.day, o.start.hour, o.summary) for o in occs] == [
        (4, 10, "Old"),
        (11, 10, "Old"),
        (18, 12, "New"),
        (25, 12, "New"),
    ]


def test_cancelled_event_is_dropped() -> None:
    text = event("x1", "20260505T100000Z", "20260505T110000Z", extra=["STATUS:CANCELLED"])
    assert read_object(text.encode(), SPAN, ctx()).occurrences == []


def test_only_occurrences_inside_the_span() -> None:
    text = event("p1", "20260101T100000Z", "20260101T110000Z", extra=["RRULE:FREQ=MONTHLY"])
    occs = read_object(text.encode(), SPAN, ctx()).occurrences
    assert [o.start.month for o in occs] == [5, 6]


# No stopwatch here: each rule must be refused by the guard before expansion (the warning says
# why), which is what bounds the cost; pytest-timeout catches a guard that lets one run away.
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=SECONDLY", "FREQ=SECONDLY would generate about 10^8 candidate"),
        ("FREQ=MINUTELY;INTERVAL=1", "FREQ=MINUTELY would generate about 10^7 candidate"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0 never advances"),
        (
            "FREQ=HOURLY;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20",
            "FREQ=HOURLY would generate about 10^6 candidate",
        ),
        ("FREQ=FORTNIGHTLY", "FORTNIGHTLY"),
    ],
)
def test_hostile_rules_are_refused_before_expansion_and_say_so(rule: str, reason: str) -> None:
    text = event("h1", "20000101T000000Z", "20000101T000001Z", extra=[f"RRULE:{rule}"])
    reading = read_object(text.encode(), SPAN, ctx(max_occurrences=100))
    assert reading.occurrences == []
    assert len(reading.warnings) == 1
    assert "UID h1" in reading.warnings[0] and reason in reading.warnings[0]
    assert reading.warnings[0].endswith("skipped")


@pytest.mark.timeout(60)
def test_a_huge_count_costs_only_the_span() -> None:
    # A billion-occurrence COUNT is read as the 61 days inside the span, with no warning: the
    # expansion stopped at the span's end instead of walking the COUNT.
    text = event(
        "h3", "20000101T090000Z", "20000101T100000Z", extra=["RRULE:FREQ=DAILY;COUNT=1000000000"]
    )
    reading = read_object(text.encode(), SPAN, ctx())
    assert reading.warnings == []
    starts = [o.start for o in reading.occurrences]
    assert len(starts) == 61 and starts == sorted(set(starts))
    assert starts[0] == utc(2026, 4, 30, 9) and starts[-1] == utc(2026, 6, 29, 9)


def test_occurrences_per_series_are_capped() -> None:
    text = event("h2", "20260501T000000Z", "20260501T000100Z", extra=["RRULE:FREQ=HOURLY"])
    reading = read_object(text.encode(), SPAN, ctx(max_occurrences=50))
    assert len(reading.occurrences) == 50
    assert "more than 50 occurrences" in reading.warnings[0]


def test_oversized_and_deeply_nested_objects_are_refused_with_a_warning() -> None:
    big = event("b1", "20260505T100000Z", "20260505T110000Z", extra=["DESCRIPTION:" + "x" * 5000])
    reading = read_object(big.encode(), SPAN, ctx(max_object_bytes=1000), href="/b1.ics")
    assert reading.occurrences == [] and "exceeds the 1000-byte limit" in reading.warnings[0]
    nested = "BEGIN:VCALENDAR\n" + "BEGIN:X-A\n" * 50 + "END:X-A\n" * 50 + "END:VCALENDAR\n"
    reading = read_object(nested.encode(), SPAN, ctx(), href="/n.ics")
    assert reading.occurrences == [] and "nested deeper" in reading.warnings[0]


@pytest.mark.parametrize(
    ("cut", "unclosed"),
    [
        # A download cut off after a whole VEVENT: the event is sound, the object is not.
        (lambda text: text.removesuffix("END:VCALENDAR\n"), "VCALENDAR"),
        # Cut inside the VEVENT: its END and the calendar's are both missing.
        (lambda text: text[: text.index("END:VEVENT")], "VCALENDAR"),
        # A bare VEVENT (as CalDAV fragments are sometimes written) without its END.
        (lambda text: text[text.index("BEGIN:VEVENT") : text.index("END:VEVENT")], "VEVENT"),
    ],
)
def test_an_object_cut_off_before_its_end_is_said_not_dropped_silently(
    cut: Callable[[str], str], unclosed: str
) -> None:
    # RFC 5545 §3.4/§3.6: every component ends with END. icalendar drops an unclosed
    # component with all it holds and raises nothing, so without the check the event below
    # would vanish with no warning at all.
    whole = event("c1", "20260505T100000Z", "20260505T110000Z")
    assert len(read_object(whole.encode(), SPAN, ctx(), href="/c1.ics").occurrences) == 1
    text = cut(whole)
    reading = read_object(text.encode(), SPAN, ctx(), href="/c1.ics")
    assert reading.occurrences == []
    assert len(reading.warnings) == 1
    assert f"BEGIN:{unclosed} is never closed" in reading.warnings[0]
    assert "/c1.ics" in reading.warnings[0]


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        # RDATE gives instances but no DTSTART to count them from (RFC 5545 §3.6.1, §3.8.5.2).
        (["RDATE:20260505T100000Z,20260506T100000Z"], "recurring event has no DTSTART"),
        (["RDATE;VALUE=DATE:20260505"], "recurring event has no DTSTART"),
        # A lone override with no DTSTART: it moves its instance to no time at all; the
        # warning names the instance.
        (
            ["RECURRENCE-ID:20260505T100000Z"],
            "its override for RECURRENCE-ID 2026-05-05T10:00:00",
        ),
    ],
)
def test_a_series_component_without_dtstart_is_named_not_a_key_error(
    lines: list[str], said: str
) -> None:
    # §3.6.1 requires DTSTART in every VEVENT of an object without METHOD; the reader used to
    # pass these to the expansion and report its KeyError('DTSTART').
    text = calendar("BEGIN:VEVENT\nUID:r1\n" + "\n".join(lines) + "\nEND:VEVENT\n")
    reading = read_object(text.encode(), SPAN, ctx(), href="/r1.ics")
    assert reading.occurrences == []
    assert len(reading.warnings) == 1
    assert said in reading.warnings[0] and "UID r1" in reading.warnings[0]
    assert "KeyError" not in reading.warnings[0]


def test_malformed_input_gives_warnings_never_exceptions() -> None:
    for text in [
        b"",
        b"garbage",
        b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:z\nDTSTART:2026-13-45\nEND:VEVENT\n",
        b"\xff\xfe\x00",
    ]:
        reading = read_object(text, SPAN, ctx(), href="/bad.ics")
        assert reading.occurrences == []
    reading = read_object(event("z1", "notadate").encode(), SPAN, ctx(), href="/z1.ics")
    assert (
        reading.occurrences == []
        and "/z1.ics" in reading.warnings[0]
        and "UID z1" in reading.warnings[0]
    )


def test_an_event_without_uid_gets_a_stable_one() -> None:
    text = calendar("BEGIN:VEVENT\nDTSTART:20260505T100000Z\nSUMMARY:No uid\nEND:VEVENT\n")
    first = read_object(text.encode(), SPAN, ctx(), href="/a.ics").occurrences[0].uid
    again = read_object(text.encode(), SPAN, ctx(), href="/a.ics").occurrences[0].uid
    assert first == again and first.startswith("no-uid-")
