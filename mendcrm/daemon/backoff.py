"""Per-source back-off: a failing calendar source is retried less and less often, then recovers.

Pure bookkeeping, no I/O: the daemon asks :meth:`SourceBackoff.due` which sources to sync now and
reports each outcome. After the n-th failure in a row a source waits ``min(base·2ⁿ⁻¹, cap)``; its
first success clears the count. The state also feeds the health record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from mendcrm.model import to_iso

BASE_DELAY = timedelta(minutes=1)


@dataclass(frozen=True)
class SourceState:
    """What the daemon knows about one source's recent syncs."""

    failures: int = 0
    next_attempt: datetime | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return to_iso(value) if value else None

        return {
            "failures": self.failures,
            "next_attempt_at": iso(self.next_attempt),
            "last_attempt_at": iso(self.last_attempt),
            "last_success_at": iso(self.last_success),
            "last_error": self.last_error,
        }


class SourceBackoff:
    """The back-off state of every source, keyed by source name (``account:NAME``/``feed:NAME``)."""

    def __init__(self, cap: timedelta, base: timedelta = BASE_DELAY) -> None:
        self.cap = cap
        self.base = base
        self.states: dict[str, SourceState] = {}

    def delay(self, failures: int) -> timedelta:
        """Given the failures in a row, return the wait before the next attempt."""
        return min(self.cap, self.base * 2 ** max(0, failures - 1))

    def due(self, sources: list[str], now: datetime, *, retries_only: bool = False) -> list[str]:
        """Given the configured sources, return those to sync now.

        ``retries_only`` picks only the ones waiting on a retry or never tried (for the frequent
        retry job); otherwise every source whose back-off has passed.
        """
        chosen = []
        for source in sources:
            state = self.states.get(source, SourceState())
            if state.next_attempt is not None and state.next_attempt > now:
                continue
            if retries_only and state.failures == 0 and state.last_attempt is not None:
                continue
            chosen.append(source)
        return chosen

    def succeeded(self, source: str, now: datetime) -> None:
        state = self.states.get(source, SourceState())
        self.states[source] = replace(
            state, failures=0, next_attempt=None, last_attempt=now, last_success=now
        )

    def failed(self, source: str, now: datetime, error: str) -> SourceState:
        state = self.states.get(source, SourceState())
        failures = state.failures + 1
        new = replace(
            state,
            failures=failures,
            next_attempt=now + self.delay(failures),
            last_attempt=now,
            last_error=error,
        )
        self.states[source] = new
        return new

    def forget_except(self, sources: list[str]) -> None:
        """Drop the state of sources no longer configured (after a reload)."""
        for name in list(self.states):
            if name not in sources:
                del self.states[name]


__all__ = ["BASE_DELAY", "SourceBackoff", "SourceState"]
