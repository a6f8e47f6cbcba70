"""Single records out of a table's text: a read decodes the records it shows, not the table.

A table in today's layout (:func:`mendcrm.store.codec.is_current`) holds a tab byte before each
record's key and nowhere else, so the records can be found with a byte search and decoded one
by one. A read command shows a few hundred of many thousand records; decoding only those, and
only those whose text can hold what it looks for, is most of what it saves.

What a command looks for is a :class:`Keep`: the test on a decoded record (as before), plus what
a read view may check first without decoding — the record ids it wants, and tests on the
record's JSON text (:func:`holds`, :func:`time_at_most`, :func:`time_at_least`). The text tests
are *necessary* conditions only: they refuse a record only when its text proves the record test
would refuse it, and everything they let through is decoded and tested as before. So a view
returns exactly what decoding the whole table and testing every record returns.

A table this module cannot index (an older layout, a key that needs escaping, a key twice) is
decoded whole, as before. A damaged record is reported when it is decoded; a damaged record that
no read decodes is reported by the next full load (as for a table a view does not decode).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any, NoReturn

import orjson

from mendcrm.store import codec

Record = dict[str, Any]

_COMMA, _CLOSE = 0x2C, 0x7D


TextTest = Callable[[bytes, int, int], bool]
"""Given the file's bytes and where a record's JSON text starts and ends, return False only if
that text proves the record unwanted (a necessary condition only)."""


class Keep:
    """A test on stored records, with what a read view may check before decoding a record.

    Called with a record, it is the test itself, so any view applies it as it always has. A read
    view over a table in today's layout first skips the records whose id is not in ``ids``
    (when given; the store keeps a record's key equal to its ``"id"``), whose text holds none
    of ``needles`` (when given: byte strings every wanted record's text holds one of, found by
    one search through the table), and whose text fails ``text`` (see the module's docstring).
    """

    __slots__ = ("ids", "needles", "test", "text")

    def __init__(
        self,
        test: Callable[[Record], bool],
        *,
        ids: Collection[str] | None = None,
        needles: Collection[bytes] | None = None,
        text: TextTest | None = None,
    ) -> None:
        self.test = test
        self.ids = ids
        self.needles = needles
        self.text = text

    def __call__(self, record: Record) -> bool:
        return self.test(record)


def pair(field: str, value: str) -> bytes:
    """Given a field and a string value, return the text ``"field":"value"`` that the text of
    every record whose ``field`` (at any depth) holds that value holds: orjson writes a string
    one way only. (For :attr:`Keep.needles`.)"""
    return orjson.dumps({field: value})[1:-1]


def holds(field: str, values: Iterable[str]) -> TextTest:
    """Given a field and string values, return a text test passing the records whose text holds
    ``"field":"value"`` for one of the values (see :func:`pair`)."""
    wanted = set(_keys(values))
    needle = orjson.dumps(field) + b':"'
    size = len(needle)

    def test(raw: bytes, start: int, end: int) -> bool:
        found = raw.find(needle, start, end)
        while found >= 0:
            close = raw.find(b'"', found + size, end)
            text = raw[found + size : close]
            if text in wanted or b"\\" in text:
                return True  # one of them, or escaped (not compared here): decode and test
            found = raw.find(needle, close, end)
        return False

    return test


def time_at_most(field: str, limit: datetime) -> TextTest:
    """Given a field holding ISO 8601 times (naive ones read as UTC, as
    :func:`mendcrm.model.from_iso` reads them) and an aware limit, return a text test refusing a
    record only if its text holds ``"field":"…"`` and every such time is after ``limit``."""
    return _time_test(field, limit, at_most=True)


def time_at_least(field: str, limit: datetime) -> TextTest:
    """As :func:`time_at_most`, refusing a record only if every such time is before ``limit``."""
    return _time_test(field, limit, at_most=False)


def all_of(*tests: TextTest) -> TextTest:
    """Given text tests, return one passing the records all of them pass."""
    first, second = tests[0], all_of(*tests[1:]) if len(tests) > 2 else tests[-1]
    if len(tests) == 1:
        return first
    return lambda raw, start, end: first(raw, start, end) and second(raw, start, end)


def _time_test(field: str, limit: datetime, *, at_most: bool) -> TextTest:
    needle = orjson.dumps(field) + b':"'
    size = len(needle)
    # What mendcrm.model.to_iso writes (UTC, "+00:00", microseconds only when not zero) orders
    # as the times do, byte by byte, so most times are passed by comparing them with the limit
    # written the same way (a text passed wrongly costs only its decoding). A time is refused
    # only once parsed, as the record test parses it.
    utc = limit.astimezone(UTC)
    marks = {
        25: utc.replace(microsecond=0).isoformat().encode("ascii"),
        32: utc.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").encode("ascii"),
    }

    def fits(text: bytes) -> bool:
        mark = marks.get(len(text))
        if mark is not None and (text <= mark if at_most else text >= mark):
            return True
        try:
            value = datetime.fromisoformat(text.decode("ascii"))
        except ValueError:  # not a time this test reads (UnicodeDecodeError included)
            return True
        value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return value <= limit if at_most else value >= limit

    def test(raw: bytes, start: int, end: int) -> bool:
        found = raw.find(needle, start, end)
        if found < 0:
            return True  # no such field: the record test decides (and complains)
        while found >= 0:
            close = raw.find(b'"', found + size, end)
            if fits(raw[found + size : close]):
                return True
            found = raw.find(needle, close, end)
        return False

    return test


class _Scan:
    """Where each record of a table starts: the position of the tab before its key."""

    __slots__ = ("tabs",)

    def __init__(self, tabs: list[int]) -> None:
        self.tabs = tabs


class TableText:
    """One table's text inside the file's bytes, decoded whole or one record at a time.

    ``damaged`` is called when the table does not decode; it raises the store's error for the
    file (with the position of the damage).
    """

    def __init__(self, raw: bytes, start: int, end: int, damaged: Callable[[], NoReturn]) -> None:
        self._raw, self._start, self._end = raw, start, end
        self._damaged = damaged
        self._scan: _Scan | None = None
        self._keys: dict[bytes, int] | None = None

    def whole(self) -> dict[str, Record]:
        """Return the whole table, decoded; raise through ``damaged`` if it is not a table."""
        try:
            value = codec.decode(memoryview(self._raw)[self._start : self._end])
        except ValueError:
            self._damaged()
        if not isinstance(value, dict) or not all(isinstance(r, dict) for r in value.values()):
            self._damaged()
        return value

    def records(
        self,
        ids: Collection[str] | None,
        needles: Collection[bytes] | None = None,
        text: TextTest | None = None,
    ) -> list[Record] | None:
        """Given record ids, byte strings and a text test (each None: no condition), return the
        decoded records among those ids, holding one of the byte strings, that the test passes,
        in stored order; None if the text is not in
        today's layout or not as :func:`mendcrm.store.codec.encode_table` writes it (a key that
        needs an escape or comes twice, a record that does not decode): decode it whole."""
        scan = self._scanned()
        if scan is None:
            return None
        chosen: set[int] | None = None
        if ids is not None:
            keys = self._key_index(scan)
            if keys is None:
                return None
            chosen = {keys[key] for key in _keys(ids) if key in keys}
        if needles is not None:
            found_in = self._holding(scan, needles)
            chosen = found_in if chosen is None else chosen & found_in
        order = range(len(scan.tabs)) if chosen is None else sorted(chosen)
        raw, find, tabs, view = self._raw, self._raw.find, scan.tabs, memoryview(self._raw)
        last = len(tabs) - 1
        found = []
        for index in order:
            tab = tabs[index]
            quote = find(b'"', tab + 2, self._end)
            stop = self._end - 1 if index == last else tabs[index + 1] - 1
            if text is not None and not text(raw, quote + 2, stop):
                continue
            if raw[quote + 1 : quote + 3] != b":{" or (index != last and raw[stop] != _COMMA):
                return None
            try:
                found.append(orjson.loads(view[quote + 2 : stop]))  # "{" to "}": a dict
            except orjson.JSONDecodeError:
                return None  # decoded whole, the table reports its damage (or reads as JSON)
        return found

    def _scanned(self) -> _Scan | None:
        if self._scan is not None:
            return self._scan
        raw, start, end = self._raw, self._start, self._end
        if not codec.is_current(memoryview(raw)[start:end]) or raw[end - 1] != _CLOSE:
            return None
        tabs: list[int] = []
        if end - start > 3:  # not " {}"
            find, append = raw.find, tabs.append
            tab = start + 2
            while tab >= 0:
                append(tab)
                tab = find(b"\t", tab + 1, end)
        self._scan = _Scan(tabs)
        return self._scan

    def _holding(self, scan: _Scan, needles: Collection[bytes]) -> set[int]:
        """Return the indexes of the records whose text holds one of ``needles``."""
        find, end, tabs = self._raw.find, self._end, scan.tabs
        found: set[int] = set()
        for needle in needles:
            at = find(needle, self._start, end)
            while at >= 0:
                found.add(bisect_right(tabs, at) - 1)
                at = find(needle, at + len(needle), end)
        return found

    def _key_index(self, scan: _Scan) -> dict[bytes, int] | None:
        """Return each record's key (its text in the file) → its index; None if a key needs an
        escape or comes twice."""
        if self._keys is None:
            raw, find, end = self._raw, self._raw.find, self._end
            keys = [raw[tab + 2 : find(b'"', tab + 2, end)] for tab in scan.tabs]
            index = {key: i for i, key in enumerate(keys)}
            if len(index) != len(keys) or b"\\" in b"".join(keys):
                return None
            self._keys = index
        return self._keys


def _keys(ids: Iterable[str]) -> list[bytes]:
    # A key in the index needs no escape, so it is the id's UTF-8; an id that cannot be UTF-8
    # (a lone surrogate) is not a key of an indexed table.
    found = []
    for record_id in ids:
        try:
            found.append(record_id.encode("utf-8"))
        except UnicodeEncodeError:
            continue
    return found


__all__ = [
    "Keep",
    "TableText",
    "TextTest",
    "all_of",
    "holds",
    "pair",
    "time_at_least",
    "time_at_most",
]
