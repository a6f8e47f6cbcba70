"""What a config file may contain: every section, key, type and check, in one table.

The loader walks this table; the test that compares it with ``config.example.toml`` reads it
too, so a key cannot be accepted without being documented.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

Check = Callable[[Any], str | None]
"""Given a value of the right type, return None if it is fine or a hint saying what would be."""


@dataclass(frozen=True, slots=True)
class Key:
    """One accepted key: its TOML type(s), an optional check, and the hint for a wrong type."""

    types: tuple[type, ...]
    check: Check | None = None
    expect: str = ""


@dataclass(frozen=True, slots=True)
class Range:
    """A check that a number lies in [low, high], or (low, high] when ``above``.

    Every numeric key has an upper bound too: past any real use, so a typo never reaches
    ``timedelta`` (which overflows) or a loop that would run for ever. ``inf`` and ``nan`` are
    refused the same way. ``config.example.toml`` documents each range as ``low–high``.
    """

    low: float
    high: float
    unit: str = ""
    above: bool = False

    def __call__(self, value: Any) -> str | None:
        fine = (
            math.isfinite(value)
            and (value > self.low if self.above else value >= self.low)
            and value <= self.high
        )
        if fine:
            return None
        low, high = _plain(self.low), _plain(self.high)
        lower = f"greater than {low}" if self.above else f"from {low}"
        unit = f" {self.unit}" if self.unit else ""
        return f"use a number {lower} to {high}{unit}"

    @property
    def documented(self) -> str:
        """The range as config.example.toml writes it, e.g. ``1–730``."""
        return f"{_plain(self.low)}–{_plain(self.high)}"


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else "use one of " + ", ".join(f'"{c}"' for c in choices)

    return check


def _timezone(value: Any) -> str | None:
    if value == "":
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: most configs name no zone

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return 'use an IANA zone name such as "Europe/Berlin", or "" for the system zone'
    return None


def _strings(value: Any) -> str | None:
    return None if all(isinstance(v, str) for v in value) else "every item must be a string"


def _argv(value: Any) -> str | None:
    if not value:
        return 'give the command and its arguments, e.g. ["pass", "show", "dav/work"]'
    return _strings(value)


def _email_list(value: Any) -> str | None:
    bad = next((v for v in value if not isinstance(v, str) or "@" not in v), None)
    return None if bad is None else f"{bad!r} is not an e-mail address"


_DURATION = re.compile(r"^\s*(\d{1,9}(?:\.\d{1,9})?)\s*(d|h|m|min|s)\s*$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """Given a duration such as ``"24h"``, ``"90m"`` or ``"1.5d"``, return it; raise ValueError."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


MAX_NOTE_OFFSET = timedelta(days=90)
"""The longest prep lead or follow-up delay: past a season a note has lost its meeting."""


def _duration(value: Any) -> str | None:
    try:
        length = parse_duration(value)
    except (ValueError, OverflowError):
        return 'write a duration such as "24h", "90m" or "2d"'
    if length > MAX_NOTE_OFFSET:
        return f'use a duration of at most {MAX_NOTE_OFFSET.days} days, such as "24h" or "2d"'
    return None


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_clock(text: str) -> time:
    """Given a wall-clock time ``"HH:MM"`` (00:00 to 23:59), return it; raise ValueError."""
    match = _CLOCK.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(text)
    return time(int(match.group(1)), int(match.group(2)))


def _clock(value: Any) -> str | None:
    try:
        parse_clock(value)
    except ValueError:
        return 'write a time of day as "HH:MM", from "00:00" to "23:59", e.g. "08:00"'
    return None


_STR = Key((str,), expect="a string")
_STRS = Key((list,), _strings, expect="a list of strings")
_PATH = Key((str,), expect="a file path string")
_BOOL = Key((bool,), expect="true or false")


def _int(check: Check | None = None) -> Key:
    return Key((int,), check, expect="a whole number")


def _number(check: Check | None = None) -> Key:
    return Key((int, float), check, expect="a number")


