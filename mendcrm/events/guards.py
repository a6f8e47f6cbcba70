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

RRULE_CANDIDATE_BUDGET = 20_000
"""Candidate instances an RRULE may generate from DTSTART to the end of the span.

Counted, not timed: the same rule is refused on every machine and under any load. Expansion
costs about 100 µs per candidate instance (recurring-ical-events on dateutil, measured on the
CI machine class), so the budget is about two seconds of work at worst. A daily meeting since
2000 counts about 9,900, a workday meeting since 1990 about 9,800, a birthday from year 1
about 9,400; the hostile yearly rule with every BYMONTH, BYMONTHDAY, BYHOUR, BYMINUTE and
BYSECOND counts about 10^7 in its first year alone.
"""

DAY_SCAN_WEIGHT = 0.01
"""A day examined and dropped costs about 1 µs, a hundredth of a candidate instance."""

PERIOD_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86_400,
    "WEEKLY": 604_800,
    "MONTHLY": 2_629_746,
    "YEARLY": 31_556_952,
}
DAYS_SCANNED = {"YEARLY": 366, "MONTHLY": 31, "WEEKLY": 7}
"""Days dateutil looks at in each period of these frequencies (its "dayset"); finer ones: 1."""

DAYS_PER_VALUE = {
    "BYMONTH": {"YEARLY": 31},
    "BYWEEKNO": {"YEARLY": 7},
    "BYYEARDAY": {"YEARLY": 1},
    "BYMONTHDAY": {"YEARLY": 12, "MONTHLY": 1},
    "BYDAY": {"YEARLY": 53, "MONTHLY": 5, "WEEKLY": 1},
}
"""Days a period can hold that pass one date part, per value of that part, by FREQ: a candidate
day must pass every date part given (RFC 5545 §3.3.10), so a period holds at most the fewest
any one part allows (BYMONTH=10: 31 days a year; BYDAY=MO,WE: 2 days a week)."""

TIME_PARTS = {
    # RFC 5545 §3.3.10's table: a BY part finer than FREQ expands each period into more
    # candidates; one as coarse as FREQ or coarser only limits, at no extra cost.
    "YEARLY": ("BYHOUR", "BYMINUTE", "BYSECOND"),
    "MONTHLY": ("BYHOUR", "BYMINUTE", "BYSECOND"),
    "WEEKLY": ("BYHOUR", "BYMINUTE", "BYSECOND"),
    "DAILY": ("BYHOUR", "BYMINUTE", "BYSECOND"),
    "HOURLY": ("BYMINUTE", "BYSECOND"),
    "MINUTELY": ("BYSECOND",),
    "SECONDLY": (),
}


def count_candidates(freq: str, interval: int, seconds: float, sizes: Mapping[str, int]) -> int:
    """Given a valid FREQ, an INTERVAL ≥ 1, the seconds from the rule's start to where its
    expansion stops, and how many values each BY part present has, return the candidate
    instances the expansion examines on the way (the one count every rule guard uses).

    Per period: for each candidate day (DTSTART's one without a date part, else the fewest days
    any one date part allows, see :data:`DAYS_PER_VALUE`) the product of the time parts that
    expand at this FREQ, plus the days examined (:data:`DAYS_SCANNED`) weighted by
    :data:`DAY_SCAN_WEIGHT`. COUNT does not lower the bound: candidates that BYSETPOS or the
    filters drop cost as much as those kept.
    """
    if seconds <= 0:
        return 0
    periods = math.ceil(seconds / (PERIOD_SECONDS[freq] * interval)) + 1
    scanned = DAYS_SCANNED.get(freq, 1)
    days = scanned if any(sizes.get(part) for part in DAYS_PER_VALUE) else 1
    for part, per_freq in DAYS_PER_VALUE.items():
        if sizes.get(part) and freq in per_freq:
            days = min(days, per_freq[freq] * sizes[part])
    times = math.prod(max(1, sizes.get(part, 0)) for part in TIME_PARTS[freq])
    return math.ceil(periods * (scanned * DAY_SCAN_WEIGHT + days * times))


