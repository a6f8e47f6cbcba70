"""The store's JSON codec: one table's records to bytes on disk, and back.

Tables are written with orjson where it can write them. orjson was chosen over the standard
library because decoding the store's tables is most of a read command's time: on the bench's
8 MB store orjson decodes them 1.2–1.5× faster and encodes them 3–20× faster (measured per
table, 2026-11-29). msgspec's edge is decoding into typed structs, which would mean a second
schema beside :mod:`mendcrm.model`, while TinyDB needs plain dicts. orjson is well kept and
widely used, with wheels for every platform MendCRM runs on.

orjson differs from the JSON the store has always written in three ways, and each is kept out:

- It reads an integer beyond 64 bits as a float, silently, and refuses to write one. A table
  orjson cannot write (such an integer, a key that is not a string, a lone surrogate) is written
  by the standard library exactly as before. A table orjson wrote is *marked*: its text starts
  with a space (``"queue": {...}``, still JSON that stock TinyDB reads). Only marked tables are
  read with orjson; any other text (an older file, a table written the old way) is read by the
  standard library, exactly.
- It writes NaN and the infinities as ``null`` instead of refusing them. No table reaches the
  writer holding one: every record put is checked (``allow_nan=False``) by the store, tables
  changed through TinyDB's API are checked by :func:`check_plain` when their transaction ends,
  and reading refuses them (:func:`decode`), so nothing read can hold one either.
- It writes non-ASCII text as raw UTF-8 (the standard library writer escaped it). The file's
  one-table-per-line layout still holds: orjson escapes every control character in a string
  (``\\n`` among them) and writes no whitespace between tokens, and in UTF-8 the byte 0x0A only
  ever encodes U+000A (every byte of a multi-byte sequence is 0x80 or above), so a table's text
  never contains a raw newline byte.

Encoding is deterministic: equal tables with their keys in the same order (JSON object order is
data here: it is TinyDB's stored order) always give the same bytes.

A table orjson writes has one more property, so that a read can find a record without decoding
the others (:mod:`mendcrm.store.records`): a tab byte before each record's key,
``{\t"c1":{...},\t"c2":{...}}``. JSON allows whitespace between tokens, so any JSON reader
still reads it; and a tab byte can only be that separator, because orjson writes no whitespace
of its own and escapes every control character in a string (``\t`` among them). Text in an
older layout (no tabs) is read whole, and the next commit writes it in this one
(:func:`is_current`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from mendcrm.plain_json import PlainRecord, plain_copy

MARK = b" "
"""The first byte of a table's text written by orjson: it holds no integer beyond 64 bits."""

# datetime, dataclass and str/int/dict/list subclasses are not plain JSON: orjson would write them
# (a datetime as text), the standard library refuses them or writes their plain value. With these
# options orjson refuses them, and the standard library decides as it always has.
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_STRICT |= orjson.OPT_PASSTHROUGH_SUBCLASS


def encode_table(table: dict[str, Any]) -> bytes:
    """Given a table (record id → record), return its JSON text for the store file.

    The text has no raw newline byte; a table orjson could write starts with :data:`MARK` and
    has a tab before each record (see the module's docstring). Raise TypeError for a value that
    is not plain JSON (a datetime, a set, …). The table must hold no NaN or infinity (orjson
    would write ``null``): the store's checks keep them out before a table gets here (see the
    module's docstring).
    """
    try:
        if not table:
            return MARK + b"{}"
        # One record at a time, to put the tab before each key; orjson checks each key as it
        # would for the whole table (a key that is not a string is refused: TypeError).
        dumps = orjson.dumps
        records = [dumps({key: doc}, option=_STRICT)[1:-1] for key, doc in table.items()]
        return MARK + b"{\t" + b",\t".join(records) + b"}"
    except TypeError:
        # Beyond orjson (a huge integer, a non-string key, a lone surrogate) or not JSON at all:
        # the writer the store always had, ASCII-escaped (so safe to split on newlines); it
        # raises for what is not JSON.
        text = json.dumps(table, separators=(",", ":"), allow_nan=False)
        return text.encode("ascii")


def decode(text: bytes | memoryview) -> Any:
    """Given JSON text (a table's, or a whole file's), return its value.

    Marked text is read by orjson, any other by the standard library, so integers of any size
    come back exact. Raise ValueError if it is not JSON, or if it holds NaN or an infinity
    (``NaN``, ``Infinity``, or a number too large for a float), which no store file written by
    MendCRM holds.
    """
    if text[:1] == MARK:
        return orjson.loads(text)  # its JSONDecodeError is a ValueError
    return json.loads(bytes(text), parse_constant=_refuse_constant, parse_float=_finite_float)


def is_current(text: bytes | memoryview) -> bool:
    """Given a table's text, return True if it is in the layout :func:`encode_table` writes
    today for a table orjson can write (marked, a tab before each record); False for text the
    next commit writes again (an older layout), or that the standard library wrote."""
    head = bytes(text[:3])
    return head == MARK + b"{\t" or (head == MARK + b"{}" and len(text) == 3)


def check_plain(table: Any) -> None:
    """Given a table changed outside the store's own checks (through TinyDB's API), raise as
    :func:`encode_table` would for it being written with the standard library: TypeError for a
    value that is not plain JSON, ValueError for NaN or an infinity."""
    json.dumps(table, allow_nan=False)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf - inf is nan, and nan differs from everything
        raise ValueError(f"{text} is too large for a number")
    return value


__all__ = [
    "MARK",
    "PlainRecord",
    "check_plain",
    "decode",
    "encode_table",
    "is_current",
    "plain_copy",
]
