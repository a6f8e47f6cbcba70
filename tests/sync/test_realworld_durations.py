"""Degenerate durations (issue 11, kind 5): one reading for single events and every instance.

The corpus is ``tests/corpus/realworld/durations/``; the user is in Europe/Berlin, which is
UTC+2 in May 2026, so an all-day event on 12 May covers 11 May 22:00Z to 12 May 22:00Z. Each
expectation says which rule of RFC 5545 gives it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.servers import DavAccount
from tests.sync.realworld import (
    CORPUS,
    Seen,
    read_caldav,
    read_file_feed,
    read_pure,
    read_vdir,
    seen,
)

FOLDER = CORPUS / "durations"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day(d: int, days: int = 1, rid: str | None = None) -> Seen:
    """An all-day occurrence starting on ``d`` May 2026 in Berlin, lasting ``days`` days."""
    return Seen(utc(2026, 5, d - 1, 22), utc(2026, 5, d - 1 + days, 22), rid, True)


def instant(d: int, hour: int, rid: str | None = None) -> Seen:
    """A zero-length occurrence at ``hour``:00Z on ``d`` May 2026."""
    return Seen(utc(2026, 5, d, hour), utc(2026, 5, d, hour), rid, False)


# file -> (UID, occurrences, how many warnings name that UID)
EXPECTED: dict[str, tuple[str, list[Seen], int]] = {
    # DTEND;VALUE=DATE equal to DTSTART (Google Apps Script): §3.6.1 makes a date start mean
    # the whole day; an end that does not lie after it adds nothing, so: the one day.
    "gas-allday-dtend-equals-dtstart.ics": ("gas-1@example.org", [day(12)], 0),
    # DTEND before a DATE start: the same one day (the start is what the event is about).
    "allday-dtend-before-dtstart.ics": ("allday-back@example.org", [day(12)], 0),
    # DURATION:P0D on a date: no length at all, read as the day, like a missing end.
    "allday-duration-p0d.ics": ("allday-p0d@example.org", [day(12)], 0),
    # §3.6.1: "DTSTART ... of type DATE ... without DTEND or DURATION ... takes up one day".
    "allday-no-end.ics": ("allday-open@example.org", [day(12)], 0),
    # §3.8.2.5: a DATE start allows only dur-day/dur-week; PT1H is invalid: rounded up to one
    # whole day, with a warning.
    "allday-time-duration.ics": ("allday-pt1h@example.org", [day(12)], 1),
    # P1DT1H on a date: rounded up to two whole days, with a warning.
    "allday-duration-p1dt1h.ics": ("allday-p1dt1h@example.org", [day(12, days=2)], 1),
    # §3.8.2.2: DTEND must have DTSTART's value type; a date-time end on 12 May reaches into
    # the 12th only: one day, with a warning.
    "allday-dtend-datetime.ics": ("allday-mixed@example.org", [day(12)], 1),
    # §3.6.1: a DATE-TIME start without an end "ends on the same calendar date and time".
    "timed-no-end.ics": ("timed-open@example.org", [instant(12, 9)], 0),
    # §3.8.2.2: DTEND must be later than DTSTART; before it: zero length at the start, warned.
    "timed-dtend-before-dtstart.ics": ("timed-back@example.org", [instant(12, 9)], 1),
    # A negative DURATION is the same fault written the other way.
    "timed-negative-duration.ics": ("timed-negdur@example.org", [instant(12, 9)], 1),
    # A series reads each instance as its single form would: three whole days (5, 12, 19 May),
    # identified by their dates.
    "series-gas-allday.ics": (
        "series-gas@example.org",
        [day(d, rid=f"2026-05-{d:02d}") for d in (5, 12, 19)],
        0,
    ),
    # Every instance of a series whose DTEND lies before DTSTART: zero length at its own start
    # (09:00Z, not the 08:30Z end), identified by that start; one warning for the series.
    "series-timed-dtend-before-dtstart.ics": (
        "series-back@example.org",
        [instant(d, 9, rid=f"2026-05-{d:02d}T09:00:00+00:00") for d in (5, 12, 19)],
        1,
    ),
    # A DATE series with a time DURATION stays all-day, one whole day each; one warning.
    "series-allday-time-duration.ics": (
        "series-pt2h@example.org",
        [day(d, rid=f"2026-05-{d:02d}") for d in (5, 12, 19)],
        1,
    ),
    # An override (12th moved to the 13th) written with DTEND = DTSTART: one day like the rest.
    "series-override-dtend-equals-dtstart.ics": (
        "series-ovr@example.org",
        [day(5, rid="2026-05-05"), day(13, rid="2026-05-12"), day(19, rid="2026-05-19")],
        0,
    ),
}
FILES = sorted(FOLDER.glob("*.ics"))


def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(p.name for p in FILES) == sorted(EXPECTED)


def _check(name: str, occurrences: list, warnings: list[str]) -> None:
    uid, want, warned = EXPECTED[name]
    assert seen(occurrences, uid) == want, name
    about = [w for w in warnings if f"UID {uid}:" in w]
    assert len(about) == warned, (name, about)
    for line in about:
        assert "\n" not in line and "RFC 5545" in line


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_the_reader_gives_the_rfc_reading(path: Path) -> None:
    occurrences, warnings = read_pure(path)
    _check(path.name, occurrences, warnings)
    assert len(warnings) == EXPECTED[path.name][2]  # nothing else is said about the file


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_a_file_feed_gives_the_rfc_reading(path: Path) -> None:
    _check(path.name, *read_file_feed(path))


def test_a_vdir_folder_gives_the_rfc_reading(tmp_path: Path) -> None:
    occurrences, warnings = read_vdir(FILES, tmp_path / "vdir")
    for path in FILES:
        _check(path.name, occurrences, warnings)


@pytest.mark.caldav
def test_caldav_gives_the_rfc_reading_for_what_the_server_stores(dav_account: DavAccount) -> None:
    by_file, warnings, refused = read_caldav(FILES, dav_account)
    # Both servers store the Google Apps Script shape, the case the issue was filed about.
    assert "gas-allday-dtend-equals-dtstart.ics" not in refused
    assert len(refused) < len(FILES) // 2, refused
    for path in FILES:
        if path.name not in refused:
            _check(path.name, by_file[path.name], warnings)
