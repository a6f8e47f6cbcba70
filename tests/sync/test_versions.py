"""Two versions of one component: the newer is the truth, wherever it stands (issue 11, kind 2).

The corpus in ``tests/corpus/realworld/versions`` rebuilds what feeds and merged exports write:
the same UID (or UID + RECURRENCE-ID) twice with different versions. Each expectation below is
worked out from the RFCs, not from what MendCRM printed:

- Only components with the same UID and the same RECURRENCE-ID (or none in both) are versions
  of one another (RFC 5545 §3.8.4.7, §3.8.4.4); a master and its overrides never compete.
- The newer is the higher SEQUENCE (§3.8.7.4; absent means 0), then the later DTSTAMP
  (RFC 5546 §2.1.5), then the later LAST-MODIFIED (§3.8.7.3), then the later in the file.

Each file goes through every real reader: ``read_object`` itself, a local file feed, an https
feed on loopback, a vdir, and CalDAV on Radicale and Xandikos (as far as each server stores it).
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mendcrm.config.model import FeedConfig
from mendcrm.copies import one_copy_each
from mendcrm.events import ReadContext, Span, read_object
from mendcrm.model import Occurrence
from tests.fixtures.child_server import http_request
from tests.fixtures.servers import DavAccount, FeedServer
from tests.sync.helpers import Syncer, make_config

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "realworld" / "versions"

Seen = list[tuple[str, str, str]]
"""(start, end, summary) of each occurrence, UTC, in time order."""

EXPECTED: dict[str, Seen] = {
    # The example: SEQUENCE 0 at 09:00Z first, SEQUENCE 1 at 13:00Z second → 13:00Z.
    "budget-newer-second.ics": [
        ("2026-05-05T13:00:00Z", "2026-05-05T14:00:00Z", "Budget review"),
    ],
    # The same two versions in the other order: position in the file does not matter.
    "budget-newer-first.ics": [
        ("2026-05-05T13:00:00Z", "2026-05-05T14:00:00Z", "Budget review"),
    ],
    # SEQUENCE 2 in both; DTSTAMP 2026-04-20 (listed first) is later than 2026-04-10.
    "dtstamp-decides.ics": [
        ("2026-05-06T15:00:00Z", "2026-05-06T16:00:00Z", "Roadmap (moved)"),
    ],
    # SEQUENCE 4 and DTSTAMP equal; LAST-MODIFIED 04-12 (first) is later than 04-05.
    "last-modified-decides.ics": [
        ("2026-05-07T08:00:00Z", "2026-05-07T09:00:00Z", "Offsite (old)"),
    ],
    # SEQUENCE, DTSTAMP and LAST-MODIFIED all equal: the later one in the file.
    "all-equal-later-in-file.ics": [
        ("2026-05-08T14:00:00Z", "2026-05-08T15:00:00Z", "Sync (second copy)"),
    ],
    # No SEQUENCE is SEQUENCE 0 (§3.8.7.4), so SEQUENCE 1 wins despite its older DTSTAMP.
    "missing-sequence-is-zero.ics": [
        ("2026-05-09T11:00:00Z", "2026-05-09T12:00:00Z", "Retro (SEQUENCE 1)"),
    ],
    # The override of 05-11 written twice: SEQUENCE 2 (16:00Z, listed first) beats SEQUENCE 1;
    # the master's other instances stay at 09:00Z.
    "override-twice.ics": [
        ("2026-05-04T09:00:00Z", "2026-05-04T10:00:00Z", "Weekly 1:1"),
        ("2026-05-11T16:00:00Z", "2026-05-11T17:00:00Z", "Weekly 1:1 (moved again)"),
        ("2026-05-18T09:00:00Z", "2026-05-18T10:00:00Z", "Weekly 1:1"),
    ],
    # One override written with RECURRENCE-ID;TZID=Europe/Berlin:…T110000 (CEST, = 09:00Z) and
    # once as …T090000Z: the same instance, so they compete; SEQUENCE 3 moves it to 17:00 CEST.
    "override-twice-rid-forms.ics": [
        ("2026-05-04T09:00:00Z", "2026-05-04T10:00:00Z", "Planning"),
        ("2026-05-11T15:00:00Z", "2026-05-11T16:00:00Z", "Planning (late)"),
        ("2026-05-18T09:00:00Z", "2026-05-18T10:00:00Z", "Planning"),
    ],
    # A master (SEQUENCE 5) and two overrides (SEQUENCE 0 and 7): different RECURRENCE-IDs, so
    # nothing competes, and an override with a lower SEQUENCE than its master still applies.
    "master-and-overrides.ics": [
        ("2026-05-05T10:00:00Z", "2026-05-05T10:15:00Z", "Standup"),
        ("2026-05-12T14:00:00Z", "2026-05-12T14:15:00Z", "Standup (moved)"),
        ("2026-05-19T12:00:00Z", "2026-05-19T13:00:00Z", "Standup (at noon)"),
    ],
    # The newer master (SEQUENCE 2) removed the RRULE the older copy still has: one event.
    "rrule-removed.ics": [
        ("2026-05-06T12:00:00Z", "2026-05-06T13:00:00Z", "Lunch and learn (once)"),
    ],
    # The other way round: the newer master (SEQUENCE 1, first) added a weekly RRULE, COUNT=2.
    "rrule-added.ics": [
        ("2026-05-07T16:00:00Z", "2026-05-07T17:00:00Z", "Mentoring"),
        ("2026-05-14T16:00:00Z", "2026-05-14T17:00:00Z", "Mentoring"),
    ],
    # The newer version is STATUS:CANCELLED: the meeting is off, the older CONFIRMED copy is not
    # the truth (RFC 5545 §3.8.1.11).
    "newer-cancelled.ics": [],
}

SPAN = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 31, tzinfo=UTC))


def seen(occurrences: list[Occurrence]) -> Seen:
    def iso(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    ordered = sorted(occurrences, key=lambda o: (o.start, o.summary))
    return [(iso(o.start), iso(o.end), o.summary) for o in ordered]


def test_the_corpus_and_the_expectations_cover_the_same_files() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.ics")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_read_object_keeps_the_newer_version(name: str) -> None:
    context = ReadContext(source="feed:versions", calendar=str(CORPUS))
    reading = read_object((CORPUS / name).read_bytes(), SPAN, context, href=name)
    assert reading.warnings == []
    assert seen(reading.occurrences) == EXPECTED[name]


def test_the_version_rides_on_the_occurrence() -> None:
    # What the cross-calendar step compares: (SEQUENCE, DTSTAMP, LAST-MODIFIED) in UTC.
    context = ReadContext(source="feed:versions", calendar=str(CORPUS))
    reading = read_object((CORPUS / "last-modified-decides.ics").read_bytes(), SPAN, context)
    [occurrence] = reading.occurrences
    assert occurrence.version == (4, "20260415T120000Z", "20260412T070000Z")


def _by_source(occurrences: list[Occurrence]) -> dict[str, Seen]:
    grouped: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        grouped.setdefault(occurrence.source, []).append(occurrence)
    return {source: seen(found) for source, found in grouped.items()}


def _feed_name(name: str) -> str:
    return name.removesuffix(".ics")


def _expected_by_source() -> dict[str, Seen]:
    return {f"feed:{_feed_name(n)}": s for n, s in EXPECTED.items() if s}


def test_local_file_feeds_keep_the_newer_version() -> None:
    feeds = tuple(FeedConfig(name=_feed_name(p), path=CORPUS / p) for p in EXPECTED)
    result = Syncer(make_config(feeds=feeds))()
    assert result.failed_sources == set()
    assert _by_source(result.occurrences) == _expected_by_source()


def test_https_feeds_keep_the_newer_version(feed_server: FeedServer) -> None:
    feeds = tuple(
        FeedConfig(name=_feed_name(p), url=feed_server.publish(p, (CORPUS / p).read_text()))
        for p in EXPECTED
    )
    result = Syncer(make_config(feeds=feeds))()
    assert result.failed_sources == set()
    assert _by_source(result.occurrences) == _expected_by_source()


def test_vdir_feeds_keep_the_newer_version(tmp_path: Path) -> None:
    feeds = []
    for name in EXPECTED:
        folder = tmp_path / _feed_name(name)
        folder.mkdir()
        shutil.copy(CORPUS / name, folder / name)
        feeds.append(FeedConfig(name=_feed_name(name), path=folder))
    result = Syncer(make_config(feeds=tuple(feeds)))()
    assert result.failed_sources == set()
    assert _by_source(result.occurrences) == _expected_by_source()


def _single(uid: str, sequence: int, start: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//MendCRM tests//versions//EN\nBEGIN:VEVENT\n"
        f"UID:{uid}\nSEQUENCE:{sequence}\nDTSTAMP:20260401T080000Z\n"
        f"DTSTART:{start}\nDTEND:{start[:-5]}3000Z\nSUMMARY:{summary}\nEND:VEVENT\nEND:VCALENDAR\n"
    )


def test_a_vdir_holding_one_uid_in_two_files_yields_the_newer_once(tmp_path: Path) -> None:
    # vdirsyncer and merged exports can leave the same UID in two files of one folder; each file
    # is read on its own, so the choice is made where copies meet (mendcrm.copies), by the same
    # order: SEQUENCE 1 (13:00Z, in the file that sorts first) beats SEQUENCE 0 (09:00Z).
    folder = tmp_path / "vdir"
    folder.mkdir()
    (folder / "a.ics").write_text(_single("budget@example.org", 1, "20260505T130000Z", "New"))
    (folder / "b.ics").write_text(_single("budget@example.org", 0, "20260505T090000Z", "Old"))
    result = Syncer(make_config(feeds=(FeedConfig(name="vdir", path=folder),)))()
    assert len(result.occurrences) == 2  # the sync stage keeps what each file says
    [kept] = one_copy_each(result.occurrences)
    assert seen([kept]) == [("2026-05-05T13:00:00Z", "2026-05-05T13:30:00Z", "New")]
    assert kept.href.endswith("a.ics")


# -- CalDAV: what the servers store, read back --------------------------------------------------

TWO_MASTERS = {
    n for n in EXPECTED if n not in {"override-twice.ics", "override-twice-rid-forms.ics"}
} - {"master-and-overrides.ics"}
"""The files whose one object holds two master VEVENTs with one UID."""


@pytest.mark.caldav
def test_caldav_keeps_the_newer_version_of_what_the_server_stores(
    dav_account: DavAccount,
) -> None:
    # Each file is one object in a calendar of its own (a server refuses a second object with a
    # UID it already holds: RFC 4791 §5.3.2.1 no-uid-conflict). Radicale also refuses an object
    # holding two masters of one UID (400); Xandikos stores it. Both store duplicated overrides.
    stored: dict[str, str] = {}
    for name in sorted(EXPECTED):
        calendar = dav_account.new_calendar(_feed_name(name))
        answer = http_request(
            calendar + name,
            "PUT",
            (CORPUS / name).read_text().replace("\n", "\r\n"),
            {"Content-Type": "text/calendar; charset=utf-8", **dav_account.auth},
        )
        if dav_account.server.kind == "radicale" and name in TWO_MASTERS:
            assert answer.status == 400, (name, answer.status)
            continue
        assert answer.status in (200, 201, 204), (name, answer.status)
        stored[calendar] = name
    result = Syncer(make_config((dav_account.config("dav"),)))()
    assert result.failed_sources == set()
    by_calendar: dict[str, list[Occurrence]] = {c: [] for c in stored}
    for occurrence in result.occurrences:
        by_calendar.setdefault(occurrence.calendar, []).append(occurrence)
    assert {stored[c]: seen(o) for c, o in by_calendar.items() if c in stored} == {
        n: EXPECTED[n] for n in stored.values()
    }
    # The overrides written twice are what every server stores: they were read, not skipped.
    assert {"override-twice.ics", "override-twice-rid-forms.ics"} <= set(stored.values())


def _reversed_components(text: str) -> str:
    """Return the calendar with its VEVENTs in the opposite order (everything else kept)."""
    blocks = re.findall(r"BEGIN:VEVENT\n.*?END:VEVENT\n", text, re.S)
    first = text.index(blocks[0])
    last = text.index(blocks[-1]) + len(blocks[-1])
    return text[:first] + "".join(reversed(blocks)) + text[last:]


REVERSED_EXPECTED: dict[str, Seen] = {
    **EXPECTED,
    # All versions equal: the later in the file wins, and reversed that is the first copy.
    "all-equal-later-in-file.ics": [
        ("2026-05-08T09:00:00Z", "2026-05-08T10:00:00Z", "Sync (first copy)"),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_place_in_the_file_decides_only_when_the_versions_are_equal(name: str) -> None:
    text = _reversed_components((CORPUS / name).read_text())
    assert text.count("BEGIN:VEVENT") == text.count("END:VEVENT") >= 2
    assert text != (CORPUS / name).read_text()
    context = ReadContext(source="feed:versions", calendar=str(CORPUS))
    reading = read_object(text.encode(), SPAN, context, href=name)
    assert reading.warnings == []
    assert seen(reading.occurrences) == REVERSED_EXPECTED[name]
