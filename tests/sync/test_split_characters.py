"""Folds that cut a multi-byte character in two, through every reader (issue 11, kind 1).

The corpus and the right value of each case, worked out from RFC 5545 §3.1 and §3.1.4, are in
tests/corpus/realworld/manifest.toml. Each path that reads iCalendar is run on it for real: the
reader itself, a file feed, a vdir, an .ics URL on a loopback HTTP server, and a CalDAV
calendar on a loopback server that stores raw octets and serves them by GET (Radicale and
Xandikos cannot hold such octets; see tests/fixtures/raw_dav.py).
"""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mendcrm.config.model import Config, FeedConfig
from mendcrm.detection import ContactIndex, detect
from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.octets import decode_calendar, unfold_octets
from mendcrm.model import Contact, Occurrence
from mendcrm.sources import SyncResult
from tests.fixtures.raw_dav import RawDavServer, raw_dav_server  # noqa: F401
from tests.fixtures.servers import FeedServer
from tests.sync.helpers import Syncer, make_config

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "realworld"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "manifest.toml").read_text("utf-8"))["case"]
IDS = [case["file"] for case in CASES]
SPAN = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
ZOE = Contact(id="c-zoe", name="Zoë Brandt", stage="strained")
# An independent statement of §3.1 unfolding, to check the corpus itself.
_RFC_UNFOLD = re.compile(rb"\r?\n[ \t]")


def _raw(case: dict[str, Any]) -> bytes:
    return (CORPUS / case["file"]).read_bytes()


def _check(occurrence: Occurrence, case: dict[str, Any]) -> None:
    """Assert every value the manifest states for ``case``."""
    if "summary" in case:
        assert occurrence.summary == case["summary"], case["file"]
    if "location" in case:
        assert occurrence.location == case["location"], case["file"]
    if "description" in case:
        assert occurrence.description == case["description"], case["file"]
    if "categories" in case:
        assert list(occurrence.categories) == case["categories"], case["file"]
    if "organizer_cn" in case:
        assert occurrence.organizer is not None, case["file"]
        assert occurrence.organizer.cn == case["organizer_cn"], case["file"]
    if "attendee_cns" in case:
        assert [a.cn for a in occurrence.attendees] == case["attendee_cns"], case["file"]
    if "not_utf8" not in case:
        everything = [occurrence.summary, occurrence.location, occurrence.description]
        everything += [a.cn for a in occurrence.attendees] + list(occurrence.categories)
        assert not any("\ufffd" in text for text in everything), case["file"]


def _check_all(occurrences: Iterable[Occurrence], warnings: Sequence[str]) -> None:
    """Assert each case's values in what one sync gave, the one warning, and the encounters."""
    by_uid: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        by_uid.setdefault(occurrence.uid, []).append(occurrence)
    for case in CASES:
        found = by_uid.get(case["uid"], [])
        assert len(found) == 1, case["file"]
        _check(found[0], case)
    expected = [case for case in CASES if "warning" in case]
    assert len(warnings) == len(expected)
    for case, warning in zip(expected, warnings, strict=True):
        assert case["warning"] in warning and "\n" not in warning
    _check_encounters([o for found in by_uid.values() for o in found])


def _check_encounters(occurrences: list[Occurrence]) -> None:
    config = Config()
    encounters = detect(
        occurrences, ContactIndex.build([ZOE]), me=config.me, settings=config.detection
    )
    uids = {occ.uid: occ for occ in occurrences}
    got = {e.occurrence.uid for e in encounters if e.contact_id == ZOE.id}
    wanted = {case["uid"] for case in CASES if case.get("contact") == ZOE.name}
    assert wanted and wanted <= got, {u: uids[u].summary for u in wanted - got}


def _warnings(result: SyncResult) -> list[str]:
    return [w for report in result.reports for w in report.warnings]


def _vevents(data: bytes) -> bytes:
    """Return the VEVENT blocks of one corpus file, octet for octet."""
    start = data.index(b"BEGIN:VEVENT")
    end = data.index(b"END:VEVENT") + len(b"END:VEVENT")
    eol = data[end : end + 2] if data[end : end + 2] == b"\r\n" else data[end : end + 1]
    return data[start:end] + eol


def _feed() -> bytes:
    """Every case in one feed, each event's octets exactly as in its file."""
    body = b"".join(_vevents(_raw(case)) for case in CASES)
    return (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n" + body + b"END:VCALENDAR\r\n"
    )


# -- the corpus and the reader ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_corpus_file_really_cuts_a_character(case: dict[str, Any]) -> None:
    raw = _raw(case)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # a reader decoding before unfolding meets broken characters
    unfolded = _RFC_UNFOLD.sub(b"", raw)
    if case.get("not_utf8"):
        with pytest.raises(UnicodeDecodeError):
            unfolded.decode("utf-8")
    else:
        unfolded.decode("utf-8")  # and unfolding first makes every character whole again
    assert unfold_octets(raw) == unfolded


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_reader_unfolds_octets_before_decoding(case: dict[str, Any]) -> None:
    context = ReadContext(source="feed:corpus", calendar="corpus", zone=ZoneInfo("Europe/Berlin"))
    reading = read_object(_raw(case), SPAN, context, href=case["file"])
    [occurrence] = reading.occurrences
    _check(occurrence, case)
    if "warning" in case:
        [warning] = reading.warnings
        assert case["warning"] in warning and case["file"] in warning
        assert f"UID {case['uid']}:" in warning
        assert "re-export the calendar as UTF-8" in warning
    else:
        assert reading.warnings == []


