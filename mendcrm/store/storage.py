"""The store's file on disk: a lock beside it, change-aware loading, one atomic write per commit.

Writers take an exclusive ``flock`` on a sidecar file (``store.json.lock``) — never on the data
file itself, which every commit replaces. A commit writes the whole store to a temporary file in
the same folder, fsyncs it, keeps the previous version as ``store.json.bak`` (a hard link, so it
is always a complete old file), ``os.replace``s the temporary file over the store and fsyncs the
folder. A crash at any instant therefore leaves the old or the new version, and readers need no
lock: whatever file they open is whole.

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

:class:`TransactionStorage` and :class:`SnapshotStorage` are the TinyDB ``Storage`` classes the
store's tables talk to: they serve TinyDB's many ``read``/``write`` calls from memory, so the
file is touched once per transaction.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

from tinydb.storages import Storage

from mendcrm.errors import StoreError
from mendcrm.store import codec
from mendcrm.store.migrations import Tables
from mendcrm.store.records import TableText

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700

_TABLE_LINE = re.compile(rb'"([A-Za-z0-9_.-]+)":')
_IOV_MAX = 512


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
    a snapshot of :meth:`StoreFile.load_only`, which is never cached nor committed on).
    """

    tables: Tables
    fragments: Mapping[str, bytes | memoryview] = field(default_factory=dict)
    signature: Signature | None = None
    texts: Mapping[str, TableText] = field(default_factory=dict)
    """Tables of a view of some tables kept as text, to be decoded record by record."""


EMPTY = Snapshot({})


