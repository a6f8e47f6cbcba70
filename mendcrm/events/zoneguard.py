"""The work a VTIMEZONE's rules cause, counted before icalendar builds the zone.

icalendar turns each STANDARD/DAYLIGHT RRULE into every transition it names, from the
sub-component's DTSTART to the rule's UNTIL or, with neither UNTIL nor COUNT, to 2038-12-31
(``fix_rrule_until``), whatever span is being read. A zone written with ``RRULE:FREQ=DAILY``
from 1601 is 160,000 transitions (7 s); ``FREQ=SECONDLY`` would never finish. Real zones change
once or twice a year: Outlook writes ``FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10`` from 1601.

Counted by the one rule counter, :func:`mendcrm.events.guards.count_candidates` (periods ×
candidates per period, plus the days examined at a hundredth). Outlook's rule from 1601 counts
439 × (3.66 + 31) ≈ 15,200.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from mendcrm.events.contentlines import physical_lines
from mendcrm.events.guards import PERIOD_SECONDS, count_candidates

ZONE_RULE_BUDGET = 100_000
"""Counted candidates all the VTIMEZONE rules of one object may cost together.

Six Outlook rules from 1601 (three zones) count about 91,000 and read in milliseconds; the worst
rule within budget (one transition per candidate, measured ~45 µs each) about 4.5 s."""

ZONE_RULE_END = datetime(2039, 1, 1, tzinfo=UTC)
"""Where icalendar stops a zone rule that has neither UNTIL nor COUNT."""

_LAST = datetime(9999, 12, 31, tzinfo=UTC)
"""A rule with COUNT and no UNTIL may examine periods up to dateutil's last year."""

_UNBOUNDED = 10**18
"""The count of a rule that never advances (INTERVAL below 1)."""

_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?Z?$")


def _parse_date(value: str) -> datetime | None:
    match = _DATE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(p) for p in match.groups(default="0"))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _parse_rule(value: str) -> dict[str, list[str]]:
    rule: dict[str, list[str]] = {}
    for part in value.split(";"):
        name, _, values = part.partition("=")
        rule[name.strip().upper()] = [v.strip() for v in values.split(",")]
    return rule


def zone_rule_candidates(value: str, dtstart: str) -> int | None:
    """Given a STANDARD/DAYLIGHT RRULE value and DTSTART value as written, return the counted
    candidates icalendar's expansion of it examines; None if it is not a rule dateutil expands
    (no valid FREQ or DTSTART: icalendar then fails on it, costing nothing). A whole number of
    at least 1 is required of INTERVAL, else it never advances (dateutil #1441): that counts as
    unbounded."""
    rule = _parse_rule(value)
    freq = (rule.get("FREQ") or [""])[0].upper()
    first = _parse_date(dtstart)
    if freq not in PERIOD_SECONDS or first is None:
        return None
    try:
        interval = int((rule.get("INTERVAL") or ["1"])[0])
    except ValueError:
        return None
    if interval < 1:
        return _UNBOUNDED
    until = _parse_date((rule.get("UNTIL") or [""])[0])
    end = until if until is not None else (_LAST if "COUNT" in rule else ZONE_RULE_END)
    seconds = (end - first).total_seconds()
    if seconds <= 0:
        return 0
    return count_candidates(
        freq, interval, seconds, {part: len(vals) for part, vals in rule.items()}
    )


def zone_rules_problem(text: str, budget: int = ZONE_RULE_BUDGET) -> str | None:
    """Given an object's unfolded iCalendar text, return why building its VTIMEZONEs would cost
    too much (their rules together count more than ``budget`` candidates, see
    :func:`zone_rule_candidates`), naming the worst zone; None if they are affordable."""
    total = 0
    worst: tuple[int, str, str] = (0, "", "")
    tzid, kind, dtstart = "", "", ""
    rules: list[str] = []
    depth = zone_depth = 0
    for line in physical_lines(text):
        head = line[:20].upper()
        if head.startswith("BEGIN:"):
            depth += 1
            name = line[6:].strip().upper()
            if name == "VTIMEZONE":
                zone_depth, tzid = depth, ""
            elif zone_depth and depth == zone_depth + 1:
                kind, dtstart, rules = name, "", []
        elif head.startswith("END:"):
            if zone_depth and depth == zone_depth + 1:
                for rule in rules:
                    count = zone_rule_candidates(rule, dtstart)
                    if count is None:
                        continue
                    total += count
                    if count > worst[0]:
                        worst = (count, tzid, kind)
            if depth == zone_depth:
                zone_depth = 0
            depth -= 1
        elif zone_depth:
            name, _, value = line.partition(":")
            name = name.split(";", 1)[0].strip().upper()
            if depth == zone_depth and name == "TZID":
                tzid = value.strip()
            elif depth == zone_depth + 1 and name == "DTSTART":
                dtstart = value
            elif depth == zone_depth + 1 and name == "RRULE":
                rules.append(value)
    if total <= budget:
        return None
    size = "unbounded" if total >= _UNBOUNDED else f"about 10^{int(math.log10(total))}"
    return (
        f"VTIMEZONE {worst[1]!r}: its {worst[2]} RRULE and the object's other zone rules would "
        f"generate {size} transitions (limit {budget:,}); a time zone changes once or twice a year"
    )


__all__ = ["ZONE_RULE_BUDGET", "zone_rule_candidates", "zone_rules_problem"]
