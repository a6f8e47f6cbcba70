"""SIGINT and SIGTERM as one stop request, for ``mendcrm demo --keep``.

A service manager or ``kill`` sends SIGTERM, a terminal sends SIGINT: both mean "stop and clean
up". The handlers are installed explicitly, so a demo started with SIGINT ignored (a background
job of a non-interactive shell) still stops on it. Waiting is on a :class:`threading.Event` that
the handler sets, which cannot miss a signal the way ``signal.pause()`` can when the signal lands
between Python's last check and the ``pause`` call.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """A context manager: while it is open, SIGINT and SIGTERM set :attr:`event`.

    Before :meth:`wait` is called a signal also raises KeyboardInterrupt, as Ctrl-C always
    does, so work in progress unwinds through its ``finally`` blocks; during :meth:`wait` it
    only ends the wait.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: str | None = None
        self._waiting = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        self.event.set()
        if not self._waiting:
            raise KeyboardInterrupt

    def wait(self) -> None:
        """Return once SIGINT or SIGTERM has arrived (at once if one already has)."""
        self._waiting = True
        # The bound only lets Python look at pending signals on every platform; the event
        # alone decides when to return.
        while not self.event.wait(timeout=1.0):
            pass


__all__ = ["STOP_SIGNALS", "StopRequest"]
