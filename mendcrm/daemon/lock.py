"""One daemon per store: an OS file lock held for the life of the process.

The lock is ``fcntl.flock`` on ``<store>.daemon.lock``. The kernel drops it when the process
ends in any way (``kill -9`` included), so a restart never trips over a stale lock — unlike a PID
file, which can only be guessed at. The file also holds the holder's pid, for messages only.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from mendcrm.errors import MendError
from mendcrm.files import private_folder


class DaemonRunningError(MendError):
    """Another daemon already holds the store's lock."""


def lock_path_for(store_path: Path) -> Path:
    """Given the store's path, return the path of its daemon lock file."""
    return store_path.with_name(store_path.name + ".daemon.lock")


class DaemonLock:
    """The store's daemon lock; :meth:`acquire` it once, keep the object for the process's life."""

    def __init__(self, store_path: Path) -> None:
        self.path = lock_path_for(store_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid; raise DaemonRunningError if another process holds it."""
        private_folder(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise DaemonRunningError(
                f"another mendcrm daemon is already running for this store{who}; lock {self.path}",
                hint="stop it first (`systemctl --user stop mendcrm`), or use another store",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (the process's exit does the same)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def running_daemon_pid(store_path: Path) -> int | None:
    """Given the store's path, return the running daemon's pid (0 if unknown), or None if none runs.

    Probes the lock without taking it for longer than an instant, and never creates the file.
    """
    path = lock_path_for(store_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


__all__ = ["DaemonLock", "DaemonRunningError", "lock_path_for", "running_daemon_pid"]