SECTIONS: dict[str, dict[str, Key]] = {
    "me": {
        "name": _STR,
        "emails": Key((list,), _email_list, expect="a list of e-mail addresses"),
        "timezone": Key((str,), _timezone, expect="an IANA zone name"),
        "day_starts": Key((str,), _clock, expect='a time such as "08:00"'),
        "day_ends": Key((str,), _clock, expect='a time such as "21:00"'),
    },
    "store": {
        "path": _PATH,
        "retention_days": _int(Range(1, 36_500, "days (a hundred years)")),
    },
    "sync": {
        "lookahead_days": _int(Range(1, 730, "days")),
        "interval_minutes": _int(Range(1, 10_080, "minutes (a week)")),
        "timeout_seconds": _number(Range(0, 3600, "seconds", above=True)),
        "max_occurrences_per_series": _int(Range(1, 100_000)),
        "max_object_bytes": _int(Range(1024, 100_000_000, "bytes")),
        "request_deadline_seconds": _number(Range(1, 86_400, "seconds (a day)")),
        "listing_refresh_minutes": _int(Range(0, 10_080, "minutes (a week)")),
    },
    "detection": {
        "conference_keywords": _STRS,
        "min_confidence": _number(Range(0, 1)),
    },
    "prep": {
        "lead": Key((str,), _duration, expect='a duration such as "24h"'),
        "conference_evening_hour": _int(Range(0, 23, "(an hour of the day)")),
        "template": _PATH,
    },
    "followup": {
        "delay": Key((str,), _duration, expect='a duration such as "2h"'),
        "template": _PATH,
    },
    "playbook": {"path": _PATH},
    "plugins": {
        "enabled": _STRS,
        "paths": _STRS,
        "timeout_seconds": _number(Range(0, 3600, "seconds", above=True)),
    },
    "daemon": {
        "deliver_interval_seconds": _int(Range(1, 86_400, "seconds (a day)")),
        "max_backoff_minutes": _int(Range(1, 10_080, "minutes (a week)")),
        "max_pass_minutes": _int(Range(1, 1_440, "minutes (a day)")),
    },
    "ui": {
        "enabled": Key((bool,), expect="true or false"),
        "host": _STR,
        "port": _int(Range(1, 65_535, "(a TCP port)")),
        "tls_cert": _PATH,
        "tls_key": _PATH,
        "allowed_hosts": _STRS,
    },
}
"""The single-table sections: ``[name]`` → accepted keys."""

ACCOUNT_KEYS: dict[str, Key] = {
    "name": _STR,
    "url": _STR,
    "username": _STR,
    "password_command": Key((list,), _argv, expect="a list of strings (the command's argv)"),
    "calendars": _STRS,
    "exclude": _STRS,
    "annotate": Key((str,), _one_of("off", "dedicated", "inline"), expect="a string"),
    "annotation_calendar": _STR,
    "annotation_detail": Key((str,), _one_of("discreet", "full"), expect="a string"),
    "annotation_minutes": _int(Range(1, 1440, "minutes")),
    "ca_file": _PATH,
    "timeout_seconds": _number(Range(0, 3600, "seconds", above=True)),
}
"""Keys of each ``[[accounts]]`` entry."""

FEED_KEYS: dict[str, Key] = {
    "name": _STR,
    "url": _STR,
    "path": _PATH,
    "user_agent": Key(
        (str,),
        # One header line: a line break would smuggle a header in (requests refuses it anyway).
        lambda v: None if v.isprintable() else 'give one line of text, or "" for the default',
        expect="a string",
    ),
}
"""Keys of each ``[[feeds]]`` entry."""

PROGRAMME_FORMATS: tuple[str, ...] = ("auto", "pretalx", "frab", "sessionize", "indico", "ics")

PROGRAMME_KEYS: dict[str, Key] = {
    "name": _STR,
    "url": _STR,
    "path": _PATH,
    "format": Key((str,), _one_of(*PROGRAMME_FORMATS), expect="a string"),
    "timezone": Key((str,), _timezone, expect="an IANA zone name"),
    "calendar_match": _STRS,
    "refresh_hours": _number(Range(0, 8760, "hours (a year)", above=True)),
    "attend": _BOOL,
}
"""Keys of each ``[[programmes]]`` entry (conference programmes, see mendcrm.programmes)."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("name", "url"),
    "feeds": ("name",),
    "programmes": ("name",),
}

ARRAY_SECTIONS: dict[str, dict[str, Key]] = {
    "accounts": ACCOUNT_KEYS,
    "feeds": FEED_KEYS,
    "programmes": PROGRAMME_KEYS,
}

FREE_TABLES: frozenset[str] = frozenset({"plugins"})
"""Sections whose sub-tables (``[plugins.NAME]``) belong to someone else to validate."""
