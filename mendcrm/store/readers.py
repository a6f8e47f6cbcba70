"""Reading records: what transactions and read views share, and the read view itself.

``get``/``all``/``select``/``decode`` hand out records as the caller's own copies (or objects
built from them). :class:`ReadView` is a consistent, lock-free snapshot; a view of some tables
may hold a table as text and decode only the records it needs (:mod:`mendcrm.store.records`).
Separate from :mod:`mendcrm.store.store`, which holds the store and its transactions, because
reading needs none of the writing side.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from mendcrm.store import codec
from mendcrm.store.layout import EMPTY, Snapshot, fragment_of
from mendcrm.store.migrations import TABLES, Tables
from mendcrm.store.records import Keep
from mendcrm.store.storage import SnapshotStorage
from mendcrm.store.tables import ReadOnlyTable, StoreTable

Record = dict[str, Any]
_T = TypeVar("_T")


class _Reader:
    """``get`` / ``all`` over a set of tables, handing out copies."""

    _tables: Tables

    def get(self, table: str, record_id: str) -> Record | None:
        """Given a table and a record id, return a copy of the record, or None if absent."""
        record = self._tables.get(_known(table), {}).get(record_id)
        return None if record is None else _detached(record)

    def all(self, table: str) -> list[Record]:
        """Given a table, return copies of all its records in stored order."""
        return _detached(list(self._tables.get(_known(table), {}).values()))

    def select(self, table: str, keep: Callable[[Record], bool]) -> list[Record]:
        """Given a table and a test, return copies of the records it keeps, in stored order.

        ``keep`` sees each stored record itself, uncopied, and must not change it: a command
        that shows a few of many records copies only those.
        """
        return _detached([r for r in self._tables.get(_known(table), {}).values() if keep(r)])

    def decode(
        self,
        table: str,
        make: Callable[[Record], _T],
        keep: Callable[[Record], bool] | None = None,
    ) -> list[_T]:
        """Given a table, a function building an object from a record and optionally a test,
        return ``make(record)`` for each record kept (all without a test), in stored order.

        The records are not copied first (decoding thousands of records is most of a read
        command's time; copying them first would add a third): ``keep`` and ``make`` see the
        stored records themselves, must not change them, and ``make`` must keep no part of
        one that can change (model classes' ``from_record`` builds its own).
        """
        records = self._tables.get(_known(table), {}).values()
        if keep is None:
            return [make(r) for r in records]
        return [make(r) for r in records if keep(r)]


class ReadView(_Reader):
    """A consistent, read-only snapshot of the store (see :meth:`~mendcrm.store.store.Store.read`).

    A view of some tables may hold a table as text (:mod:`mendcrm.store.records`): ``decode``
    with a :class:`~mendcrm.store.records.Keep` and ``get`` then decode only the records they
    need; anything else decodes the table whole, once.
    """

    def __init__(self, snapshot: Snapshot, only: frozenset[str] | None = None) -> None:
        self._snapshot = snapshot
        self._tables = dict(snapshot.tables)
        self._texts = dict(snapshot.texts)
        self._storage = SnapshotStorage(self._tables)
        self._only = only

    def _readable(self, table: str) -> str:
        name = _known(table)
        if self._only is not None and name not in self._only:
            # A view opened for some tables must not pass another off as empty.
            raise ValueError(f"this read view holds only {', '.join(sorted(self._only))}")
        return name

    def _decoded(self, table: str) -> str:
        """Given a table name, decode that table whole if it is still text; return the name."""
        name = self._readable(table)
        text = self._texts.get(name)
        if text is not None:
            self._tables[name] = text.whole()  # raises for damage, leaving the text in place
            del self._texts[name]
        return name

    def digest(self, names: Iterable[str]) -> str:
        """Given table names, return the digest
        :meth:`~mendcrm.store.store.Transaction.digest` would give for them on this version (any
        table of the file, decoded in this view or not)."""
        import hashlib  # here: loading OpenSSL costs the read commands, which take no digest

        snapshot = self._snapshot
        found = hashlib.sha256()
        for name in sorted({_known(n) for n in names}):
            table = snapshot.tables.get(name)
            text = snapshot.fragments.get(name) if table is None else None
            if text is None:
                text = fragment_of(snapshot, name, table if table is not None else {})
            elif not codec.is_current(text):
                # Written by an older version: its text is not what the next commit writes.
                text = fragment_of(EMPTY, name, codec.decode(text))
            found.update(b"%s:%d:" % (name.encode("ascii"), len(text)))
            found.update(text)
        return found.hexdigest()

    def get(self, table: str, record_id: str) -> Record | None:
        name = self._readable(table)
        text = self._texts.get(name)
        if text is not None:
            found = text.records((record_id,))
            if found is not None:
                return found[0] if found else None  # decoded for this call: the caller's own
        return super().get(self._decoded(name), record_id)

    def all(self, table: str) -> list[Record]:
        return super().all(self._decoded(table))

    def select(self, table: str, keep: Callable[[Record], bool]) -> list[Record]:
        return super().select(self._decoded(table), keep)

    def decode(
        self,
        table: str,
        make: Callable[[Record], _T],
        keep: Callable[[Record], bool] | None = None,
    ) -> list[_T]:
        """As :meth:`_Reader.decode`; given a :class:`~mendcrm.store.records.Keep` on a table
        this view holds as text, only the records it may keep are decoded."""
        name = self._readable(table)
        text = self._texts.get(name)
        if text is not None and isinstance(keep, Keep):
            found = text.records(keep.ids, keep.needles, keep.text)
            if found is not None:
                return [make(r) for r in found if keep(r)]
        return super().decode(self._decoded(name), make, keep)

    def table(self, name: str) -> StoreTable:
        """Given a table name, return its TinyDB table for queries; changes through it raise."""
        return ReadOnlyTable(self._storage, self._decoded(name))


def _known(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown store table {table!r}; the tables are {', '.join(TABLES)}")
    return table


def _detached(value: _T) -> _T:
    # Stored values are JSON data (dicts, lists, str, numbers, bools, None), which marshal
    # copies in C: several times faster than copy.deepcopy, and faster than pickle.
    copied: _T = marshal.loads(marshal.dumps(cast(Any, value)))
    return copied


__all__ = ["ReadView", "Record"]