def nesting_problem(text: str | list[str]) -> str | None:
    """Given raw iCalendar text (or its physical lines), return why its component nesting is
    unacceptable (deeper than :data:`MAX_NESTING`, or a component never closed), or None.

    RFC 5545 §3.4 and §3.6 delimit every component by BEGIN and END. icalendar drops a component
    whose END never comes, with everything in it, and says nothing: a calendar object cut off
    before its ``END:VCALENDAR`` (a truncated download) would lose its events silently.
    """
    open_names: list[str] = []
    for line in physical_lines(text) if isinstance(text, str) else text:
        head = line[:6].upper()
        if head == "BEGIN:":
            open_names.append(line[6:].strip().upper())
            if len(open_names) > MAX_NESTING:
                return f"components nested deeper than {MAX_NESTING} levels"
        elif head[:4] == "END:" and open_names:
            open_names.pop()
    if open_names:
        name = open_names[0] if open_names[0].isprintable() else repr(open_names[0])
        return f"BEGIN:{name} is never closed (no END:{name}; the object looks cut off)"
    return None


def _first(values: Any) -> Any:
    if isinstance(values, Sequence) and not isinstance(values, str | bytes):
        return values[0] if values else None
    return values


def as_utc(value: date | datetime, zone: tzinfo) -> datetime:
    """Given a date, a floating or a zoned time and the calendar's zone, return it in UTC (a
    date as its midnight, a floating time in ``zone``)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _count(rule: Mapping[str, Any], part: str) -> int:
    values = rule.get(part)
    if values is None:
        return 0
    if isinstance(values, Sequence) and not isinstance(values, str | bytes):
        return len(values)
    return 1


def rrule_candidates(
    rule: Mapping[str, Any], first: date | datetime, until: datetime, zone: tzinfo
) -> int:
    """Given a parsed RRULE with a valid FREQ and INTERVAL ≥ 1, its DTSTART and the end of the
    span, return an upper bound on the candidate instances an expansion generates on its way
    from DTSTART to the span's end (or the rule's UNTIL, if sooner): see
    :func:`count_candidates`."""
    freq = str(_first(rule.get("FREQ"))).upper()
    interval = int(_first(rule.get("INTERVAL")) or 1)
    end = until
    rule_until = _first(rule.get("UNTIL"))
    if isinstance(rule_until, date):
        end = min(end, as_utc(rule_until, zone))
    seconds = (end - as_utc(first, zone)).total_seconds()
    sizes = {part: _count(rule, part) for part in (*DAYS_PER_VALUE, *TIME_PARTS["YEARLY"])}
    return count_candidates(freq, interval, seconds, sizes)


def rrule_problem(
    rule: Mapping[str, Any],
    first: date | datetime,
    until: datetime,
    zone: tzinfo,
    budget: int = RRULE_CANDIDATE_BUDGET,
) -> str | None:
    """Given a parsed RRULE, its DTSTART and the end of the span to expand, return why the rule
    must not be expanded (unknown FREQ, INTERVAL that is not a whole number ≥ 1, more candidate
    instances than ``budget`` — see :func:`rrule_candidates`), or None."""
    freq = str(_first(rule.get("FREQ")) or "").upper()
    if freq not in PERIOD_SECONDS:
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
    candidates = rrule_candidates(rule, first, until, zone)
    if candidates > budget:
        return (
            f"RRULE FREQ={freq} would generate about 10^{int(math.log10(candidates))} candidate "
            f"instances before the window ends (limit {budget:,})"
        )
    return None


__all__ = [
    "MAX_NESTING",
    "RRULE_CANDIDATE_BUDGET",
    "as_utc",
    "count_candidates",
    "nesting_problem",
    "rrule_candidates",
    "rrule_problem",
]