def test_decoding_reports_where_the_octets_are_not_utf8() -> None:
    latin1 = b"BEGIN:VCALENDAR\r\nSUMMARY;LANGUAGE=de:Gr\xfc\xdfe\r\nEND:VCALENDAR\r\n"
    decoded = decode_calendar(latin1)
    # 0xFC 0xDF are two lone octets in UTF-8: each becomes one U+FFFD (Unicode §3.9 best practice).
    assert (
        decoded.text
        == "BEGIN:VCALENDAR\r\nSUMMARY;LANGUAGE=de:Gr\ufffd\ufffde\r\nEND:VCALENDAR\r\n"
    )
    assert decoded.problem.startswith("not valid UTF-8 in SUMMARY (octet 0xFC at 39 after")
    # A byte order mark is not part of the calendar; a fold before a continuation is removed
    # even with blank lines before it (some writers put them there).
    assert decode_calendar(b"\xef\xbb\xbfA:Zo\xc3\r\n\r\n \xab\n").text == "A:Zoë\n"


# -- every source path ------------------------------------------------------------------------


def test_file_feeds_one_file_and_one_per_case(tmp_path: Path) -> None:
    whole = tmp_path / "all.ics"
    whole.write_bytes(_feed())
    result = Syncer(make_config(feeds=(FeedConfig(name="all", path=whole),)))()
    _check_all(result.occurrences, _warnings(result))

    feeds = []
    for case in CASES:
        path = tmp_path / case["file"]
        shutil.copyfile(CORPUS / case["file"], path)
        feeds.append(FeedConfig(name=case["file"], path=path))
    result = Syncer(make_config(feeds=tuple(feeds)))()
    _check_all(result.occurrences, _warnings(result))


def test_vdir_feed(tmp_path: Path) -> None:
    folder = tmp_path / "vdir"
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("*.toml"))
    result = Syncer(make_config(feeds=(FeedConfig(name="vdir", path=folder),)))()
    _check_all(result.occurrences, _warnings(result))
    assert "latin1-not-utf8.ics" in _warnings(result)[0]  # the warning names the file


def test_url_feed_on_loopback(feed_server: FeedServer) -> None:
    url = feed_server.publish("split.ics", _feed())
    result = Syncer(make_config(feeds=(FeedConfig(name="split", url=url),)))()
    assert feed_server.requests()[-1][2] == 200
    _check_all(result.occurrences, _warnings(result))


def test_caldav_objects_fetched_one_by_one(raw_dav_server: RawDavServer) -> None:  # noqa: F811
    for case in CASES:
        raw_dav_server.store(case["file"], _raw(case))
    # One object that is UTF-8 as stored comes inside the multiget's XML, as from any server.
    plain = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:plain@realworld.test\r\n"
    plain += b"DTSTART:20260505T150000Z\r\nSUMMARY:Zo\xc3\xab Brandt\\, tea\r\nEND:VEVENT\r\n"
    raw_dav_server.store("plain.ics", plain + b"END:VCALENDAR\r\n")
    sync = Syncer(make_config(accounts=(raw_dav_server.account(),)))

    result = sync()
    assert [r.error for r in result.reports] == [""]
    warnings = _warnings(result)
    # This server cannot filter by time (501), so MendCRM says it read every object.
    assert sum("could not filter by time" in w for w in warnings) == 1
    _check_all(
        [o for o in result.occurrences if o.uid != "plain@realworld.test"],
        [w for w in warnings if "could not filter by time" not in w],
    )
    [plain_occ] = [o for o in result.occurrences if o.uid == "plain@realworld.test"]
    assert plain_occ.summary == "Zoë Brandt, tea"
    # Every object that is not UTF-8 as stored came by GET, and only those.
    got = {path.rsplit("/", 1)[-1] for method, path in raw_dav_server.requests() if method == "GET"}
    assert got == {case["file"] for case in CASES}
    assert "latin1-not-utf8.ics" in next(w for w in warnings if "UTF-8" in w)

    # A later pass with nothing changed fetches nothing again (the ETags from the GETs held).
    before = len(raw_dav_server.requests())
    again = sync()
    assert not [m for m, _ in raw_dav_server.requests()[before:] if m in ("GET", "REPORT")]
    assert sorted(o.uid for o in again.occurrences) == sorted(o.uid for o in result.occurrences)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"], ids=["LS", "PS", "NEL"])
def test_unicode_line_separators_inside_a_value_are_text(separator: str) -> None:
    # RFC 5545 §3.1 ends a content line at CRLF only; U+2028, U+2029 and U+0085 are NON-US-ASCII
    # characters that TEXT may hold (§3.3.11), as text pasted from other apps does. Splitting the
    # decoded text at every Unicode line boundary read "Lunch" alone and missed the person.
    data = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ls@realworld.test\r\nDTSTART:20260505T100000Z\r\n"
        f"SUMMARY:Lunch{separator}with Zo\xeb Brandt\r\nLOCATION:Kantine{separator}Nord\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    context = ReadContext(source="feed:corpus", calendar="corpus")
    reading = read_object(data, SPAN, context, href="ls.ics")
    [occurrence] = reading.occurrences
    assert occurrence.summary == f"Lunch{separator}with Zoë Brandt"
    assert occurrence.location == f"Kantine{separator}Nord"
    assert reading.warnings == []
    config = Config()
    [found] = detect(
        [occurrence], ContactIndex.build([ZOE]), me=config.me, settings=config.detection
    )
    assert found.contact_id == ZOE.id
