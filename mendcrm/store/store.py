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
"""

from __future__ import annotations

import json
import logging
import marshal
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast, overload

from tinydb.queries import QueryLike
from tinydb.storages import Storage
from tinydb.table import Document, Table

from mendcrm.daemon.redaction import clean_error_texts
from mendcrm.errors import StoreError
from mendcrm.store import codec, migrations
from mendcrm.store.layout import EMPTY, Snapshot, fragment_of
from mendcrm.store.migrations import SCHEMA_ID, TABLES, Tables
from mendcrm.store.records import Keep
from mendcrm.store.storage import SnapshotStorage, StoreFile, TransactionStorage

log = logging.getLogger(__name__)

Record = dict[str, Any]
_T = TypeVar("_T")


class StoreTable(Table):
    """A TinyDB table whose document ids are the records' own ``"id"`` strings.

    ``insert`` takes the id from the record, so ``table.get(doc_id=record_id)`` finds it.
    """

    document_id_class = str  # type: ignore[assignment]

    def insert(self, document: Mapping[str, Any]) -> str:  # type: ignore[override]
        return super().insert(_keyed(document))  # type: ignore[return-value]

    def insert_multiple(self, documents: Iterable[Mapping[str, Any]]) -> list[str]:  # type: ignore[override]
        return super().insert_multiple([_keyed(d) for d in documents])  # type: ignore[return-value]

    # TinyDB annotates document ids as int; these overrides only restate its methods with the
    # string ids this table uses, so callers type-check.

    @overload  # type: ignore[override]
    def get(
        self, cond: QueryLike, doc_id: None = None, doc_ids: None = None
    ) -> Document | None: ...

    @overload
    def get(self, cond: None = None, *, doc_id: str, doc_ids: None = None) -> Document | None: ...

    @overload
    def get(
        self, cond: None = None, *, doc_id: None = None, doc_ids: list[str]
    ) -> list[Document]: ...

    def get(
        self,
        cond: QueryLike | None = None,
        doc_id: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> Document | list[Document] | None:
        return super().get(cond, doc_id, doc_ids)  # type: ignore[arg-type]

    def contains(self, cond: QueryLike | None = None, doc_id: str | None = None) -> bool:  # type: ignore[override]
        return super().contains(cond, doc_id)  # type: ignore[arg-type]

    def update(  # type: ignore[override]
        self,
        fields: Mapping[str, Any] | Callable[[MutableMapping[str, Any]], None],
        cond: QueryLike | None = None,
        doc_ids: Iterable[str] | None = None,
    ) -> list[str]:
        return super().update(fields, cond, doc_ids)  # type: ignore[arg-type, return-value]

    def remove(  # type: ignore[override]
        self, cond: QueryLike | None = None, doc_ids: Iterable[str] | None = None
    ) -> list[str]:
        return super().remove(cond, doc_ids)  # type: ignore[arg-type, return-value]

    def _get_next_id(self) -> str:
        # Stock TinyDB counts ids; here every id comes from the record, so reaching this is a bug.
        raise ValueError("store records carry their own 'id'; none was given")


class ReadOnlyTable(StoreTable):
    """A :class:`StoreTable` over a read snapshot: queries work, every change is refused."""

    def _update_table(self, updater: Any) -> None:
        # Refuse before TinyDB's updater runs: it edits documents in place, and these are the
        # shared snapshot's.
        raise TypeError("a read view cannot change the store; use store.transaction()")


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
    """A consistent, read-only snapshot of the store (see :meth:`Store.read`).

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
        """Given table names, return the digest :meth:`Transaction.digest` would give for them
        on this version (any table of the file, decoded in this view or not)."""
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

    def put(self, table: str, record: Mapping[str, Any]) -> None:
        """Given a table and a record with a string ``"id"``, insert it or replace the stored one.

        Raise ValueError for a record without an id, TypeError for one that is not plain JSON.
        Putting a record equal to the stored one changes nothing.
        """
        self.put_many(table, (record,))

    def put_many(self, table: str, records: Iterable[Mapping[str, Any]]) -> None:
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


