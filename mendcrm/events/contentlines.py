"""A small reader for the descriptive properties of VEVENTs, so icalendar parses only the times.

icalendar builds a full object for every property and parameter; for a meeting with several
attendees that is most of the cost of a sync. Times, recurrence rules and zones still go through
icalendar (and recurring-ical-events); the properties that are only text — SUMMARY, LOCATION,
DESCRIPTION, CATEGORIES, ORGANIZER, ATTENDEE — are cut out of the text first and read here,
following RFC 5545 §3.1 (folding, quoted parameters, TEXT escapes) and RFC 6868 (^ escapes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
DESCRIPTIVE = frozenset(
    {"SUMMARY", "LOCATION", "DESCRIPTION", "CATEGORIES", "ORGANIZER", "ATTENDEE"}
    # Read only to tell two versions of one component apart (mendcrm.events.versions).
    | {"SEQUENCE", "DTSTAMP", "LAST-MODIFIED"}
)


@dataclass(slots=True)
class Described:
    """The descriptive properties of one VEVENT, as (params, raw value) per property name."""

    uid: str = ""
    props: dict[str, list[tuple[dict[str, str], str]]] = field(default_factory=dict)


@dataclass(slots=True)
class Split:
    """iCalendar text without the descriptive properties, and those properties per VEVENT."""

    timing: str
    events: list[Described]


def physical_lines(text: str) -> list[str]:
    """Given decoded iCalendar text, return its physical lines, split at CRLF, CR or LF only.

    ``str.splitlines`` also splits at U+2028, U+0085, form feed and the like, which may stand
    inside a value (text pasted from other apps): a SUMMARY would silently lose everything after
    one. RFC 5545 §3.1 delimits content lines by line breaks alone.
    """
    text = text.removesuffix("\r\n").removesuffix("\n").removesuffix("\r")
    # The usual shapes first: LF only, or CRLF throughout (every CR and every LF part of a CRLF).
    if "\r" not in text:
        return text.split("\n")
    crlf = text.count("\r\n")
    if crlf == text.count("\r") == text.count("\n"):
        return text.split("\r\n")
    return _LINE_BREAK.split(text)


def logical_lines(physical: Iterable[str]) -> list[str]:
    """Given physical lines (e.g. ``physical_lines(text)``), return the content lines with folded
    continuations (a line starting with a space or tab) joined on; empty lines are dropped."""
    lines: list[str] = []
    for line in physical:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def property_name(line: str) -> str:
    """Given a content line, return its property (or BEGIN/END) name in upper case."""
    end = line.find(":")
    if end < 0:
        end = len(line)
    semicolon = line.find(";", 0, end)
    return line[: semicolon if semicolon >= 0 else end].strip().upper()


_UNREAD_CALENDAR_TEXT = frozenset({"VERSION", "PRODID"})
"""VCALENDAR properties of type TEXT (RFC 5545 §3.7.3, §3.7.4) the reader never looks at; as
TEXT they cannot fail to parse, so leaving them out changes nothing but the cost."""


def split_descriptive(text: str | list[str]) -> Split:
    """Given (lean) iCalendar text, or its physical lines, return it without the descriptive
    VEVENT properties (and the calendar's VERSION and PRODID, and its wrapper when it holds
    only VEVENTs), and those properties for each VEVENT in document order."""
    timing: list[str] = []
    events: list[Described] = []
    stack: list[str] = []
    physical = physical_lines(text) if isinstance(text, str) else text
    for line in logical_lines(physical):
        name = property_name(line)
        if name in _UNREAD_CALENDAR_TEXT and stack == ["VCALENDAR"] and _bare(line, name):
            continue
        if name == "BEGIN":
            component = line.split(":", 1)[-1].strip().upper()
            stack.append(component)
            if component == "VEVENT" and (len(stack) == 1 or stack[-2] == "VCALENDAR"):
                events.append(Described())
        elif name == "END":
            if stack:
                stack.pop()
        elif stack and stack[-1] == "VEVENT" and events:
            if name in DESCRIPTIVE:
                params, value = parse_params(line)
                events[-1].props.setdefault(name, []).append((params, value))
                continue
            if name == "UID":
                events[-1].uid = line.split(":", 1)[-1].strip()
        timing.append(line)
    return Split("\r\n".join(_unwrapped(timing)) + "\r\n", events)


def _unwrapped(timing: list[str]) -> list[str]:
    """Return the lines without their VCALENDAR wrapper when it holds nothing but VEVENTs:
    icalendar then hands over the same VEVENTs, in the same order, for two lines less."""
    if len(timing) < 2 or timing[0].upper() != "BEGIN:VCALENDAR":
        return timing
    if timing[-1].upper() != "END:VCALENDAR":
        return timing
    depth = 0
    for line in timing[1:-1]:
        name = property_name(line)
        if name == "BEGIN":
            if depth == 0 and line.upper() != "BEGIN:VEVENT":
                return timing  # another component (a custom VTIMEZONE) stays in its calendar
            depth += 1
        elif name == "END":
            depth -= 1
            if depth < 0:
                return timing
        elif depth == 0:
            return timing  # a calendar property (X-WR-TIMEZONE) is read from the calendar
    return timing[1:-1] if depth == 0 else timing


def _bare(line: str, name: str) -> bool:
    """Whether ``line`` is ``NAME:value``, without parameters or spaces around the name."""
    return line[: len(name) + 1].upper() == name + ":"


def parse_params(line: str) -> tuple[dict[str, str], str]:
    """Given a content line, return its parameters (names upper-cased, values unquoted and
    RFC 6868-decoded; a repeated or multi-valued parameter keeps its raw text) and its value."""
    params: dict[str, str] = {}
    head, _, value = line.partition(":")
    if '"' in head:
        parts, value = _quoted_parts(line)
    else:  # no quoted parameter value: the first colon ends the parameters
        parts = head.split(";")
    for part in parts[1:]:
        key, _, raw = part.partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1]
        params[key.strip().upper()] = _caret_decode(raw)
    return params, value


def _quoted_parts(line: str) -> tuple[list[str], str]:
    """Split a content line with quoted parameter values at the semicolons and the colon that
    stand outside quotes (RFC 5545 §3.1: a quoted value may hold both)."""
    quoted = False
    start = 0
    parts: list[str] = []
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == ";":
            parts.append(line[start:index])
            start = index + 1
        elif not quoted and char == ":":
            parts.append(line[start:index])
            return parts, line[index + 1 :]
    parts.append(line[start:])
    return parts, ""


def _caret_decode(value: str) -> str:
    if "^" not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "^" and i + 1 < len(value) and value[i + 1] in "n^'":
            out.append({"n": "\n", "^": "^", "'": '"'}[value[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def unescape_text(value: str) -> str:
    """Given a TEXT value, return it with RFC 5545 backslash escapes resolved."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value) and value[i + 1] in "nN\\;,":
            # Only these are escapes (RFC 5545 3.3.11); a stray backslash stays, as in icalendar.
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def split_list(value: str) -> list[str]:
    """Given a multi-valued TEXT value (CATEGORIES), return its items, unescaped."""
    items: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if char == ",":
            items.append(unescape_text("".join(current)))
            current = []
        else:
            current.append(char)
        i += 1
    items.append(unescape_text("".join(current)))
    return items


__all__ = [
    "DESCRIPTIVE",
    "Described",
    "Split",
    "logical_lines",
    "parse_params",
    "physical_lines",
    "property_name",
    "split_descriptive",
    "split_list",
    "unescape_text",
]
