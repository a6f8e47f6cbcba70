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
    return _LINE_BREAK.split(text.removesuffix("\r\n").removesuffix("\n").removesuffix("\r"))


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
    end = len(line)
    for sep in (";", ":"):
        index = line.find(sep)
        if 0 <= index < end:
            end = index
    return line[:end].strip().upper()


def split_descriptive(text: str) -> Split:
    """Given (lean) iCalendar text, return it without the descriptive VEVENT properties, and
    those properties for each VEVENT in document order."""
    timing: list[str] = []
    events: list[Described] = []
    stack: list[str] = []
    for line in logical_lines(physical_lines(text)):
        name = property_name(line)
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
    return Split("\r\n".join(timing) + "\r\n", events)


def parse_params(line: str) -> tuple[dict[str, str], str]:
    """Given a content line, return its parameters (names upper-cased, values unquoted and
    RFC 6868-decoded; a repeated or multi-valued parameter keeps its raw text) and its value."""
    params: dict[str, str] = {}
    quoted = False
    start = 0
    parts: list[str] = []
    value = ""
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == ";":
            parts.append(line[start:index])
            start = index + 1
        elif not quoted and char == ":":
            parts.append(line[start:index])
            value = line[index + 1 :]
            break
    else:
        parts.append(line[start:])
    for part in parts[1:]:
        key, _, raw = part.partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1]
        params[key.strip().upper()] = _caret_decode(raw)
    return params, value


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
