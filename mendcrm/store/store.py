"""The store's API: :class:`Store`, its transactions and its read views.

A transaction holds the store's lock from start to end and starts from the current version on
disk. Changes live in memory — a table is copied the first time it changes, so the version it
started from stays intact for readers and for a rollback — and the commit writes the file once.
An exception inside the ``with`` block discards every change.

Records go in and come out as plain JSON dicts keyed by their ``"id"``; what a caller gets back
is its own copy, so changing it changes nothing in the store until it is ``put``. Error text in a
record (``last_error``/``error`` at any depth) is stored with every remembered secret masked
(:mod:`mendcrm.daemon.redaction`), whoever writes it. ``table(name)``
gives the TinyDB table (document ids are the record ids) for queries with ``tinydb.Query``.

The parts :class:`Store` is built from live beside it: reading records and the read view
(:mod:`mendcrm.store.readers`), the TinyDB tables (:mod:`mendcrm.store.tables`), opening at this
schema (:mod:`mendcrm.store.upgrades`) and whole-file backups (:mod:`mendcrm.store.backups`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tinydb.storages import Storage

from mendcrm.daemon.redaction import clean_error_texts
from mendcrm.store import codec, migrations
from mendcrm.store.backups import StoreBackups
from mendcrm.store.layout import Snapshot, fragment_of
from mendcrm.store.migrations import SCHEMA_ID, Tables
from mendcrm.store.readers import ReadView, Record, _detached, _known, _Reader
from mendcrm.store.storage import StoreFile, TransactionStorage
from mendcrm.store.tables import StoreTable

_T = TypeVar("_T")


class Transaction(_Reader):
    """Changes made under the store's lock and written at once (see :meth:`Store.transaction`)."""

    def __init__(self, base: Snapshot) -> None:
        self._base = base
        self._tables = dict(base.tables)
        self._changed = False
        self._open = True
        self._materialised: set[str] = set()
        self._tinydb: dict[str, StoreTable] = {}
        self._storage: Storage = TransactionStorage(self)
        self._texts: dict[str, tuple[Record, bytes]] = {}
        """Per changed table, the text :meth:`digest` encoded it as, with the very table object
        it encoded: the commit writes that text instead of encoding the table again."""

    @property
    def changed(self) -> bool:
        """True once something in this transaction differs from what it started from."""
        return self._changed

    def digest(self, names: Iterable[str]) -> str:
        """Given table names, return a SHA-256 hex digest of those tables as they stand in this
        transaction.

        It is taken over the JSON text the file holds (or will hold) them as, so a table left
        as it was read costs only hashing its text; equal digests mean equal tables, and a
        digest taken before a commit equals one taken after the file is read again.
        """
        import hashlib  # see ReadView.digest

        self._check_open()
        found = hashlib.sha256()
        for name in sorted({_known(n) for n in names}):
            text = self._text_of(name)
            found.update(b"%s:%d:" % (name.encode("ascii"), len(text)))
            found.update(text)
        return found.hexdigest()

    def _text_of(self, name: str) -> bytes:
        """Given a table name, return the text the commit writes for the table as it stands."""
        table = self._tables.get(name, {})
        known = self._texts.get(name)
        if known is not None and known[0] is table:
            return known[1]
        text = fragment_of(self._base, name, table)
        if name in self._tables and name not in self._materialised:
            # Changed only through put/delete, which forget the text (TinyDB's tables are
            # edited in place, so theirs is never kept).
            self._texts[name] = (table, text)
        return text

    def _tinydb_read(self) -> Tables:
        return self._tables

    def _tinydb_write(self, tables: Tables) -> None:
        self._tables = tables
        self._changed = True
        self._texts.clear()

    def get(self, table: str, record_id: str) -> Record | None:
        self._check_open()
        return super().get(table, record_id)

    def all(self, table: str) -> list[Record]:
        self._check_open()
        return super().all(table)

    def select(self, table: str, keep: Callable[[Record], bool]) -> list[Record]:
        self._check_open()
        return super().select(table, keep)

    def decode(
        self,
        table: str,
        make: Callable[[Record], _T],
        keep: Callable[[Record], bool] | None = None,
    ) -> list[_T]:
        self._check_open()
        return super().decode(table, make, keep)

    def put(self, table: str, record: Mapping[str, Any] | codec.PlainRecord) -> None:
        """Given a table and a record with a string ``"id"``, insert it or replace the stored one.

        Raise ValueError for a record without an id, TypeError for one that is not plain JSON.
        Putting a record equal to the stored one changes nothing. A record is stored as a copy
        of it (:func:`mendcrm.plain_json.plain_copy`), unless it comes as a
        :class:`~mendcrm.plain_json.PlainRecord` (the model's own encoder made it plain and
        new): then it is stored as it is, and the caller must not change it afterwards.
        """
        self.put_many(table, (record,))

    def put_many(
        self, table: str, records: Iterable[Mapping[str, Any] | codec.PlainRecord]
    ) -> None:
        """Given a table and records, :meth:`put` each of them."""
        self._check_open()
        name = _known(table)
        target: dict[str, Record] | None = None
        try:
            for record in records:
                doc = _plain_record(name, record)
                stored = (target if target is not None else self._tables.get(name, {})).get(
                    doc["id"]
                )
                if stored == doc:
                    continue
                if target is None:
                    target = self._writable(name)
                target[doc["id"]] = doc
        finally:
            # Also when a later record is refused: the ones before it are in the table.
            if target is not None:
                self._touched(name)

    def delete(self, table: str, record_id: str) -> None:
        """Given a table and a record id, remove that record; an absent id is not an error."""
        self._check_open()
        name = _known(table)
        if record_id in self._tables.get(name, {}):
            del self._writable(name)[record_id]
            self._touched(name)

    def table(self, name: str) -> StoreTable:
        """Given a table name, return its TinyDB table; changes through it join this transaction.

        Documents returned by its queries share nested values with the transaction's own: change
        records through ``update``/``upsert`` or :meth:`put`, not by editing a result in place.
        """
        self._check_open()
        name = _known(name)
        found = self._tinydb.get(name)
        if found is None:
            if name not in self._materialised:
                # TinyDB edits documents in place, so give it records of its own.
                self._tables[name] = _detached(self._tables.get(name, {}))
                self._materialised.add(name)
            found = self._tinydb[name] = StoreTable(self._storage, name)
        return found

    def _writable(self, name: str) -> dict[str, Record]:
        table = self._tables.get(name)
        if table is None or table is self._base.tables.get(name):
            table = dict(table or {})
            self._tables[name] = table
        return table

    def _touched(self, name: str) -> None:
        self._changed = True
        self._texts.pop(name, None)
        tinydb_table = self._tinydb.get(name)
        if tinydb_table is not None:
            tinydb_table.clear_cache()

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("this transaction has ended; open a new one")

    def _finish(self) -> Tables | None:
        """End the transaction; return the tables to write, or None if nothing changed."""
        self._open = False
        if not self._changed:
            return None
        for name in self._materialised:
            table = self._tables.get(name, {})
            for key, doc in table.items():
                if doc.get("id") != key:
                    raise ValueError(
                        f"{name} record {key!r} now has id {doc.get('id')!r}; a record's id"
                        " cannot change (delete it and put the new one)"
                    )
            # TinyDB's API bypasses put()'s check; the file's codec relies on it (no NaN).
            try:
                codec.check_plain(table)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"a {name} record is not plain JSON: {exc}") from None
        return self._tables


