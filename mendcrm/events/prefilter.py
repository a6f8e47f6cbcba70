"""A proof, from the raw octets, that a calendar object has no occurrence in a span.

A sync that downloads more than the window (a full listing fetched by calendar-multiget, for a
server whose time-range query is slower than serving everything) would otherwise parse every
object with icalendar. :func:`proven_outside` reads only the lines that place an event in
time, and answers True only when it *proves* that :func:`mendcrm.events.reader.read_object`
would find no occurrence in the span; anything it does not fully understand answers False, and
the object is read the normal way. So skipping never changes what is read, only what it costs.

What it understands, per VEVENT (RFC 5545 §3.6.1), after unfolding at the octet level (§3.1):

- DTSTART, DTEND and RECURRENCE-ID written as a plain DATE or DATE-TIME (§3.3.4, §3.3.5), in
  any zone (TZID, UTC or floating), and DURATION (§3.3.6) with no sign or "+";
- an RRULE (§3.3.10) bounded by UNTIL, or by COUNT when the rule has no BY parts and its FREQ
  steps evenly (DAILY, WEEKLY; MONTHLY on days 1–28; YEARLY off 29 February);
- EXDATE, which only removes instances, and VALARM sub-components, which hold no event times.

Everything else means "read it": RDATE and EXRULE, RANGE=THISANDFUTURE overrides (they move
later instances), X-WR-TIMEZONE (it moves times into a zone), a VEVENT nested elsewhere than in a
VCALENDAR, unbalanced BEGIN/END, a bare CR line end, a property written twice, any value that
does not fit the grammar above, and a VTIMEZONE offset of a day or more.

Zones are never resolved: every time is compared as if it were UTC, and the proof keeps a
margin of :data:`SLACK` on both sides of the span, which covers any zone offset (§3.3.14:
under 24 hours), the whole day an all-day end may be rounded up to (see
:mod:`mendcrm.events.lengths`), and a day more.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mendcrm.events.octets import BOM, unfold_octets
from mendcrm.events.window import Span

SLACK = timedelta(days=3)
"""How far beyond the span an event's written times must lie to be proven outside it."""

_DAY = timedelta(days=1)
_BARE_CR = re.compile(rb"\r(?!\n)")
_BLANK_BEFORE_FOLD = re.compile(rb"\n\r?\n[ \t]")
# Every pattern below runs on the upper-cased text with a line feed in front, so a line start
# is a plain "\n" (much cheaper than case-insensitive multi-line matching).
_BOUNDARY = re.compile(rb"\n[ \t]*(?:BEGIN|END)\b[^\n]*")
_STRICT_BOUNDARY = re.compile(rb"\n(BEGIN|END):([A-Z0-9-]+)\r?")
_TIMING = re.compile(rb"\n[ \t]*(?:DTSTART|DTEND|DURATION|RRULE|RECURRENCE-ID|RDATE|EXRULE)\b")
_PARAM = rb'(?:;[A-Z0-9-]+=(?:"[^"\r\n]*"|[^";:,\r\n]*)(?:,(?:"[^"\r\n]*"|[^";:,\r\n]*))*)'
_PROPERTY = re.compile(
    rb"\n(DTSTART|DTEND|DURATION|RRULE|RECURRENCE-ID)(" + _PARAM + rb"*):([^\r\n]*)"
)
_TIME = re.compile(rb"(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)Z?)?")
_DURATION = re.compile(
    rb"\+?P(?:(\d+)W|(\d+)D(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?|T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)"
)
_OFFSET = re.compile(rb"\nTZOFFSET(?:FROM|TO)[^:\r\n]*:[ \t]*[+-]?(\d\d)")
_EVEN_STEP = {b"DAILY": 1, b"WEEKLY": 7}


def _unfolded(data: bytes) -> bytes:
    """Return ``data`` unfolded as :func:`mendcrm.events.octets.unfold_octets` does; with no
    bare CR and no empty line before a continuation (checked first), plain replacements do the
    same at a fraction of the cost."""
    if _BLANK_BEFORE_FOLD.search(data):
        return unfold_octets(data)
    return (
        data.replace(b"\r\n ", b"")
        .replace(b"\r\n\t", b"")
        .replace(b"\n ", b"")
        .replace(b"\n\t", b"")
    )


