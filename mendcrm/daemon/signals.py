"""Signals for the daemon, and a sleep that a signal cuts short.

``time.sleep`` resumes after a signal handler returns (PEP 475), so a daemon sleeping 15 minutes
would notice SIGTERM only when it woke. Instead the C-level signal handler writes to a pipe
(``signal.set_wakeup_fd``) and :class:`SignalClock` sleeps in ``select`` on that pipe: any signal
wakes it at once, and an idle daemon uses no CPU in between.
"""

from __future__ import annotations

import os
import select
import signal
from collections.abc import Callable, Sequence
from datetime import datetime
from types import FrameType
from typing import Any

from mendcrm.clock import SystemClock


class StopNow(BaseException):
    """Raised inside the current step when a second stop signal asks not to wait for it.

    A BaseException, so a plugin's or library's ``except Exception`` cannot swallow it; the store
    discards the open transaction, so the store stays consistent.
    """


class SignalClock(SystemClock):
    """The system clock whose :meth:`sleep` returns early when any signal arrives."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def now(self) -> datetime:
        return super().now()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        ready, _, _ = select.select([self._read], [], [], seconds)
        if ready:
            self._drain()

    def wait_for(self, waitables: Sequence[Any], timeout: float | None = None) -> list[Any]:
        """Given connections, sockets or process sentinels and a timeout in seconds (None:
        none), block until one of them is ready, any signal arrives or the timeout passes;
        return the ready ones (empty if only a signal or the timeout woke us)."""
        from multiprocessing.connection import wait

        ready = wait([*waitables, self._read], timeout)
        if self._read in ready:
            self._drain()
        return [w for w in ready if w != self._read]

    def _drain(self) -> None:
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._read)
        os.close(self._write)


def install_handlers(
    on_stop: Callable[[], None],
    on_reload: Callable[[], None],
    stopping: Callable[[], bool],
    on_sync: Callable[[], None] | None = None,
) -> None:
    """Route SIGTERM/SIGINT to ``on_stop`` (a second raises StopNow), SIGHUP to ``on_reload``,
    SIGUSR1 to ``on_sync`` (sync now) if given."""

    def stop(signum: int, frame: FrameType | None) -> None:
        if stopping():
            raise StopNow()
        on_stop()

    def reload(signum: int, frame: FrameType | None) -> None:
        on_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    if on_sync is not None:
        sync = on_sync

        def sync_now(signum: int, frame: FrameType | None) -> None:
            sync()

        signal.signal(signal.SIGUSR1, sync_now)


__all__ = ["SignalClock", "StopNow", "install_handlers"]
