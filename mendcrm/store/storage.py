"""The store's file on disk: a lock beside it, change-aware loading, one atomic write per commit.

Writers take an exclusive ``flock`` on a sidecar file (``store.json.lock``) — never on the data
file itself, which every commit replaces (:mod:`mendcrm.store.file_lock`). A commit writes the
whole store to a temporary file, keeps the previous version as ``store.json.bak`` and replaces
the store with it (:mod:`mendcrm.store.file_writes`). A crash at any instant therefore leaves the
old or the new version, and readers need no lock: whatever file they open is whole.

The file holds one table per line (:mod:`mendcrm.store.layout`), so a reload re-parses only the
lines that differ from what it already holds. :class:`StoreFile` is that loading, on top of the
lock and the writes; the paths, cache and errors they share are in
:mod:`mendcrm.store.file_state`.

:class:`TransactionStorage` and :class:`SnapshotStorage` are the TinyDB ``Storage`` classes the
store's tables talk to: they serve TinyDB's many ``read``/``write`` calls from memory, so the
file is touched once per transaction.
"""

from __future__ import annotations

import os
import stat
from typing import Any, NoReturn, Protocol

from tinydb.storages import Storage

from mendcrm.store import codec
from mendcrm.store.file_lock import FileLock
from mendcrm.store.file_writes import FileWrites
from mendcrm.store.layout import EMPTY, Signature, Snapshot, _split_tables, _table_spans
from mendcrm.store.migrations import Tables
from mendcrm.store.records import TableText


