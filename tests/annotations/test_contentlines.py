"""Editing raw calendar text: the block and X-MENDCRM lines change, nothing else does."""

from __future__ import annotations

import pytest

from mendcrm.annotations.contentlines import (
    NotEditable,
    annotation_lines,
    split,
)
from mendcrm.annotations.contentlines import set_annotation as set_octets
from mendcrm.annotations.markers import block_of, make_block, strip_block

# Folded at odd places, other clients' properties, an alarm with its own DESCRIPTION, tabs.
ODD = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//Some Client//EN\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:odd-1\r\n"
    "DTSTAMP:20250301T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20250304T100000\r\n"
    "DTEND;TZID=Europe/Berlin:20250304T110000\r\n"
    "SUMMARY:Coffee\r\n"
    "DESCRIPTION;LANGUAGE=en:Bring the roadmap\\, and the review no\r\n"
    "\ttes\\; ask about Q3.\\nSecond line — ünïcödé\r\n"
    'X-OTHER-CLIENT;X-P="a:b":keep me\r\n'
    "SEQUENCE:3\r\n"
    "BEGIN:VALARM\r\n"
    "ACTION:DISPLAY\r\n"
    "DESCRIPTION:Reminder\r\n"
    "TRIGGER:-PT15M\r\n"
    "END:VALARM\r\n"
    "X-AFTER-ALARM:also kept\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
BLOCK = make_block(["Prep note ready: Robert Hale, and more; text"])
LINES = ["X-MENDCRM-ENCOUNTER:enc-1"]


def set_annotation(text: str, block: str | None, lines: list[str]) -> str:
    # These cases are valid UTF-8 throughout, so text in and text out loses nothing; the octet
    # cases (folds that cut a character) are in test_octet_edits.py.
    return set_octets(text.encode(), block, lines).decode()


def _description(text: str) -> str:
    return next(p.logical.decode() for p in split(text.encode()) if p.name == "DESCRIPTION")


def test_adding_keeps_every_other_byte_and_the_original_physical_lines() -> None:
    out = set_annotation(ODD, BLOCK, LINES)
    # The original DESCRIPTION lines survive verbatim; the block follows as continuation lines.
    assert "DESCRIPTION;LANGUAGE=en:Bring the roadmap\\, and the review no\r\n\ttes\\; ask" in out
    assert _description(out).endswith(
        "Second line — ünïcödé\\n\\n--- MendCRM ---\\nPrep note ready: Robert Hale\\, and more\\; "
        "text\\n--- end MendCRM ---"
    )
    assert annotation_lines(out.encode()) == LINES
    # Properties go before the first sub-component, as RFC 5545 orders them.
    assert out.index("X-MENDCRM-ENCOUNTER") < out.index("BEGIN:VALARM")
    assert "SEQUENCE:3\r\n" in out
    assert all(len(line.encode()) <= 75 for line in out.split("\r\n"))
    # Removing gives back the very bytes we started from.
    assert set_annotation(out, None, []) == ODD


def test_applying_twice_changes_nothing_and_updates_replace() -> None:
    once = set_annotation(ODD, BLOCK, LINES)
    assert set_annotation(once, BLOCK, LINES) == once
    other = make_block(["Prep note ready: Ada Park"])
    updated = set_annotation(once, other, ["X-MENDCRM-ENCOUNTER:enc-2"])
    assert "Robert" not in updated and "Ada Park" in updated
    assert annotation_lines(updated.encode()) == ["X-MENDCRM-ENCOUNTER:enc-2"]
    assert set_annotation(updated, None, []) == ODD


def test_event_without_description_gets_one_and_loses_it_again() -> None:
    text = ODD.replace(
        "DESCRIPTION;LANGUAGE=en:Bring the roadmap\\, and the review no\r\n"
        "\ttes\\; ask about Q3.\\nSecond line — ünïcödé\r\n",
        "",
    )
    out = set_annotation(text, BLOCK, LINES)
    assert (
        _description(out) == "DESCRIPTION:--- MendCRM ---\\nPrep note ready: Robert Hale\\, "
        "and more\\; text\\n--- end MendCRM ---"
    )
    assert set_annotation(out, None, []) == text


def test_line_feeds_only_and_user_newlines_before_the_block_are_kept() -> None:
    text = ODD.replace("\r\n", "\n").replace("ünïcödé\n", "ünïcödé\\n\n")
    out = set_annotation(text, BLOCK, LINES)
    assert "\r" not in out
    assert set_annotation(out, None, []) == text


def test_server_refolded_block_is_still_found() -> None:
    out = set_annotation(ODD, BLOCK, LINES)
    # Another client unfolds and refolds every line at 60 octets, cutting characters in two.
    refolded = b"".join(
        b"\r\n ".join(p.logical[i : i + 60] for i in range(0, len(p.logical), 60)) + b"\r\n"
        for p in split(out.encode())
    )
    cleared = set_octets(refolded, None, []).replace(b"\r\n ", b"").decode()
    assert "MendCRM" not in cleared and "X-MENDCRM" not in cleared
    assert "Second line — ünïcödé" in cleared


def test_recurring_series_with_exceptions_is_not_editable() -> None:
    two = ODD.replace(
        "END:VEVENT\r\n",
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:odd-1\r\n"
        "RECURRENCE-ID:20250311T090000Z\r\nEND:VEVENT\r\n",
        1,
    )
    with pytest.raises(NotEditable):
        set_annotation(two, BLOCK, LINES)


def test_detection_sees_the_description_without_the_block() -> None:
    plain = "Agenda: roadmap, budget"
    annotated = plain + "\n\n" + BLOCK
    assert strip_block(annotated) == plain
    assert strip_block(BLOCK) == ""
    assert block_of(annotated) == BLOCK
    assert strip_block(plain) == plain
