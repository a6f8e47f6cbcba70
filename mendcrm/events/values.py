"""Reading a date-time property icalendar parsed, whether or not it parsed cleanly.

icalendar keeps a value it could not parse as a "broken" property whose ``.dt`` raises
``BrokenCalendarProperty`` (a ``ValueError``) instead of being absent: ``RECURRENCE-ID;
VALUE=PERIOD:20260501T000000`` is one. Every place that reads ``.dt`` goes through here, so a
broken value reads as no value (and the caller says what is missing) instead of an exception
escaping the reader.
"""

from __future__ import annotations

from typing import Any


def dt_of(prop: Any) -> Any:
    """Given a property as ``Component.get`` returns it (one value, a list of them when the
    property is written twice — the first one wins — or None), return its ``.dt`` (a date,
    date-time, duration or period, RFC 5545 §3.3); None if it has none or icalendar could not
    parse it."""
    if isinstance(prop, list):
        prop = prop[0] if prop else None
    try:
        return getattr(prop, "dt", None)
    except ValueError:  # icalendar's BrokenCalendarProperty: the value as written did not parse
        return None


__all__ = ["dt_of"]