def proven_outside(data: bytes, span: Span) -> bool:
    """Given one calendar object's raw octets and a span, return True only if no event in it
    can have an occurrence overlapping the span; False whenever that is not proven."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if _BARE_CR.search(data):
        return False  # a line end some parsers accept and others do not
    text = b"\n" + _unfolded(data).upper()
    if b"\nX-WR-TIMEZONE" in text:
        return False  # Google's zone for UTC times (the reader moves them into it)
    if b"\nTZOFFSET" in text and any(int(h) >= 24 for h in _OFFSET.findall(text)):
        return False
    events = _event_bodies(text)
    if not events:
        return False
    # Compared as naive times: a zone moves a time by less than a day, and SLACK covers it.
    before = span.start.astimezone(UTC).replace(tzinfo=None) - SLACK
    after = span.end.astimezone(UTC).replace(tzinfo=None) + SLACK
    for body in events:
        bounds = _bounds(body)
        if bounds is None:
            return False
        first, last = bounds
        if not (first >= after or last <= before):
            return False
    return True


def _event_bodies(text: bytes) -> list[bytes] | None:
    """Return each VEVENT's own lines (its sub-components cut out), or None if the BEGIN/END
    structure is not plain: every VEVENT at the top or right inside a VCALENDAR, only VALARMs
    inside it, every BEGIN closed by its END."""
    stack: list[bytes] = []
    bodies: list[bytes] = []
    pieces: list[bytes] = []
    mark = 0
    for match in _BOUNDARY.finditer(text):
        strict = _STRICT_BOUNDARY.fullmatch(match.group(0))
        if strict is None:
            return None
        kind, name = strict.group(1), strict.group(2)
        if kind == b"BEGIN":
            if name == b"VEVENT":
                if stack not in ([], [b"VCALENDAR"]):
                    return None
                pieces, mark = [], match.end()
            elif stack and stack[-1] == b"VEVENT":
                if name != b"VALARM":
                    return None
                pieces.append(text[mark : match.start()])
            stack.append(name)
            continue
        if not stack or stack.pop() != name:
            return None
        if name == b"VEVENT":
            pieces.append(text[mark : match.start()])
            bodies.append(b"".join(pieces))
        elif stack and stack[-1] == b"VEVENT":
            mark = match.end()
    if stack:
        return None
    return bodies


def _bounds(body: bytes) -> tuple[datetime, datetime] | None:
    """Given one VEVENT's own lines, return the earliest time any occurrence of it can start
    and the latest it can end (zones unresolved), or None if that cannot be told."""
    if b";RANGE=" in body:
        return None  # THISANDFUTURE moves every later instance (RFC 5545 §3.8.4.4)
    found: dict[bytes, bytes] = {}
    for match in _PROPERTY.finditer(body):
        name = match.group(1)
        if name in found:
            return None  # written twice: which one counts is the parser's choice
        found[name] = match.group(3).strip()
    if len(found) != len(_TIMING.findall(body)) or b"DTSTART" not in found:
        return None  # RDATE, EXRULE, or a timing property in a shape not covered above
    try:
        start = _time(found[b"DTSTART"])
        times = [start]
        for name in (b"DTEND", b"RECURRENCE-ID"):
            if name in found:
                times.append(_time(found[name]))
        length = _DAY
        if b"DTEND" in found:
            length = max(length, times[1] - start)
        if b"DURATION" in found:
            length = max(length, _duration(found[b"DURATION"]))
        first, last = min(times), max(times) + length
        if b"RRULE" in found:
            if b"DTEND" in found and times[1] < start:
                return None  # the expansion then starts from the end (see reader._expansion_start)
            rule_end = _rule_end(found[b"RRULE"], start)
            if rule_end is None:
                return first, datetime.max
            last = max(last, rule_end + length)
    except (ValueError, OverflowError):
        return None
    return first, last


def _time(value: bytes) -> datetime:
    match = _TIME.fullmatch(value)
    if match is None:
        raise ValueError("not a plain DATE or DATE-TIME")
    year, month, day, hour, minute, second = (int(p) for p in match.groups(b"0"))
    return datetime(year, month, day, hour, minute, second)


def _duration(value: bytes) -> timedelta:
    match = _DURATION.fullmatch(value)
    if match is None:
        raise ValueError("not a non-negative DURATION")
    weeks, days, hours, minutes, seconds, t_hours, t_minutes, t_seconds = (
        int(g) if g else 0 for g in match.groups()
    )
    return timedelta(
        weeks=weeks,
        days=days,
        hours=hours + t_hours,
        minutes=minutes + t_minutes,
        seconds=seconds + t_seconds,
    )


def _rule_end(rule: bytes, start: datetime) -> datetime | None:
    """Given an RRULE value and its DTSTART, return the latest start an instance can have, or
    None if the rule is not proven to end; raise ValueError if it is malformed."""
    parts: dict[bytes, bytes] = {}
    for part in rule.split(b";"):
        name, sep, value = part.partition(b"=")
        if not sep or name in parts:
            raise ValueError("malformed RRULE")
        parts[name] = value
    if b"UNTIL" in parts:
        if b"COUNT" in parts:
            raise ValueError("UNTIL and COUNT together")
        return _time(parts[b"UNTIL"])
    if b"COUNT" not in parts or any(name.startswith(b"BY") for name in parts):
        return None
    count, interval = int(parts[b"COUNT"]), int(parts.get(b"INTERVAL", b"1"))
    if count < 1 or interval < 1:
        raise ValueError("COUNT or INTERVAL below 1")
    steps = (count - 1) * interval
    freq = parts.get(b"FREQ", b"")
    if freq in _EVEN_STEP:
        return start + timedelta(days=_EVEN_STEP[freq] * steps)
    if freq == b"MONTHLY" and start.day <= 28:
        return start + timedelta(days=31 * steps)
    if freq == b"YEARLY" and (start.month, start.day) != (2, 29):
        return start + timedelta(days=366 * steps)
    return None


__all__ = ["SLACK", "proven_outside"]
