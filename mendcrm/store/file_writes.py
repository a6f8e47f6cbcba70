"""One atomic write per commit, and the backups kept beside the store file.

A commit writes the whole store to a temporary file in the same folder, fsyncs it, keeps the
previous version as ``store.json.bak`` (a hard link, so it is always a complete old file),
``os.replace``s the temporary file over the store and fsyncs the folder. A crash at any instant
therefore leaves the old or the new version. Separate from the reading
(:mod:`mendcrm.store.storage`) because this is the crash-safety-critical path, kept in one place.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mendcrm.errors import StoreError
from mendcrm.store.file_state import FILE_MODE, FileState, _discard, _restrict
from mendcrm.store.layout import Signature, Snapshot, _serialise
from mendcrm.store.migrations import Tables

_IOV_MAX = 512


class FileWrites(FileState):
    """The writing part of :class:`~mendcrm.store.storage.StoreFile`; the caller holds the lock
    (:class:`~mendcrm.store.file_lock.FileLock`)."""

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


__all__ = ["FileWrites"]
