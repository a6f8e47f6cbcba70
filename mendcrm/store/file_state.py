"""What every part of :class:`~mendcrm.store.storage.StoreFile` shares: the paths of the file
and of its companions (backup, lock, temporary files), the cached version with the descriptor
that anchors it, and the errors that name them.

It is separate so that the lock (:mod:`mendcrm.store.file_lock`), the atomic write
(:mod:`mendcrm.store.file_writes`) and the reading (:mod:`mendcrm.store.storage`) can each live
in a module of their own, built on the same state, without importing one another.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from contextlib import suppress
from pathlib import Path

from mendcrm.errors import StoreError
from mendcrm.store.layout import EMPTY, Snapshot

FILE_MODE = 0o600
FOLDER_MODE = 0o700


class FileState:
    """The store file's paths, its cached version and the errors about it (see
    :class:`~mendcrm.store.storage.StoreFile`, which is built on this)."""

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


def _restrict(fd: int) -> None:
    # The umask can only take bits away; a umask of e.g. 0177 would still leave a file we
    # cannot write, so set the mode outright.
    if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)


def _discard(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


__all__ = ["FILE_MODE", "FOLDER_MODE", "FileState"]
