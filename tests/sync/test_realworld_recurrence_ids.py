"""Instance identity (issue 11, kind 4): RANGE=THISANDFUTURE moves and the user's time zone.

RFC 5545 §3.8.4.4: RECURRENCE-ID is "the original value of the DTSTART property of the
recurrence instance"; with RANGE=THISANDFUTURE the override's instance and every later one are
"rescheduled by the same time difference" (the override's DTSTART minus its RECURRENCE-ID).
So each instance's ``recurrence_id`` is the start its rule gave it, whatever moved it since.

The corpus is ``tests/corpus/realworld/recurrence-id/``: a weekly 1:1 on Fridays 8, 15, 22 and
29 May 2026 at 09:00Z (the rule starts), moved in the ways calendar tools write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendcrm.config.model import FeedConfig
from mendcrm.events import ReadContext, Span, read_object
from tests.fixtures.servers import DavAccount
from tests.sync.helpers import NOW, Syncer, make_config
from tests.sync.realworld import (
    CORPUS,
    Seen,
    read_caldav,
    read_file_feed,
    read_pure,
    read_vdir,
    seen,
)

FOLDER = CORPUS / "recurrence-id"
WEEKLY = "weekly-1on1@example.org"
ALLDAY = "weekly-allday@example.org"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(d: int, hour: int, rule_day: int | None = None, minutes: int = 60) -> Seen:
    """An occurrence on ``d`` May at ``hour``:00Z lasting ``minutes``, whose rule start was
    ``rule_day`` (default ``d``) May at 09:00Z."""
    start = utc(2026, 5, d, hour)
    rid = f"2026-05-{rule_day or d:02d}T09:00:00+00:00"
    return Seen(start, start + timedelta(minutes=minutes), rid, False)


def day(d: int, rule_day: int) -> Seen:
    """An all-day occurrence on ``d`` May in Berlin (UTC+2), its rule date ``rule_day`` May."""
    return Seen(utc(2026, 5, d - 1, 22), utc(2026, 5, d, 22), f"2026-05-{rule_day:02d}", True)


EXPECTED: dict[str, tuple[str, list[Seen]]] = {
    # The 15th and later moved to 13:00Z: +4h from the 15th on; ids stay the 09:00Z starts.
    "thisandfuture-once.ics": (WEEKLY, [at(8, 9), at(15, 13), at(22, 13), at(29, 13)]),
    # Moved again from the 22nd (RECURRENCE-ID 22nd 09:00Z, the rule start) to 15:00Z: that
    # override governs the 22nd and later (+6h), the first still the 15th; ids unchanged.
    "thisandfuture-twice.ics": (WEEKLY, [at(8, 9), at(15, 13), at(22, 15), at(29, 15)]),
    # The same point moved again (SEQUENCE 2): 14:00Z, now 90 minutes long; §3.8.4.4 carries a
    # changed duration to the later instances too. Ids unchanged.
    "thisandfuture-same-point-again.ics": (
        WEEKLY,
        [at(8, 9), at(15, 14, minutes=90), at(22, 14, minutes=90), at(29, 14, minutes=90)],
    ),
    # One instance inside the moved range overridden on its own (RECURRENCE-ID = its rule start,
    # 22nd 09:00Z) to 16:00Z; the rest of the range stays at 13:00Z.
    "thisandfuture-with-single-override.ics": (
        WEEKLY,
        [at(8, 9), at(15, 13), at(22, 16), at(29, 13)],
    ),
    # Moved a day earlier from the 15th: Thursdays 14, 21, 28 at 09:00Z, ids the Fridays.
    "thisandfuture-earlier-by-a-day.ics": (
        WEEKLY,
        [at(8, 9), at(14, 9, rule_day=15), at(21, 9, rule_day=22), at(28, 9, rule_day=29)],
    ),
    # An all-day series moved a day later from the 15th: ids are the rule's dates.
    "thisandfuture-allday.ics": (ALLDAY, [day(8, 8), day(16, 15), day(23, 22), day(30, 29)]),
}
FILES = sorted(FOLDER.glob("*.ics"))


def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(p.name for p in FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_the_reader_keeps_the_rule_start_as_the_id(path: Path) -> None:
    occurrences, warnings = read_pure(path)
    uid, want = EXPECTED[path.name]
    assert seen(occurrences, uid) == want
    assert warnings == []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_a_file_feed_keeps_the_rule_start_as_the_id(path: Path) -> None:
    occurrences, _ = read_file_feed(path)
    uid, want = EXPECTED[path.name]
    assert seen(occurrences, uid) == want


def test_vdir_folders_keep_the_rule_start_as_the_id(tmp_path: Path) -> None:
    # One folder per file: the files are versions of one series, and a vdir holds a UID once.
    for n, path in enumerate(FILES):
        occurrences, _ = read_vdir([path], tmp_path / f"vdir{n}")
        uid, want = EXPECTED[path.name]
        assert seen(occurrences, uid) == want, path.name


@pytest.mark.caldav
def test_caldav_keeps_the_rule_start_as_the_id(dav_account: DavAccount) -> None:
    by_file, _, refused = read_caldav(FILES, dav_account, one_calendar_each=True)
    assert refused == []
    for path in FILES:
        uid, want = EXPECTED[path.name]
        assert seen(by_file[path.name], uid) == want, path.name


def test_a_move_across_a_dst_change_keeps_the_rule_start_as_the_id() -> None:
    # Fridays at 09:00 Berlin from 9 October 2026; from the 16th moved to 13:00 Berlin (+4h of
    # wall clock). Summer time ends on 25 October, so the rule starts are 07:00Z (9, 16, 23 Oct)
    # and 08:00Z (30 Oct), and the moved times 11:00Z (16, 23 Oct) and 12:00Z (30 Oct).
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//MendCRM tests//EN",
        "BEGIN:VEVENT",
        "UID:dst@example.org",
        "DTSTAMP:20260901T000000Z",
        "DTSTART;TZID=Europe/Berlin:20261009T090000",
        "DTEND;TZID=Europe/Berlin:20261009T100000",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "SUMMARY:1:1",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:dst@example.org",
        "DTSTAMP:20260901T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin;RANGE=THISANDFUTURE:20261016T090000",
        "DTSTART;TZID=Europe/Berlin:20261016T130000",
        "DTEND;TZID=Europe/Berlin:20261016T140000",
        "SEQUENCE:1",
        "SUMMARY:1:1",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    span = Span(utc(2026, 10, 1), utc(2026, 11, 1))
    context = ReadContext(source="feed:t", calendar="t", zone=ZoneInfo("Europe/Berlin"))
    reading = read_object(("\r\n".join(lines) + "\r\n").encode(), span, context)
    assert reading.warnings == []
    assert [(o.start, o.recurrence_id) for o in reading.occurrences] == [
        (utc(2026, 10, 9, 7), "2026-10-09T07:00:00+00:00"),
        (utc(2026, 10, 16, 11), "2026-10-16T07:00:00+00:00"),
        (utc(2026, 10, 23, 11), "2026-10-23T07:00:00+00:00"),
        (utc(2026, 10, 30, 12), "2026-10-30T08:00:00+00:00"),
    ]


ZONE_FREE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//MendCRM tests//EN
BEGIN:VEVENT
UID:day@example.org
DTSTAMP:20260420T120000Z
DTSTART;VALUE=DATE:20260512
DTEND;VALUE=DATE:20260513
SUMMARY:Offsite
END:VEVENT
BEGIN:VEVENT
UID:days@example.org
DTSTAMP:20260420T120000Z
DTSTART;VALUE=DATE:20260505
DTEND;VALUE=DATE:20260506
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Planning day
END:VEVENT
BEGIN:VEVENT
UID:float@example.org
DTSTAMP:20260420T120000Z
DTSTART:20260512T090000
DTEND:20260512T100000
SUMMARY:Breakfast
END:VEVENT
BEGIN:VEVENT
UID:floats@example.org
DTSTAMP:20260420T120000Z
DTSTART:20260505T090000
DTEND:20260505T100000
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Run
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.parametrize("other", ["America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"])
def test_the_users_zone_does_not_change_who_a_date_or_floating_event_is(other: str) -> None:
    # All-day and floating times are placed in [me] timezone (so their UTC starts move with
    # it), but a date or a floating time names no zone: the identity is the value as written.
    span = Span(utc(2026, 5, 1), utc(2026, 5, 31))
    keys = {}
    for zone in ("Europe/Berlin", other):
        context = ReadContext(source="feed:t", calendar="t", zone=ZoneInfo(zone))
        reading = read_object(ZONE_FREE.encode(), span, context)
        keys[zone] = sorted((o.uid, o.key) for o in reading.occurrences)
    assert (
        keys["Europe/Berlin"]
        == keys[other]
        == [
            ("day@example.org", "2026-05-12"),
            ("days@example.org", "2026-05-05"),
            ("days@example.org", "2026-05-12"),
            ("days@example.org", "2026-05-19"),
            ("float@example.org", "2026-05-12T09:00:00"),
            ("floats@example.org", "2026-05-05T09:00:00"),
            ("floats@example.org", "2026-05-12T09:00:00"),
            ("floats@example.org", "2026-05-19T09:00:00"),
        ]
    )


def test_a_zone_free_identity_survives_the_stored_state(tmp_path: Path) -> None:
    # The second pass reads the unchanged file from the sync state, not from the text: the
    # all-day and floating single events must keep the identity the reader gave them.
    path = tmp_path / "zone-free.ics"
    path.write_text(ZONE_FREE)
    sync = Syncer(make_config(feeds=(FeedConfig(name="file", path=path),)))
    first = sorted((o.uid, o.key) for o in sync().occurrences)
    again = sync(NOW + timedelta(minutes=5))
    assert again.reports[0].method == "unchanged"
    assert sorted((o.uid, o.key) for o in again.occurrences) == first
    assert ("day@example.org", "2026-05-12") in first
    assert ("float@example.org", "2026-05-12T09:00:00") in first
