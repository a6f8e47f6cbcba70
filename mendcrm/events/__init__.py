"""The *events* stage: calendar objects → Occurrences inside the window, in UTC.

- :mod:`mendcrm.events.window`: the sync window and spans of time.
- :mod:`mendcrm.events.zones`: the user's zone, for all-day and floating times.
- :mod:`mendcrm.events.guards`: bounds against hostile input.
- :mod:`mendcrm.events.reader`: ``read_object`` itself.
- :mod:`mendcrm.events.readcontext`: ``ReadContext``, what ``read_object`` reads with.
- :mod:`mendcrm.events.occurrences`: one UID's VEVENTs → its occurrences (lone or a series).

The names below are imported on first use, so a command that only needs the zones or the
window (``mendcrm upcoming`` renders times in the user's zone) does not load icalendar and
recurring-ical-events.
"""

from __future__ import annotations

from mendcrm.lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ObjectReading": "mendcrm.events.reader",
    "ReadContext": "mendcrm.events.readcontext",
    "read_object": "mendcrm.events.reader",
    "Span": "mendcrm.events.window",
    "sync_window": "mendcrm.events.window",
    "system_zone": "mendcrm.events.zones",
    "user_zone": "mendcrm.events.zones",
    "zone_name": "mendcrm.events.zones",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