class Store(StoreBackups):
    """The MendCRM store: one JSON file shared safely by every MendCRM process.

    Nothing touches the disk until the first :meth:`transaction` or :meth:`read`; the file, its
    lock file and any missing folders are created by the first write.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float | None = None) -> None:
        """Given the store file's path and how long a transaction may wait for the lock (None:
        as long as it takes), make the store; nothing is read or created until first use."""
        self._file = StoreFile(Path(os.path.abspath(os.fspath(path))), lock_timeout=lock_timeout)
        self._tx_lock = threading.Lock()
        self._tx_thread: int | None = None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the store's lock, yield a transaction on the current version, then write once.

        Nothing is written if nothing changed or if the block raises. Raise StoreError if the
        file cannot be read, locked or written; RuntimeError if this thread already holds a
        transaction on this store.
        """
        if self._tx_thread == threading.get_ident():
            raise RuntimeError("a transaction is already open on this store in this thread")
        with self._tx_lock:
            self._tx_thread = threading.get_ident()
            try:
                with self._file.locked():
                    base = self._current(locked=True)
                    tx = Transaction(base)
                    try:
                        yield tx
                        tables = tx._finish()
                    finally:
                        tx._open = False
                    if tables is not None:
                        self._file.commit(migrations.stamp(tables), base, known=tx._texts)
            finally:
                self._tx_thread = None

    @contextmanager
    def read(self, only: Iterable[str] | None = None) -> Iterator[ReadView]:
        """Yield a read-only view of the current version, without taking the lock.

        Given ``only`` (table names), decode just those tables: a command that shows contacts
        need not decode ten thousand interactions; the view refuses other tables (ValueError).
        Raise StoreError if the file cannot be read or was written by a newer MendCRM.
        """
        if only is not None:
            wanted = frozenset(_known(name) for name in only)
            snapshot = self._file.load_only(wanted | {"meta"})
            try:
                current = migrations.schema_version(snapshot.tables)
            except ValueError:
                current = -1  # the full load below reports it
            # No meta table (a new, an empty or a version-0 file): the full load decides.
            if "meta" in snapshot.tables and current == migrations.SCHEMA_VERSION:
                yield ReadView(snapshot, wanted)
                return
        yield ReadView(self._current(locked=False))

    def close(self) -> None:
        """Release the cached copy of the store; the store stays usable."""
        self._file.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def _plain_record(table: str, record: Mapping[str, Any] | codec.PlainRecord) -> Record:
    if type(record) is codec.PlainRecord:
        _check_id(table, record.data)
        return clean_error_texts(record.data) if record.flagged else record.data
    if not isinstance(record, Mapping):
        raise TypeError(f"a {table} record must be a mapping, not {type(record).__name__}")
    _check_id(table, record)
    try:
        # The copy is what a round trip through JSON would give (proving the record can be
        # stored, tuples turned into lists exactly as a reload would see them), our own.
        doc, has_error_key = codec.plain_copy(record)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{table} record {record['id']!r} is not plain JSON: {exc}") from None
    if has_error_key:
        # Error text comes from servers and libraries, which may quote a password in any form:
        # whatever writes it, it is stored only with every remembered secret masked.
        doc = clean_error_texts(doc)
    return doc


def _check_id(table: str, record: Mapping[str, Any]) -> None:
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise ValueError(f"a {table} record needs a non-empty string 'id', got {record_id!r}")
    if table == "meta" and record_id == SCHEMA_ID:
        raise ValueError(f"the meta record {SCHEMA_ID!r} is managed by the store")


__all__ = ["Store", "Transaction"]
