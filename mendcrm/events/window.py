"""The stretch of time MendCRM looks at: the sync window and the wider span it keeps expanded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LOOKBACK = timedelta(days=1)
"""The window starts this long before now, so an encounter just over still gets a follow-up."""


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open stretch of time [start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a Span needs aware datetimes")

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Given an occurrence's start and end, return whether any of it falls in the span.

        A zero-length occurrence counts when it starts inside the span.
        """
        if end <= start:
            return self.start <= start < self.end
        return start < self.end and end > self.start

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


def sync_window(now: datetime, lookahead_days: int) -> Span:
    """Given the current time and ``[sync] lookahead_days``, return the window of interest."""
    now = now.astimezone(UTC)
    return Span(now - LOOKBACK, now + timedelta(days=max(1, lookahead_days)))


__all__ = ["LOOKBACK", "Span", "sync_window"]
