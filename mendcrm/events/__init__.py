"""The *events* stage: calendar objects → Occurrences inside the window, in UTC.

- :mod:`mendcrm.events.window`: the sync window and spans of time.
- :mod:`mendcrm.events.zones`: the user's zone, for all-day and floating times.
- :mod:`mendcrm.events.guards`: bounds against hostile input.
- :mod:`mendcrm.events.reader`: ``read_object`` itself.
"""

from mendcrm.events.reader import ObjectReading, ReadContext, read_object
from mendcrm.events.window import Span, sync_window
from mendcrm.events.zones import system_zone, user_zone, zone_name

__all__ = [
    "ObjectReading",
    "ReadContext",
    "Span",
    "read_object",
    "sync_window",
    "system_zone",
    "user_zone",
    "zone_name",
]