class Store:
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

    @property
    def path(self) -> Path:
        return self._file.path

    @property
    def backup_path(self) -> Path:
        """Where the previous version is kept (``<name>.bak``)."""
        return self._file.backup_path

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

    def refresh_backup(self) -> None:
        """Replace the backup copy (``.bak``) with the current version, under the lock: after a
        contact is forgotten the previous version must not keep them. Raise StoreError."""
        with self._tx_lock, self._file.locked():
            if self.path.exists():
                self._file.keep_copy(self.backup_path)

    def write_copy(self, destination: Path, tables: Mapping[str, Any]) -> None:
        """Given a file beside the store and tables, write them there (atomic, 0600); raise
        OSError if that fails."""
        self._file.write_copy(destination, dict(tables))

    def backup_to(self, destination: Path) -> int:
        """Given a file, write a consistent copy of the current version there (mode 0600, taken
        under the lock so no write is half in it); return the number of contacts it holds.
        Raise StoreError if the store cannot be read or the file written."""
        from mendcrm.files import write_private

        with self._tx_lock, self._file.locked():
            tables = self._current(locked=True).tables
            try:
                write_private(destination, json.dumps(tables, ensure_ascii=False) + "\n")
            except OSError as exc:
                raise StoreError(
                    f"cannot write the backup {destination}: {exc.strerror or exc}",
                    hint="choose a folder you can write to",
                ) from exc
        return len(tables.get("contacts", {}))

    def restore_from(self, source: Path) -> int:
        """Given a file written by :meth:`backup_to` (or a store file), make it the current
        version, upgraded to this schema; the version it replaces is kept as ``.bak``. Return the
        number of contacts restored. Raise StoreError, leaving the store as it was, if the file
        cannot be read, is not a MendCRM store, or comes from a newer MendCRM."""
        try:
            data = codec.decode(Path(source).read_bytes().lstrip())
        except OSError as exc:
            raise StoreError(f"cannot read {source}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise StoreError(
                f"{source} is not a MendCRM backup: not JSON ({exc})",
                hint="give a file written by `mendcrm backup`",
            ) from None
        meta = data.get("meta", {}) if isinstance(data, dict) else None
        if not isinstance(meta, dict) or SCHEMA_ID not in meta:
            raise StoreError(
                f"{source} is not a MendCRM backup: it has no schema record",
                hint="give a file written by `mendcrm backup`",
            )
        try:
            version = migrations.schema_version(data)
            if version > migrations.SCHEMA_VERSION:
                raise StoreError(
                    f"{source} was written by a newer MendCRM (schema {version})",
                    hint="upgrade MendCRM to restore it",
                )
            tables = (
                migrations.migrate(data, version) if version < migrations.SCHEMA_VERSION else data
            )
            for name, table in tables.items():
                if not isinstance(table, dict) or not all(
                    isinstance(r, dict) for r in table.values()
                ):
                    raise ValueError(f"table {name!r} is not an object of records")
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            raise StoreError(f"{source} is not a usable MendCRM backup: {exc}") from None
        with self._tx_lock, self._file.locked():
            try:
                base = self._current(locked=True)
            except StoreError:
                base = EMPTY  # a damaged store is what a restore is for; it is kept as .bak
            self._file.commit(migrations.stamp(tables), base)
        return len(tables.get("contacts", {}))

    def close(self) -> None:
        """Release the cached copy of the store; the store stays usable."""
        self._file.close()

    def _current(self, *, locked: bool) -> Snapshot:
        snapshot = self._file.load()
        try:
            version = migrations.schema_version(snapshot.tables)
        except ValueError as exc:
            raise self._file.damaged(str(exc)) from None
        if version > migrations.SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer MendCRM (schema {version}; this"
                f" one knows up to {migrations.SCHEMA_VERSION})",
                hint="upgrade MendCRM to use this store",
            )
        if version == migrations.SCHEMA_VERSION:
            return snapshot
        if not locked:
            # Upgrading writes, and writing needs the lock; another process may get there first.
            with self._file.locked():
                return self._current(locked=True)
        return self._migrate(snapshot, version)

    def _migrate(self, snapshot: Snapshot, version: int) -> Snapshot:
        backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
        try:
            tables = migrations.migrate(snapshot.tables, version)
            scrubbed = migrations.scrub(snapshot.tables, version)
        except (ValueError, LookupError) as exc:
            raise StoreError(
                f"cannot upgrade the store {self.path} from schema {version}: {exc}",
                hint="the file was left as it was; repair it by hand or ask for help",
            ) from exc
        if scrubbed is snapshot.tables:
            self._file.keep_copy(backup)
            migrated = self._file.commit(tables, snapshot)
        else:
            migrated = self._migrate_scrubbing(snapshot, scrubbed, tables, backup, version)
        log.info(
            "upgraded the store %s from schema %d to %d; the old file is kept as %s",
            self.path,
            version,
            migrations.SCHEMA_VERSION,
            backup,
        )
        return migrated

    def _migrate_scrubbing(
        self, snapshot: Snapshot, scrubbed: Tables, tables: Tables, backup: Path, version: int
    ) -> Snapshot:
        """Upgrade through a scrubbing step so that no copy of the unscrubbed text is left.

        The old version's backup is the scrubbed old tables. The store file is first replaced by
        them (its ``.bak`` then links the unscrubbed file), then by the upgraded tables (its
        ``.bak`` now links the scrubbed old one, and the unscrubbed file has no name left). A crash
        in between leaves a scrubbed store of the old version, upgraded again on the next open.
        Older ``.vN.bak`` files are scrubbed in place.
        """
        try:
            self._file.write_copy(backup, scrubbed)
        except OSError as exc:
            raise StoreError(
                f"cannot keep a copy of the store {self.path} as {backup}: {exc.strerror or exc}",
                hint="the store was left as it was; free disk space or fix permissions and retry",
            ) from exc
        base = self._file.commit(scrubbed, snapshot)
        migrated = self._file.commit(tables, base)
        for older in sorted(self.path.parent.glob(f"{self.path.name}.v*.bak")):
            if older != backup:
                self._scrub_backup(older)
        return migrated

    def _scrub_backup(self, path: Path) -> None:
        try:
            old = json.loads(path.read_bytes())
            version = migrations.schema_version(old)
            cleaned = migrations.scrub(old, version)
            if cleaned is not old and cleaned != old:
                self._file.write_copy(path, cleaned)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning(
                "could not scrub the old store backup %s (%s); delete it if you do not need it:"
                " it may hold an SMTP password's base64",
                path,
                exc,
            )

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def _known(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown store table {table!r}; the tables are {', '.join(TABLES)}")
    return table


def _plain_record(table: str, record: Mapping[str, Any]) -> Record:
    if not isinstance(record, Mapping):
        raise TypeError(f"a {table} record must be a mapping, not {type(record).__name__}")
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise ValueError(f"a {table} record needs a non-empty string 'id', got {record_id!r}")
    if table == "meta" and record_id == SCHEMA_ID:
        raise ValueError(f"the meta record {SCHEMA_ID!r} is managed by the store")
    try:
        # The copy is what a round trip through JSON would give (proving the record can be
        # stored, tuples turned into lists exactly as a reload would see them), our own.
        doc, has_error_key = codec.plain_copy(record)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{table} record {record_id!r} is not plain JSON: {exc}") from None
    if has_error_key:
        # Error text comes from servers and libraries, which may quote a password in any form:
        # whatever writes it, it is stored only with every remembered secret masked.
        doc = clean_error_texts(doc)
    return doc


def _keyed(document: Mapping[str, Any]) -> Document:
    record_id = document.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise ValueError(f"a store record needs a non-empty string 'id', got {record_id!r}")
    if isinstance(document, Document) and document.doc_id != record_id:
        raise ValueError(f"document id {document.doc_id!r} differs from record id {record_id!r}")
    return Document(dict(document), doc_id=record_id)  # type: ignore[arg-type]


def _detached(value: _T) -> _T:
    # Stored values are JSON data (dicts, lists, str, numbers, bools, None), which marshal
    # copies in C: several times faster than copy.deepcopy, and faster than pickle.
    copied: _T = marshal.loads(marshal.dumps(cast(Any, value)))
    return copied


__all__ = ["ReadOnlyTable", "ReadView", "Record", "Store", "StoreTable", "Transaction"]
