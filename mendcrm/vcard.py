"""Reading contacts from vCard 3.0 / 4.0 files (the names, addresses, organisation and title).

Only what MendCRM keeps is read; everything else in a card is ignored. Pure: text in, records out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\"}


@dataclass
class Card:
    """The parts of one vCard that MendCRM uses."""

    name: str = ""
    emails: list[str] = field(default_factory=list)
    nicknames: list[str] = field(default_factory=list)
    org: str = ""
    title: str = ""
    note: str = ""
    line: int = 0


def _unfold(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if raw[:1] in (" ", "\t") and lines:
            start, previous = lines[-1]
            lines[-1] = (start, previous + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _unescape(value: str) -> str:
    # Not events.contentlines.unescape_text: the five TEXT escapes agree, but some address books
    # also escape characters vCard does not (`http\://…`); here such a backslash is dropped,
    # there (as in icalendar) it is kept.
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def _split(value: str, sep: str) -> list[str]:
    parts = re.split(rf"(?<!\\){re.escape(sep)}", value)
    return [_unescape(p).strip() for p in parts]


def parse_vcards(text: str) -> tuple[list[Card], list[str]]:
    """Given the text of a .vcf file, return its cards and a warning for each card skipped."""
    cards: list[Card] = []
    warnings: list[str] = []
    current: Card | None = None
    for number, line in _unfold(text):
        head, sep, value = line.partition(":")
        if not sep:
            continue
        prop = head.split(";", 1)[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            current = Card(line=number)
        elif prop == "END" and value.strip().upper() == "VCARD":
            if current is None:
                continue
            if current.name:
                cards.append(current)
            else:
                warnings.append(f"line {current.line}: a card with no name was skipped")
            current = None
        elif current is None:
            continue
        elif prop == "FN":
            current.name = _unescape(value).strip()
        elif prop == "N" and not current.name:
            family, given, *_ = [*_split(value, ";"), "", ""]
            current.name = " ".join(p for p in (given, family) if p)
        elif prop == "EMAIL":
            email = _unescape(value).strip()
            if email.lower().startswith("mailto:"):
                email = email[7:]
            if email:
                current.emails.append(email.lower())
        elif prop == "NICKNAME":
            current.nicknames.extend(n for n in _split(value, ",") if n)
        elif prop == "ORG":
            current.org = " / ".join(p for p in _split(value, ";") if p)
        elif prop == "TITLE":
            current.title = _unescape(value).strip()
        elif prop == "NOTE":
            current.note = _unescape(value).strip()
    if current is not None:
        warnings.append(f"line {current.line}: a card has no END:VCARD and was skipped")
    return cards, warnings


__all__ = ["Card", "parse_vcards"]
