"""Time as a dependency: the pipeline and the daemon ask a :class:`Clock`, never ``datetime.now``.

Tests pass a :class:`FrozenClock` (or use time-machine) so nothing sleeps to wait.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the current time and waiting come from."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait for ``seconds`` (a frozen clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class FrozenClock:
    """A clock that moves only when told to: ``sleep`` and ``advance`` step it forward."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))

    def advance(self, delta: timedelta) -> None:
        self._now += delta


__all__ = ["Clock", "FrozenClock", "SystemClock"]
