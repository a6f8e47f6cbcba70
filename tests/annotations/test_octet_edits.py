"""The inline block's read–modify–write gives back the user's own octets unchanged (issue 11).

The user's event comes from a writer that folds at 75 octets and cuts characters in two
(RFC 5545 §3.1 allows the fold anywhere; unfolding restores the octets). MendCRM must not
decode, repair or refold any of that: outside its own block and X-MENDCRM lines every octet is
written back as read. Checked on the function that edits the octets and over the wire, on a
loopback server that stores exactly what is PUT (Radicale would re-encode the body).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from mendcrm.annotations import inline
from mendcrm.annotations.contentlines import set_annotation
from mendcrm.annotations.markers import make_block
from mendcrm.events import ReadContext, Span, read_object
from mendcrm.sources.transport import Transport
from tests.fixtures.raw_dav import RawDavServer, raw_dav_server  # noqa: F401

BLOCK = make_block(["Prep note ready: Zoë Brandt"])
OTHER = make_block(["Follow-up due: Zoë Brandt, tomorrow"])
LINES = ["X-MENDCRM-ENCOUNTER:enc-1"]
ME = ["me@example.com"]
# The user's DESCRIPTION, folded by an octet-counting writer: the first fold cuts "ë" (0xC3 |
# 0xAB), the second cuts "€" after its second octet (0xE2 0x82 | 0xAC), with a TAB continuation.
USER_DESCRIPTION = (
    b"DESCRIPTION:Lunch with Zo\xc3\r\n"
    b" \xab Brandt at the Kantine\\, about 12 \xe2\x82\r\n"
    b"\t\xac each\r\n"
)
USER_TEXT = "Lunch with Zoë Brandt at the Kantine, about 12 € each"
HEAD = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Octet Writer//EN\r\nBEGIN:VEVENT\r\n"
    b"UID:solo@octets.test\r\nDTSTAMP:20260401T000000Z\r\n"
    b"DTSTART:20260505T100000Z\r\nDTEND:20260505T110000Z\r\n"
    b"SUMMARY:Lunch with Zo\xc3\r\n \xab\r\n"
    b'X-OTHER-CLIENT;X-P="a:b":keep m\xc3\r\n \xa9\r\n'
)
# MendCRM's X-MENDCRM lines go just before the first sub-component, the alarm.
TAIL = (
    b"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Erinnerung \xe2\x80\r\n \x94 bald\r\n"
    b"TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
EVENT = HEAD + USER_DESCRIPTION + TAIL


def _read(data: bytes) -> tuple[str, str]:
    """Return (SUMMARY, DESCRIPTION) as the reader sees them."""
    span = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    reading = read_object(data, span, ReadContext(source="t", calendar="t"), href="solo")
    assert reading.warnings == []
    [occurrence] = reading.occurrences
    return occurrence.summary, occurrence.description


def _ours(added: bytes) -> None:
    """Assert that octets MendCRM added are only continuation lines of DESCRIPTION and
    X-MENDCRM lines, each within 75 octets and never cutting a character of its own."""
    lines = re.findall(rb"[^\r\n]*(?:\r\n|\n)", added)
    assert b"".join(lines) == added
    for line in lines:
        body = line.rstrip(b"\r\n")
        assert len(body) <= 75
        assert body.startswith((b" ", b"X-MENDCRM-"))
        body.lstrip(b" ").decode("utf-8")  # whole characters: MendCRM's text is its own


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_adding_updating_and_removing_keep_every_user_octet(eol: bytes) -> None:
    event = EVENT.replace(b"\r\n", eol)
    head, user, tail = (part.replace(b"\r\n", eol) for part in (HEAD, USER_DESCRIPTION, TAIL))

    out = set_annotation(event, BLOCK, LINES)
    # Byte for byte: the user's octets up to the end of their DESCRIPTION, then only what
    # MendCRM adds, then the rest of the user's octets (alarm included).
    assert out.startswith(head + user) and out.endswith(tail)
    _ours(out[len(head + user) : len(out) - len(tail)])
    assert eol != b"\n" or b"\r" not in out
    # RFC 5545 §3.1 unfolding restores "Zoë" and "€"; the block follows after a blank line.
    assert _read(out) == ("Lunch with Zoë", USER_TEXT + "\n\n" + BLOCK)

    updated = set_annotation(out, OTHER, LINES)
    assert updated.startswith(head + user) and updated.endswith(tail)
    assert _read(updated)[1] == USER_TEXT + "\n\n" + OTHER
    assert set_annotation(updated, OTHER, LINES) == updated

    assert set_annotation(updated, None, []) == event
    assert set_annotation(out, None, []) == event


def test_a_block_refolded_onto_the_users_cut_character_keeps_the_users_octets() -> None:
    # Another client refolded at 75 octets: the line with the second half of the user's "ë" also
    # holds the start of MendCRM's block, so that line cannot be kept whole when the block
    # changes. The user's octets must still come back in order, the first line untouched, and
    # the lone 0xAB must stay right after the fold, where unfolding joins it to 0xC3 again.
    first = b"DESCRIPTION:Lunch with Zo\xc3\r\n"
    second = b" \xab Brandt\\n\\n--- MendCRM ---\\nPrep note ready: Zo\xc3\xab Brandt\\n--- en\r\n"
    third = b" d MendCRM ---\r\n"
    event = HEAD + first + second + third + TAIL
    assert _read(event)[1] == "Lunch with Zoë Brandt\n\n" + BLOCK

    out = set_annotation(event, OTHER, LINES)
    assert out.startswith(HEAD + first + b" \xab Brandt\\n\\n--- MendCRM ---")
    assert out.endswith(TAIL)
    assert _read(out)[1] == "Lunch with Zoë Brandt\n\n" + OTHER
    cleared = set_annotation(out, None, [])
    assert cleared == HEAD + first + b" \xab Brandt\r\n" + TAIL


def test_inline_write_over_the_wire_gives_back_the_users_octets(
    raw_dav_server: RawDavServer,  # noqa: F811
) -> None:
    path = raw_dav_server.store("solo.ics", EVENT)
    url = raw_dav_server.url + "solo.ics"
    transport = Transport(url, where="account 'raw'", sleep=lambda _: None)
    found = [raw_dav_server.url]  # the calendar the object belongs to
    try:
        written = inline.write(transport, url, BLOCK, LINES, ME, collections=found)
        assert written.status == "written"
        stored = raw_dav_server.objects[path]
        assert stored.startswith(HEAD + USER_DESCRIPTION) and stored.endswith(TAIL)
        _ours(stored[len(HEAD + USER_DESCRIPTION) : len(stored) - len(TAIL)])
        assert _read(stored) == ("Lunch with Zoë", USER_TEXT + "\n\n" + BLOCK)

        assert inline.write(transport, url, BLOCK, LINES, ME, collections=found).status == (
            "unchanged"
        )
        assert inline.write(transport, url, None, [], ME, collections=found).status == "written"
    finally:
        transport.close()
    # Removed again: the very octets the user's client stored, folds and cut characters included.
    assert raw_dav_server.objects[path] == EVENT
    assert [m for m, _ in raw_dav_server.requests()] == ["GET", "PUT", "GET", "GET", "PUT"]
