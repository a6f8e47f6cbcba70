"""The store's lock: an exclusive ``flock`` on a sidecar file, ``store.json.lock``.

The lock is taken on a file of its own, never on the data file, which every commit replaces.
Taking it also creates missing folders (0700) and clears temporary files left by a writer that
died mid-commit. Separate from :mod:`mendcrm.store.file_writes` because a lock is held around
more than a write: a whole transaction, a migration, a backup.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mendcrm.errors import StoreError
from mendcrm.store.file_state import FILE_MODE, FOLDER_MODE, FileState, _restrict

log = logging.getLogger(__name__)


class FileLock(FileState):
    """The lock part of :class:`~mendcrm.store.storage.StoreFile`."""

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


__all__ = ["FileLock"]
