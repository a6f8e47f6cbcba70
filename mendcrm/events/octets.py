"""iCalendar octets → text: unfold first, at the octet level, then decode once.

RFC 5545 §3.1 folds content lines at 75 *octets*, and says unfolding restores "the original
octet sequence". A writer that counts octets (ical.js, several Exchange versions) may therefore
cut a multi-byte UTF-8 character in two: ``Zo<C3>`` CRLF SPACE ``<AB>e``. Decoding each
physical line first turns both halves into U+FFFD; removing the CRLF + SPACE first gives back
``Zo<C3><AB>e`` = "Zoë". So every path that reads iCalendar hands its raw bytes here.

Charset (RFC 5545 §3.1.4, §8.1): an iCalendar stream is UTF-8, and there is no parameter that
could declare another charset for a value. Octets that are still not UTF-8 after unfolding are
decoded with U+FFFD in their place and reported in one warning naming the object and the
property. No fallback charset (cp1252, Latin-1) is guessed: a guess applied to a file that is
UTF-8 with one damaged byte would turn every correct "ë" into "Ã«", and a guessed name that
*looks* right would hide the problem the warning exists to show; re-exporting the calendar as
UTF-8 is the fix the warning names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
# A line break (CRLF or a bare LF, which many writers use) followed by one space or tab is a
# fold (RFC 5545 §3.1). Empty lines just before a continuation are dropped with it: some writers
# put them inside folded properties, and a continuation cannot start a content line.
_FOLD = re.compile(rb"(?:\r?\n)+[ \t]")


def unfold_octets(data: bytes) -> bytes:
    """Given iCalendar octets, return them unfolded (RFC 5545 §3.1): every CRLF or LF followed
    by one space or tab removed, so characters split by a fold are whole again."""
    if b"\n " not in data and b"\n\t" not in data:
        return data  # nothing folded: every fold ends in a line feed and a space or tab
    # The usual shapes (CRLF throughout, or LF only) without blank lines: every fold is one line
    # break and one space or tab, so removing those pairs is the same as the pattern and faster.
    if b"\r" not in data:
        if b"\n\n" not in data:
            return data.replace(b"\n ", b"").replace(b"\n\t", b"")
    elif b"\r\n\r\n" not in data and (
        data.count(b"\r\n") == data.count(b"\r") == data.count(b"\n")
    ):
        return data.replace(b"\r\n ", b"").replace(b"\r\n\t", b"")
    return _FOLD.sub(b"", data)


@dataclass(frozen=True, slots=True)
class Decoded:
    """Unfolded iCalendar text, and what was wrong with its octets (empty if nothing)."""

    text: str
    problem: str = ""


def decode_calendar(data: bytes) -> Decoded:
    """Given one calendar object's raw octets, return its text: BOM dropped, unfolded at the
    octet level (RFC 5545 §3.1), then decoded once as UTF-8 (§3.1.4). Octets that are not UTF-8
    even then become U+FFFD and ``problem`` names the property and octet where it happened."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    unfolded = unfold_octets(data)
    try:
        return Decoded(unfolded.decode("utf-8"))
    except UnicodeDecodeError as exc:
        text = unfolded.decode("utf-8", errors="replace")
        head = unfolded[
            max(unfolded.rfind(b"\n", 0, exc.start), unfolded.rfind(b"\r", 0, exc.start))
            + 1 : exc.start
        ]
        name = re.split(rb"[;:]", head, maxsplit=1)[0].decode("ascii", "replace").strip()
        count = text.count("\ufffd")
        problem = (
            f"not valid UTF-8 in {name or 'a line'} (octet 0x{unfolded[exc.start]:02X} at "
            f"{exc.start} after unfolding; {count} character(s) shown as U+FFFD); "
            "re-export the calendar as UTF-8"
        )
        return Decoded(text, problem)


__all__ = ["BOM", "Decoded", "decode_calendar", "unfold_octets"]
