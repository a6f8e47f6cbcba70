"""The reader's shortcuts give what the general way gives: the custom-zone cache, and the fast
splits of octets, lines and parameters (each checked against the general way it stands for)."""

from __future__ import annotations

import dataclasses
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mendcrm.events.reader as reader
from bench.generate import generate_calendar
from mendcrm.events import ReadContext, Span, customzones, read_object
from mendcrm.events.contentlines import parse_params, physical_lines, property_name
from mendcrm.events.octets import unfold_octets
from mendcrm.model import Occurrence
from mendcrm.sources.state import entry_occurrences, make_entry
from tests.sync.test_corpus import FILES

CONTEXT = ReadContext(source="feed:x", calendar="x", zone=ZoneInfo("Europe/Berlin"))
WIDE = Span(datetime(1970, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
REALWORLD = sorted((Path(__file__).parents[1] / "corpus" / "realworld").rglob("*.ics"))


def _read(data: bytes) -> tuple[list, list, list, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reading = read_object(data, WIDE, CONTEXT, href="h")
    versions = [o.version for o in reading.occurrences]  # left out of Occurrence equality
    return reading.occurrences, versions, reading.warnings, reading.recurring


# -- custom VTIMEZONEs, built once per definition --------------------------------------------


def _custom(offset: str, tzid: str = "Customized Time Zone", uid: str = "u1") -> bytes:
    """One meeting at 10:00 local time on 1 June 2026 in a zone the database does not know,
    whose only observance puts it ``offset`` from UTC all year (RFC 5545 §3.6.5: TZOFFSETTO is
    the offset in use during the observance)."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        f"TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;TZID={tzid}:20260601T100000\r\n"
        f"DTEND;TZID={tzid}:20260601T110000\r\nSUMMARY:Sync\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the zones icalendar builds from a VTIMEZONE (its ``to_tz``), by TZID."""
    customzones.forget_zones()
    built: list[str] = []
    original = icalendar.Timezone.to_tz

    def counting(self: icalendar.Timezone, *args: object, **kwargs: object) -> object:
        built.append(str(self["TZID"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(icalendar.Timezone, "to_tz", counting)
    yield built
    customzones.forget_zones()


def test_one_definition_is_built_once_and_reads_the_same(builds: list[str]) -> None:
    data = _custom("+0100")
    first = _read(data)
    again = _read(data)
    assert builds == ["Customized Time Zone"]  # the second object took the cached zone
    assert first == again
    # 10:00 at +01:00 is 09:00 UTC; the meeting lasts the hour DTEND gives.
    [occurrence] = first[0]
    assert (occurrence.start, occurrence.end) == (
        datetime(2026, 6, 1, 9, tzinfo=UTC),
        datetime(2026, 6, 1, 10, tzinfo=UTC),
    )


@pytest.mark.parametrize(("offset", "hour"), [("+0100", 9), ("+0900", 1), ("-0500", 15)])
def test_the_same_tzid_defined_otherwise_keeps_its_own_offset(
    builds: list[str], offset: str, hour: int
) -> None:
    # Outlook names every edited zone "Customized Time Zone": the cache is keyed by the whole
    # definition, so each object is read in its own (10:00 local − offset = the UTC hour).
    other = _custom("+0300", uid="other")
    for data in (_custom(offset), other, _custom(offset), other):
        [occurrence] = _read(data)[0]
        expected = 7 if data is other else hour  # 10:00 at +03:00 is 07:00 UTC
        assert occurrence.start == datetime(2026, 6, 1, expected, tzinfo=UTC)
    assert len(builds) == 2  # one build per definition, not per object


def test_the_cache_is_bounded(builds: list[str]) -> None:
    for minutes in range(customzones.CACHED_ZONES + 5):
        _read(_custom(f"+01{minutes % 60:02d}", tzid=f"Zone {minutes}"))
    assert len(customzones._ZONES) == customzones.CACHED_ZONES


@pytest.mark.parametrize(
    "tzid_line",
    [
        "TZID;X-VENDOR=1:Customized Time Zone",  # a parameter: the TZID icalendar keys is not plain
        "TZID:Customized\\, Time Zone",  # an escape: likewise
    ],
)
def test_a_block_written_otherwise_is_left_to_icalendar(builds: list[str], tzid_line: str) -> None:
    data = _custom("+0100").replace(b"TZID:Customized Time Zone", tzid_line.encode())
    assert _read(data) == _read(data)
    assert len(builds) == 2  # built for each object, as without the cache


def _with_zones(paths: list[Path]) -> list[Path]:
    return [p for p in paths if b"BEGIN:VTIMEZONE" in p.read_bytes().upper()]


@pytest.mark.skipif(not FILES, reason="the shared corpus is not beside the checkout")
def test_cached_zones_read_as_fresh_ones_on_the_corpus(builds: list[str]) -> None:
    # Every file read with its zones built afresh, then again with them cached (and with
    # another file's zones read in between), must give the same occurrences and warnings.
    files = _with_zones([*FILES, *REALWORLD])
    assert len(files) >= 20
    cold = {}
    for path in files:
        customzones.forget_zones()
        cold[path] = _read(path.read_bytes())
    for path in files:
        _read(path.read_bytes())
    for path in reversed(files):
        assert _read(path.read_bytes()) == cold[path], path.name
    assert customzones._ZONES  # the corpus does hold zones the database does not know


# -- the fast splits agree with the general ones ---------------------------------------------

_FOLD = re.compile(rb"(?:\r?\n)+[ \t]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

octets = st.lists(
    st.sampled_from([b"\r\n", b"\n", b"\r", b" ", b"\t", b"A", b"\xc3", b"\xab", b"\r\n "]),
    max_size=40,
).map(b"".join)


@settings(max_examples=600)
@given(octets)
def test_unfolding_matches_the_rfc_pattern(data: bytes) -> None:
    # RFC 5545 §3.1: a line break followed by one space or tab is removed (blank lines just
    # before a continuation with it); the shortcut for CRLF-only and LF-only text must agree.
    assert unfold_octets(data) == _FOLD.sub(b"", data)


@settings(max_examples=600)
@given(octets.map(lambda b: b.decode("utf-8", "replace")))
def test_physical_lines_match_the_line_break_pattern(text: str) -> None:
    trimmed = text.removesuffix("\r\n").removesuffix("\n").removesuffix("\r")
    assert physical_lines(text) == _LINE_BREAK.split(trimmed)


def _params_general(line: str) -> tuple[dict[str, str], str]:
    """The general reading: walk the line, quotes protecting ``;`` and ``:`` (RFC 5545 §3.1)."""
    quoted, start, parts, value = False, 0, [], ""
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in ";:":
            parts.append(line[start:index])
            start = index + 1
            if char == ":":
                value = line[index + 1 :]
                break
    else:
        parts.append(line[start:])
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, _, raw = part.partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1]
        params[key.strip().upper()] = raw
    return params, value


@settings(max_examples=600)
@given(st.text(alphabet='AB;:="^, ', max_size=30))
def test_parameters_split_as_the_general_reading(line: str) -> None:
    params, value = parse_params(line)
    expected, expected_value = _params_general(line)
    assert value == expected_value
    # Caret escapes (RFC 6868) are decoded after the split, by both.
    assert params.keys() == expected.keys()
    for key, raw in expected.items():
        if "^" not in raw:
            assert params[key] == raw


def _name_general(line: str) -> str:
    """The name ends at the first ``;`` or ``:``, whichever comes first (RFC 5545 §3.1)."""
    cut = min((i for i in (line.find(";"), line.find(":")) if i >= 0), default=len(line))
    return line[:cut].strip().upper()


@settings(max_examples=600)
@given(st.text(alphabet="aB;: -\t", max_size=20))
def test_property_names_end_where_the_general_reading_ends_them(line: str) -> None:
    assert property_name(line) == _name_general(line)


# -- what the sync stores of a reading ---------------------------------------------------------


def _payload_general(occurrence: Occurrence) -> dict[str, object]:
    """The general encoding: the record, identity fields and defaults left out, each person as a
    list of its fields with trailing defaults left out."""
    defaults = {"cn": "", "partstat": "NEEDS-ACTION", "role": "REQ-PARTICIPANT"}

    def person(record: dict[str, str]) -> list[str]:
        values = [record["email"], record["cn"], record["partstat"], record["role"]]
        names = ["email", "cn", "partstat", "role"]
        while values and defaults.get(names[len(values) - 1]) == values[-1]:
            values.pop()
        return values

    identity = {"source", "calendar", "calendar_name", "href", "etag", "start", "end"}
    record = {
        k: v for k, v in occurrence.to_record().items() if k not in identity | {"recurrence_id"}
    }
    if record.get("organizer"):
        record["organizer"] = person(record["organizer"])
    if record.get("attendees"):
        record["attendees"] = [person(a) for a in record["attendees"]]
    empty = Occurrence(source="", calendar="", href="", uid="", start=WIDE.start, end=WIDE.end)
    blank = empty.to_record()
    return {k: v for k, v in record.items() if k == "uid" or blank.get(k) != v}


def test_stored_payloads_are_the_records_general_encoding_and_read_back() -> None:
    # Every distinct variant of an object's shared fields is stored once, in order of first
    # appearance, as the general encoding gives it.
    datas = [o.ics.encode() for o in generate_calendar(300, seed=11, recurring_share=0.4)]
    datas += [p.read_bytes() for p in [*FILES, *REALWORLD]]
    checked = 0
    for data in datas:
        occurrences = _read(data)[0]
        entry = make_entry("e", occurrences)
        variants: list[dict[str, object]] = []
        for occurrence in occurrences:
            payload = _payload_general(occurrence)
            if payload not in variants:
                variants.append(payload)
        assert entry["p"] == variants
        # And the occurrences come back from the entry as they were read.
        back = entry_occurrences(
            make_entry("", occurrences), href="h", source="feed:x", calendar="x", calendar_name=""
        )
        assert back == occurrences
        assert [o.version for o in back] == [o.version for o in occurrences]
        checked += len(occurrences)
    assert checked > 1000


# -- a lone event is read directly, not expanded -----------------------------------------------


def _expanded(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list, list]:
    """Read ``data`` with every component sent through recurring-ical-events (the general way
    for series), by counting DTSTART as a recurrence property."""
    with monkeypatch.context() as patched:
        patched.setattr(reader, "RECURRENCE_PROPS", (*reader.RECURRENCE_PROPS, "DTSTART"))
        occurrences, versions, found, _ = _read(data)
    return occurrences, versions, found


def _identity_free(occurrences: list[Occurrence]) -> list[Occurrence]:
    # A series names each instance by its RECURRENCE-ID, a lone event by its start as written
    # (local_key) or nothing: the identities differ by design, the occurrences must not.
    return [dataclasses.replace(o, recurrence_id=None, local_key=None) for o in occurrences]


_LONE = {
    "all-day, no DTEND (one day, §3.6.1)": "DTSTART;VALUE=DATE:20260601",
    "all-day over two days": "DTSTART;VALUE=DATE:20260601\r\nDTEND;VALUE=DATE:20260603",
    "floating": "DTSTART:20260601T100000\r\nDTEND:20260601T103000",
    "DURATION": "DTSTART:20260601T100000Z\r\nDURATION:PT45M",
    "no DTEND, a date-time (an instant, §3.6.1)": "DTSTART:20260601T100000Z",
    "Windows zone name": (
        "DTSTART;TZID=W. Europe Standard Time:20260601T100000\r\n"
        "DTEND;TZID=W. Europe Standard Time:20260601T110000"
    ),
    "zoned": "DTSTART;TZID=America/New_York:20260601T100000\r\nDURATION:P1DT2H",
    "DTEND before DTSTART": "DTSTART:20260601T100000Z\r\nDTEND:20260601T090000Z",
    "all-day with a time DURATION": "DTSTART;VALUE=DATE:20260601\r\nDURATION:PT36H",
    "cancelled (withdrawn: no occurrence)": "DTSTART:20260601T100000Z\r\nSTATUS:CANCELLED",
}


@pytest.mark.parametrize("times", list(_LONE.values()), ids=list(_LONE))
def test_a_lone_event_reads_as_its_expansion(times: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:lone\r\nSUMMARY:Talk\r\n"
        f"{times}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    direct, versions, warned, recurring = _read(data)
    expanded, versions_expanded, warned_expanded = _expanded(data, monkeypatch)
    assert not recurring and len(direct) == (0 if "CANCELLED" in times else 1)
    assert _identity_free(direct) == _identity_free(expanded)
    assert (versions, warned) == (versions_expanded, warned_expanded)


def test_lone_events_read_as_their_expansion_on_generated_and_real_calendars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    datas = [o.ics.encode() for o in generate_calendar(400, seed=5, recurring_share=0.0)]
    datas += [p.read_bytes() for p in [*FILES, *REALWORLD]]
    compared = 0
    for data in datas:
        direct, versions, warned, recurring = _read(data)
        if recurring or not direct:
            continue
        expanded, versions_expanded, warned_expanded = _expanded(data, monkeypatch)
        if any("unreadable event" in w for w in warned_expanded):
            # The expansion library fails where the direct reading copes: a DTSTART written
            # twice (the first wins, as most clients read it), a DURATION too large to hold
            # (read as absent). Three such files in the corpus; the lone event is still read.
            assert direct and not warned
            continue
        assert _identity_free(direct) == _identity_free(expanded), data[:200]
        assert versions == versions_expanded, data[:200]
        assert sorted(warned) == sorted(warned_expanded), data[:200]
        compared += 1
    assert compared > 300
