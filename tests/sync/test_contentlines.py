"""The descriptive-property reader agrees with icalendar, and its pieces follow the RFCs."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

import mendcrm.events.reader as reader
from bench.generate import generate_calendar
from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.contentlines import (
    logical_lines,
    parse_params,
    property_name,
    split_descriptive,
    split_list,
    unescape_text,
)
from mendcrm.vcard import parse_vcards
from tests.sync.test_corpus import FILES

CONTEXT = ReadContext(
    source="feed:x",
    calendar="x",
    zone=ZoneInfo("Europe/Berlin"),
    my_emails=frozenset({"me@example.com"}),
)
WIDE = Span(datetime(1970, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))


def test_parameters_quoted_and_caret_escaped() -> None:
    params, value = parse_params(
        "ATTENDEE;CN=\"Doe; Jane: ^'J^'\";PARTSTAT=ACCEPTED:mailto:j@x.org"
    )
    assert params == {"CN": 'Doe; Jane: "J"', "PARTSTAT": "ACCEPTED"}
    assert value == "mailto:j@x.org"
    assert parse_params("SUMMARY:a:b;c") == ({}, "a:b;c")


def test_text_escapes_and_lists() -> None:
    assert unescape_text(r"a\, b\; c\\ d\nE\N") == "a, b; c\\ d\nE\n"
    assert split_list(r"one,two\, still two,three") == ["one", "two, still two", "three"]


def test_split_keeps_times_for_icalendar_and_folds_lines() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nSUMMARY:long\r\n  folded\r\n"
        "DTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    split = split_descriptive(text)
    assert "SUMMARY" not in split.timing and "DTSTART:20260101T000000Z" in split.timing
    assert split.events[0].uid == "u" and split.events[0].props["SUMMARY"] == [({}, "long folded")]


def _both_ways(given: bytes | str, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    data = given if isinstance(given, bytes) else given.encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = read_object(data, WIDE, CONTEXT, href="h")
        with monkeypatch.context() as patched:
            patched.setattr(reader, "_pair", lambda events, described: None)
            slow = read_object(data, WIDE, CONTEXT, href="h")
    return [fast.occurrences, sorted(fast.warnings)], [slow.occurrences, sorted(slow.warnings)]


@pytest.mark.skipif(not FILES, reason="the shared corpus is not beside the checkout")
def test_same_occurrences_as_icalendar_on_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in FILES:
        fast, slow = _both_ways(path.read_bytes(), monkeypatch)
        assert fast == slow, path.name


def test_same_occurrences_as_icalendar_on_generated_meetings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for obj in generate_calendar(150, seed=7, recurring_share=0.3):
        fast, slow = _both_ways(obj.ics, monkeypatch)
        assert fast == slow, obj.uid


def test_rfc_6868_and_escapes_agree_with_icalendar(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:r\nDTSTART:20260505T100000Z\n"
        "SUMMARY:Plan\\, review\\; decide\nDESCRIPTION:a\\nb\n"
        "CATEGORIES:One,Two\\,2\nCATEGORIES:Three\n"
        "ORGANIZER;CN=\"Smith, ^'Al^'\":MAILTO:al@x.org\n"
        "ATTENDEE;CN=Bo^nb;PARTSTAT=tentative;ROLE=chair:mailto:BO@x.org\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    fast, slow = _both_ways(text, monkeypatch)
    assert fast == slow
    [occurrence] = fast[0]
    assert occurrence.summary == "Plan, review; decide"
    assert occurrence.categories == ("One", "Two,2", "Three")
    assert occurrence.organizer is not None and occurrence.organizer.cn == 'Smith, "Al"'


def test_logical_lines_unfold_space_and_tab_continuations_and_drop_empty_lines() -> None:
    physical = ["BEGIN:VEVENT", "SUMMARY:Lo", " ng", "\tend", "", "UID:x", " 1", "END:VEVENT"]
    assert logical_lines(physical) == ["BEGIN:VEVENT", "SUMMARY:Longend", "UID:x1", "END:VEVENT"]
    assert logical_lines("A:1\r\n 2\r\nB:3\r\n".splitlines()) == ["A:12", "B:3"]


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("summary;LANGUAGE=en:x", "SUMMARY"),
        ("X-MENDCRM-ID:abc;def", "X-MENDCRM-ID"),
        ("DESCRIPTION", "DESCRIPTION"),
        (" attendee :mailto:a@b", "ATTENDEE"),
    ],
)
def test_property_name(line: str, name: str) -> None:
    assert property_name(line) == name


def test_vcard_and_icalendar_text_escapes_agree_on_the_defined_escapes() -> None:
    # vCard keeps its own unescaping only for escapes neither standard defines (see vcard.py).
    value = "a\\nb\\Nc\\,d\\;e\\\\f"
    cards, _ = parse_vcards(f"BEGIN:VCARD\nFN:Ana\nNOTE:{value}\nEND:VCARD\n")
    assert cards[0].note == unescape_text(value) == "a\nb\nc,d;e\\f"