class StoreFile(FileLock, FileWrites):
    """The file behind a store: loading, locking, committing and keeping backups.

    The last loaded version is cached together with an open descriptor on its inode. While that
    descriptor is open the inode number cannot be reused, so "the path still names the same
    inode, size and mtime" proves the cache is current; any other process's commit replaces the
    inode and forces a reload.
    """

    # -- reading ------------------------------------------------------------------------------

    def load(self) -> Snapshot:
        """Return the version on disk, parsing only what changed since the last load.

        A missing or empty file is an empty store. Raise StoreError if the file cannot be read
        or is not a store.
        """
        opened = self._open_changed()
        if isinstance(opened, Snapshot):
            return opened
        fd, st, raw = opened
        try:
            snapshot = self._parse(raw, Signature.of(st), self._cache)
        except BaseException:
            os.close(fd)
            raise
        self._remember(snapshot, fd)
        return snapshot

    def load_only(self, names: frozenset[str]) -> Snapshot:
        """Given table names, return the version on disk with only those tables read (those of
        them the file holds), for a read that touches no others.

        The whole file is still read and its layout checked. A table outside ``names`` is not
        decoded, so its damage is not noticed here (the next full load reports it), but its
        text is kept in ``fragments`` (for :meth:`ReadView.digest`). A table in ``names`` in
        today's layout (``meta`` aside) is kept as text in ``texts``, decoded by the view
        record by record or whole as it is used (:mod:`mendcrm.store.records`); the others are
        decoded here. The result is never cached nor a base to commit on (its ``signature`` is
        None). A file not in the one-table-per-line layout is loaded whole. Raise StoreError as
        :meth:`load` does.
        """
        opened = self._open_changed()
        if isinstance(opened, Snapshot):
            return opened
        fd, st, raw = opened
        os.close(fd)
        cached = self._cache
        spans = _table_spans(raw)
        if spans is None:
            return Snapshot(self._parse(raw, Signature.of(st), EMPTY).tables)
        view = memoryview(raw)
        tables: Tables = {}
        fragments: dict[str, bytes | memoryview] = {}
        texts: dict[str, TableText] = {}
        for name, start, end in spans:
            # Views into raw, not copies: a read of three tables of nine copies nothing.
            fragment = fragments[name] = view[start:end]
            if name not in names:
                continue
            known = cached.tables.get(name)
            if known is not None and cached.fragments.get(name) == fragment:
                tables[name] = known
                continue
            if name != "meta" and codec.is_current(fragment):
                texts[name] = TableText(raw, start, end, lambda: self._report_damage(raw))
                continue
            try:
                value = codec.decode(fragment)
            except ValueError:
                return Snapshot(self._parse_whole(raw))  # reports the damage with its position
            tables[name] = self._checked_table(name, value)
        return Snapshot(tables, fragments, texts=texts)

    def _report_damage(self, raw: bytes) -> NoReturn:
        """Given the file's bytes, some of which did not decode, raise the damage error (with
        its position, from parsing the file whole)."""
        self._parse_whole(raw)
        raise self.damaged("a record in it is not a JSON object")

    def _open_changed(self) -> Snapshot | tuple[int, os.stat_result, bytes]:
        """Return the cached snapshot if the file is unchanged (the empty store if it is
        missing), else an open descriptor on it, its stat and its bytes (the caller closes or
        keeps the descriptor). Raise StoreError if it cannot be read or is not a regular file."""
        try:
            current = Signature.of(os.stat(self.path))
        except FileNotFoundError:
            return EMPTY
        except OSError as exc:
            raise self._unreadable(exc.strerror or str(exc)) from exc
        if self._cache.signature == current:
            return self._cache
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return EMPTY
        except OSError as exc:
            raise self._unreadable(exc.strerror or str(exc)) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self._unreadable("it is not a regular file")
            return fd, st, _read_all(fd, st.st_size)
        except OSError as exc:
            os.close(fd)
            raise self._unreadable(exc.strerror or str(exc)) from exc
        except BaseException:
            os.close(fd)
            raise

    def _parse(self, raw: bytes, signature: Signature, previous: Snapshot) -> Snapshot:
        if not raw or raw.isspace():  # isspace stops at the first other byte; strip copies
            return Snapshot({}, {}, signature)
        split = _split_tables(raw)
        if split is None:
            return Snapshot(self._parse_whole(raw), {}, signature)
        tables: Tables = {}
        fragments: dict[str, bytes | memoryview] = {}
        for name, fragment in split:
            known = previous.tables.get(name)
            kept = previous.fragments.get(name)
            if known is not None and kept == fragment:
                tables[name], fragments[name] = known, bytes(kept)  # bytes: no copy
                continue
            try:
                value = codec.decode(fragment)
            except ValueError:
                # Not our layout after all (e.g. edited by hand): judge the file as a whole,
                # which also gives the error a position in the file.
                return Snapshot(self._parse_whole(raw), {}, signature)
            tables[name] = self._checked_table(name, value)
            fragments[name] = bytes(fragment)
        return Snapshot(tables, fragments, signature)

    def _parse_whole(self, raw: bytes) -> Tables:
        try:
            data = codec.decode(raw.lstrip())  # lstrip: no leading space is taken for the mark
        except ValueError as exc:
            raise self.damaged(f"it is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise self.damaged(f"it holds a JSON {type(data).__name__}, not an object of tables")
        return {name: self._checked_table(name, value) for name, value in data.items()}

    def _checked_table(self, name: str, value: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(value, dict):
            raise self.damaged(f"table {name!r} is a JSON {type(value).__name__}, not an object")
        for key, doc in value.items():
            if not isinstance(doc, dict):
                raise self.damaged(f"document {key!r} of table {name!r} is not an object")
        return value


class _HoldsTables(Protocol):
    def _tinydb_read(self) -> Tables: ...

    def _tinydb_write(self, tables: Tables) -> None: ...


class TransactionStorage(Storage):
    """TinyDB's view of a transaction: reads and writes go to the transaction's tables in memory.

    The file is written once, when the transaction commits.
    """

    def __init__(self, owner: _HoldsTables) -> None:
        self._owner = owner

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._owner._tinydb_read()

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._owner._tinydb_write(data)


class SnapshotStorage(Storage):
    """TinyDB's view of a read snapshot; writing through it is refused."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._tables

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise TypeError("a read view cannot change the store; use store.transaction()")


def _read_all(fd: int, size: int) -> bytes:
    # A first read of the size fstat gave (plus one byte) fills the result in place; reading in
    # fixed chunks and joining them would copy the whole file once more.
    first = os.read(fd, size + 1)
    chunks = [first]
    while first and (chunk := os.read(fd, max(size, 1 << 16))):
        chunks.append(chunk)
    return first if len(chunks) == 1 else b"".join(chunks)


__all__ = ["SnapshotStorage", "StoreFile", "TransactionStorage"]