class StoreFile:
    """The file behind a store: loading, locking, committing and keeping backups.

    The last loaded version is cached together with an open descriptor on its inode. While that
    descriptor is open the inode number cannot be reused, so "the path still names the same
    inode, size and mtime" proves the cache is current; any other process's commit replaces the
    inode and forces a reload.
    """

    def __init__(self, path: Path, *, lock_timeout: float | None = None) -> None:
        self.path = path
        self.folder = path.parent
        self.backup_path = path.with_name(path.name + ".bak")
        self.lock_path = path.with_name(path.name + ".lock")
        self.lock_timeout = lock_timeout
        self._temp_pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{12}}\.tmp")
        self._cache = EMPTY
        self._anchor: int | None = None
        self._cache_lock = threading.Lock()

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

    def _remember(self, snapshot: Snapshot, fd: int) -> None:
        with self._cache_lock:
            old, self._anchor, self._cache = self._anchor, fd, snapshot
        if old is not None:
            os.close(old)

    def close(self) -> None:
        """Drop the cached version and its open descriptor."""
        with self._cache_lock:
            old, self._anchor, self._cache = self._anchor, None, EMPTY
        if old is not None:
            os.close(old)

    def __del__(self) -> None:
        with suppress(Exception):
            self.close()

    # -- locking ------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (creating the folder and lock file if needed).

        Temporary files left by a writer that died mid-commit are removed first: no live writer
        can own one while we hold the lock. Raise StoreError if the lock cannot be had.
        """
        self._ensure_folder()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as exc:
            raise StoreError(
                f"cannot open the store's lock file {self.lock_path}: {exc.strerror or exc}",
                hint=f"check that {self.folder} is yours and writable",
            ) from exc
        try:
            with suppress(OSError):  # a lock file someone else made still locks
                _restrict(fd)
            self._acquire(fd)
            try:
                self._remove_stray_temps()
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _acquire(self, fd: int) -> None:
        if self.lock_timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreError(
                        f"the store {self.path} is busy: another MendCRM process holds its lock",
                        hint="wait for it to finish (a sync may be running) and try again",
                    ) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.2)

    def _ensure_folder(self) -> None:
        missing: list[Path] = []
        folder = self.folder
        while not os.path.lexists(folder):
            missing.append(folder)
            folder = folder.parent
        # Only folders created here are set to 0700; an existing one is the user's business.
        for created in reversed(missing):
            try:
                os.mkdir(created, FOLDER_MODE)
            except FileExistsError:
                continue
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store's folder {created}: {exc.strerror or exc}",
                    hint=f"check the permissions of {created.parent}, or set [store] path",
                ) from exc
            os.chmod(created, FOLDER_MODE)

    def _remove_stray_temps(self) -> None:
        removed = 0
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if self._temp_pattern.fullmatch(entry.name):
                        with suppress(FileNotFoundError):
                            os.unlink(entry.path)
                            removed += 1
        except OSError as exc:
            log.warning("could not clean temporary files in %s: %s", self.folder, exc)
        if removed:
            log.info("removed %d temporary file(s) left by an interrupted write", removed)

    # -- writing ------------------------------------------------------------------------------

    def commit(
        self,
        tables: Tables,
        base: Snapshot,
        known: Mapping[str, tuple[Mapping[str, Any], bytes]] | None = None,
    ) -> Snapshot:
        """Given the new tables, the snapshot they derive from and optionally the text of
        some of them already encoded (name → (the very table object, its text)), write them as
        the new version.

        The caller holds the lock. Tables shared with ``base``, and those ``known`` holds, are
        not serialised again. Return the new snapshot; raise StoreError, with the store file
        left as it was, if any step before the final rename fails.
        """
        chunks, fragments = _serialise(tables, base, known or {})
        fd, temp = self._new_temp()
        try:
            _write_all(fd, chunks)
            os.fsync(fd)
            signature = Signature.of(os.fstat(fd))
            self._keep_backup()
            os.replace(temp, self.path)
        except OSError as exc:
            os.close(fd)
            _discard(temp)
            raise self._write_failed(exc) from exc
        except BaseException:
            os.close(fd)
            _discard(temp)
            raise
        snapshot = Snapshot(tables, fragments, signature)
        self._remember(snapshot, fd)
        try:
            self._sync_folder()
        except OSError as exc:
            raise StoreError(
                f"the store {self.path} was written but its folder could not be flushed to disk:"
                f" {exc.strerror or exc}",
                hint="the change may be lost if the machine crashes now; check the disk",
            ) from exc
        return snapshot

    def keep_copy(self, destination: Path) -> None:
        """Keep the current file as ``destination`` (replacing it); the caller holds the lock.

        Raise StoreError if the copy cannot be made.
        """
        try:
            self._link_or_copy(destination)
            self._sync_folder()
        except OSError as exc:
            raise StoreError(
                f"cannot keep a copy of the store {self.path} as {destination}:"
                f" {exc.strerror or exc}",
                hint="the store was left as it was; free disk space or fix permissions and retry",
            ) from exc

    def write_copy(self, destination: Path, tables: Tables) -> None:
        """Given tables, write them as the file ``destination`` beside the store (atomically,
        mode 0600), in a layout any store reader parses; raise OSError if that fails."""
        from mendcrm.files import write_private

        write_private(destination, json.dumps(tables, ensure_ascii=False) + "\n")
        self._sync_folder()

    def _keep_backup(self) -> None:
        if os.path.lexists(self.path):
            self._link_or_copy(self.backup_path)

    def _link_or_copy(self, destination: Path) -> None:
        # A hard link costs nothing and is a complete old version, because MendCRM never
        # modifies the store file in place. A file with another mode (not written by MendCRM,
        # e.g. by stock TinyDB) is copied instead, so the backup is 0600 and the original is
        # left as it was; so is any file where links are not supported.
        temp = self._temp_name()
        try:
            if stat.S_IMODE(os.stat(self.path).st_mode) != FILE_MODE:
                self._copy_into(temp)
            else:
                try:
                    os.link(self.path, temp)
                except OSError as exc:
                    if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.EOPNOTSUPP):
                        raise
                    self._copy_into(temp)
            os.replace(temp, destination)
        except BaseException:
            _discard(temp)
            raise

    def _copy_into(self, temp: str) -> None:
        with open(self.path, "rb") as source:
            data = source.read()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            _restrict(fd)
            _write_all(fd, [data])
            os.fsync(fd)
        finally:
            os.close(fd)

    def _temp_name(self) -> str:
        # The lock holder is the only writer and stray files were removed when it took the
        # lock, so 48 random bits make a clash practically impossible (O_EXCL catches one).
        # (os.urandom is what secrets.token_hex reads, without importing hmac and hashlib.)
        return os.path.join(self.folder, f".{self.path.name}.{os.urandom(6).hex()}.tmp")

    def _new_temp(self) -> tuple[int, str]:
        while True:
            temp = self._temp_name()
            try:
                fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            except FileExistsError:
                continue
            except OSError as exc:
                raise self._write_failed(exc) from exc
            try:
                _restrict(fd)
            except OSError as exc:
                os.close(fd)
                _discard(temp)
                raise self._write_failed(exc) from exc
            return fd, temp

    def _sync_folder(self) -> None:
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        except OSError as exc:
            # Some file systems cannot fsync a directory; the rename is as durable as they allow.
            if exc.errno != errno.EINVAL:
                raise
        finally:
            os.close(fd)

    # -- errors -------------------------------------------------------------------------------

    def backup_hint(self) -> str:
        """Return what the user can do about a damaged file, naming the backup if there is one."""
        if os.path.exists(self.backup_path):
            return (
                f"a backup of the previous version exists: copy {self.backup_path} over"
                f" {self.path} to restore it"
            )
        return (
            f"no backup ({self.backup_path}) exists; repair the file by hand, or move it aside"
            " to start an empty store"
        )

    def damaged(self, detail: str) -> StoreError:
        """Given what is wrong with the file, return the error that refuses to use it."""
        return StoreError(
            f"the store {self.path} is damaged ({detail}); MendCRM will not write to it",
            hint=self.backup_hint(),
        )

    def _unreadable(self, reason: str) -> StoreError:
        return StoreError(
            f"cannot read the store {self.path}: {reason}",
            hint=f"check that the file is yours and readable (mode 0600); {self.backup_hint()}",
        )

    def _write_failed(self, exc: OSError) -> StoreError:
        unchanged = f"the store {self.path} was left as it was"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = f"free some disk space in {self.folder} and try again; {unchanged}"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = f"make {self.folder} writable by you and try again; {unchanged}"
        else:
            hint = f"the disk reported an error; check it and try again; {unchanged}"
        return StoreError(f"cannot write the store {self.path}: {exc.strerror or exc}", hint=hint)


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


def _read_all(fd: int, size: int) -> bytes:
    # A first read of the size fstat gave (plus one byte) fills the result in place; reading in
    # fixed chunks and joining them would copy the whole file once more.
    first = os.read(fd, size + 1)
    chunks = [first]
    while first and (chunk := os.read(fd, max(size, 1 << 16))):
        chunks.append(chunk)
    return first if len(chunks) == 1 else b"".join(chunks)


def _write_all(fd: int, chunks: list[bytes]) -> None:
    # writev hands the kernel every table's text as is; joining them first would copy the
    # whole file once more in memory.
    pending = [memoryview(chunk) for chunk in chunks if chunk]
    while pending:
        written = os.writev(fd, pending[:_IOV_MAX])
        if written <= 0:
            raise OSError(errno.EIO, "the write made no progress")
        while written:
            head = pending[0]
            if written < len(head):
                pending[0] = head[written:]
                break
            written -= len(head)
            pending.pop(0)


def _restrict(fd: int) -> None:
    # The umask can only take bits away; a umask of e.g. 0177 would still leave a file we
    # cannot write, so set the mode outright.
    if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)


def _discard(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


__all__ = [
    "EMPTY",
    "FILE_MODE",
    "FOLDER_MODE",
    "Signature",
    "Snapshot",
    "SnapshotStorage",
    "StoreFile",
    "TransactionStorage",
]
