"""What one version of the store file is, and the one-table-per-line layout it is written in.

The file is JSON that stock TinyDB reads too, laid out one table per line::

    {
    "contacts":{"c1":{...}},
    "encounters":{},
    ...
    }

That layout lets a commit re-serialise only the tables that changed and a reload re-parse only
the lines that differ from what it already holds; a file in any other layout is parsed whole.
How a table's text is written and read (orjson, and when the standard library) is
:mod:`mendcrm.store.codec`'s business.

This is separate from :mod:`mendcrm.store.storage` (which reads, locks and writes the file)
because it only maps between bytes and tables: a :class:`Snapshot` and the texts it keeps are
what the reading, the writing and the store's digests share.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mendcrm.store import codec
from mendcrm.store.migrations import Tables
from mendcrm.store.records import TableText

_TABLE_LINE = re.compile(rb'"([A-Za-z0-9_.-]+)":')


@dataclass(frozen=True, slots=True)
class Signature:
    """What identifies one version of the file: the inode it lives in, its size and mtime."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Signature:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One committed version of the store.

    ``tables`` is shared, never modified in place: a transaction copies a table before changing
    it. ``fragments`` holds, per table, the JSON text that table was read from or written as;
    it is valid only for the very table object in ``tables`` (a view into the file's bytes in
    a snapshot of :meth:`~mendcrm.store.storage.StoreFile.load_only`, which is never cached
    nor committed on).
    """

    tables: Tables
    fragments: Mapping[str, bytes | memoryview] = field(default_factory=dict)
    signature: Signature | None = None
    texts: Mapping[str, TableText] = field(default_factory=dict)
    """Tables of a view of some tables kept as text, to be decoded record by record."""


EMPTY = Snapshot({})


def _split_tables(raw: bytes) -> list[tuple[str, memoryview]] | None:
    """Given a file's bytes, return (table name, JSON text of the table) per table line, or
    None if the file is not in the one-table-per-line layout.

    The texts are views into ``raw``, not copies: a read that decodes three tables of nine
    should not copy the whole file to find them.
    """
    spans = _table_spans(raw)
    if spans is None:
        return None
    view = memoryview(raw)
    return [(name, view[start:end]) for name, start, end in spans]


def _table_spans(raw: bytes) -> list[tuple[str, int, int]] | None:
    """Given a file's bytes, return (table name, where its JSON text starts, where it ends) per
    table line, or None if the file is not in the one-table-per-line layout."""
    if not raw.startswith(b"{\n") or not raw.endswith(b"\n}\n"):
        return None
    if len(raw) == 4:  # "{\n}\n": no tables
        return []
    out: list[tuple[str, int, int]] = []
    start, body_end = 2, len(raw) - 3  # the lines between "{\n" and "\n}\n"
    while True:
        newline = raw.find(b"\n", start, body_end)
        last = newline < 0
        end = body_end if last else newline
        if not last:
            if raw[end - 1 : end] != b",":
                return None
            end -= 1
        match = _TABLE_LINE.match(raw, start, end)
        if match is None:
            return None
        out.append((match.group(1).decode("ascii"), match.end(), end))
        if last:
            return out
        start = newline + 1


def table_text(table: Mapping[str, Any]) -> bytes:
    """Given a table, return the JSON text the file holds it as: the same table (same records in
    the same order) always gives the same bytes, and the text never holds a newline byte."""
    return codec.encode_table(dict(table))


def fragment_of(snapshot: Snapshot, name: str, table: Mapping[str, Any]) -> bytes:
    """Given a snapshot, a table name and the table as it is now, return the JSON text the next
    commit writes for it: the text it was read from or written as when it is still that very
    table (and in this version's encoding), else anew."""
    if snapshot.tables.get(name) is table:
        known = snapshot.fragments.get(name)
        # A table read from an older file is written again (once) so that the next read can
        # take orjson's fast path for it, and find its records without decoding the table.
        if known is not None and codec.is_current(known):
            return bytes(known)
    return table_text(table)


def _serialise(
    tables: Tables, base: Snapshot, known: Mapping[str, tuple[Mapping[str, Any], bytes]]
) -> tuple[list[bytes], dict[str, bytes]]:
    """Given tables, the snapshot they derive from and tables already encoded, return the file
    as a list of chunks (to be written without joining them) and the JSON text of each table."""
    fragments: dict[str, bytes] = {}
    chunks: list[bytes] = [b"{\n"]
    for name in sorted(tables):
        table = tables[name]
        encoded = known.get(name)
        if encoded is not None and encoded[0] is table:
            fragment = fragments[name] = encoded[1]
        else:
            fragment = fragments[name] = fragment_of(base, name, table)
        if len(chunks) > 1:
            chunks.append(b",\n")
        chunks += [json.dumps(name).encode("ascii") + b":", fragment]
    chunks.append(b"\n}\n")
    return chunks, fragments


__all__ = ["EMPTY", "Signature", "Snapshot", "fragment_of", "table_text"]
