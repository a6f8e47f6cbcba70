"""Cheap checks that keep hostile calendar data from costing unbounded time or memory.

Parsing and expansion are only as safe as their input: dateutil iterates an RRULE from DTSTART
one period at a time (INTERVAL=0 never advances, dateutil #1441; FREQ=SECONDLY from years ago
takes billions of steps), and a deeply nested object can exhaust recursion further down. These
checks run before the expensive work and say, in words, what was refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from mendcrm.events.contentlines import physical_lines

MAX_NESTING = 8
"""VCALENDAR > VEVENT > VALARM is three deep; anything past this is not a real calendar."""

RRULE_STEP_BUDGET = 100_000
"""Iteration steps an RRULE may cost to reach the end of the span (about a second at worst)."""

_PERIOD_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86_400,
    "WEEKLY": 604_800,
    "MONTHLY": 2_629_746,
    "YEARLY": 31_556_952,
}
_EXPANDING_PARTS = (
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
)


def nesting_problem(text: str) -> str | None:
    """Given raw iCalendar text, return why its component nesting is unacceptable, or None."""
    depth = deepest = 0
    for line in physical_lines(text):
        head = line[:6].upper()
        if head == "BEGIN:":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                return f"components nested deeper than {MAX_NESTING} levels"
        elif head[:4] == "END:":
            depth -= 1
    return None


def _first(values: Any) -> Any:
    if isinstance(values, Sequence) and not isinstance(values, str | bytes):
        return values[0] if values else None
    return values


def _as_utc(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def rrule_problem(
    rule: Mapping[str, Any],
    first: date | datetime,
    until: datetime,
    zone: tzinfo,
    budget: int = RRULE_STEP_BUDGET,
) -> str | None:
    """Given a parsed RRULE, its DTSTART and the end of the span to expand, return why the rule
    must not be expanded (INTERVAL=0, unknown FREQ, too many iteration steps), or None."""
    freq = str(_first(rule.get("FREQ")) or "").upper()
    if freq not in _PERIOD_SECONDS:
        return f"RRULE has no valid FREQ ({freq or 'missing'})"
    interval = _first(rule.get("INTERVAL"))
    if interval is None:
        interval = 1
    try:
        interval = int(interval)
    except (TypeError, ValueError):
        return f"RRULE INTERVAL={interval!r} is not a number"
    if interval < 1:
        return f"RRULE INTERVAL={interval} never advances"
    end = until
    rule_until = _first(rule.get("UNTIL"))
    if isinstance(rule_until, date):
        end = min(end, _as_utc(rule_until, zone))
    seconds = (end - _as_utc(first, zone)).total_seconds()
    if seconds <= 0:
        return None
    per_period = 1
    for part in _EXPANDING_PARTS:
        values = rule.get(part)
        if isinstance(values, Sequence) and not isinstance(values, str):
            per_period *= max(1, len(values))
    days = rule.get("BYDAY")
    if isinstance(days, Sequence) and not isinstance(days, str):
        per_period *= max(1, len(days)) * {"YEARLY": 53, "MONTHLY": 5}.get(freq, 1)
    steps = seconds / (_PERIOD_SECONDS[freq] * interval) * min(per_period, 100_000)
    if steps > budget:
        return (
            f"RRULE FREQ={freq} would take about 10^{int(math.log10(steps))} steps to reach the "
            f"window (limit {budget})"
        )
    return None


__all__ = ["MAX_NESTING", "RRULE_STEP_BUDGET", "nesting_problem", "rrule_problem"]
