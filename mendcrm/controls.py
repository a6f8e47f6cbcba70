"""Control and invisible characters in text MendCRM did not write (invitations, contacts, server
answers), and how each kind of output neutralises them.

- A terminal acts on C0 controls (ESC starts CSI/OSC sequences, BEL rings, CR rewinds the line),
  on DEL and on the C1 controls U+0080–U+009F (U+009B is a one-character CSI, U+009D an OSC) —
  ECMA-48 §5. :func:`for_terminal` shows each as a visible escape (``\\x1b``, ``\\u009b``)
  instead, and does the same for the bidirectional formatting characters (Unicode UAX #9 §2),
  which reorder what is displayed around them.
- JSON escapes C0 controls already (RFC 8259 §7); :func:`json_dumps` also writes U+007F–U+009F,
  the bidi formatting and the zero-width characters as ``\\uXXXX``: the value parsed back is
  exactly the same, and no raw control byte reaches a terminal that shows the JSON.
- A header line such as an e-mail Subject must not carry CR or LF (RFC 5322 §2.2):
  :func:`one_line` turns every control into a space.
- A file name should show what it is: :func:`without_invisibles` drops the bidi and zero-width
  characters (a right-to-left override can make ``gpj.md`` read as ``dm.jpg``).
"""

from __future__ import annotations

import json
import re
from typing import Any

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Bidirectional formatting characters: ALM, LRM, RLM, LRE, RLE, PDF, LRO, RLO, LRI-PDI
(UAX #9 §2)."""

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e"
"""Zero-width space, non-joiner, joiner, word joiner, BOM/ZWNBSP and Mongolian vowel separator."""

_TERMINAL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI}]")
"""What a terminal must not receive raw: C0 except TAB and LF, DEL, C1, bidi formatting."""
_JSON = re.compile(f"[\x7f-\x9f{BIDI}{ZERO_WIDTH}]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_INVISIBLE = re.compile(f"[{BIDI}{ZERO_WIDTH}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """Given text bound for a terminal, return it with every control character (C0 but TAB and
    LF, DEL, C1) and every bidi formatting character shown as a visible escape such as ``\\x1b``
    or ``\\u009b`` (ECMA-48 §5, UAX #9 §2); other text is unchanged."""
    return _TERMINAL.sub(_escape, text)


def json_dumps(data: Any, *, indent: int | None = 2) -> str:
    """Given JSON-serialisable data, return its JSON text, non-ASCII kept as is except U+007F–
    U+009F, bidi formatting and zero-width characters, which are written ``\\uXXXX``.

    These characters only ever occur inside JSON strings, where ``\\uXXXX`` denotes the same
    character (RFC 8259 §7), so the document parses back to exactly ``data``.
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def one_line(text: str) -> str:
    """Given text for a one-line field (an e-mail header, RFC 5322 §2.2), return it with every
    run of control characters (CR and LF included) and line separators as one space, trimmed."""
    return _CONTROLS.sub(" ", text).strip()


def without_invisibles(text: str) -> str:
    """Given text for a file name, return it without bidi formatting or zero-width characters."""
    return _INVISIBLE.sub("", text)


__all__ = ["BIDI", "ZERO_WIDTH", "for_terminal", "json_dumps", "one_line", "without_invisibles"]
