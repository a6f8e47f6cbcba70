"""The *sources* stage: CalDAV accounts and read-only feeds, synced incrementally.

Read in this order:

- :mod:`mendcrm.sources.sync`: ``sync_sources`` (one pass over every source) and ``test_account``.
- :mod:`mendcrm.sources.caldav_account`: discovery, calendar listing, per-calendar sync.
- :mod:`mendcrm.sources.feeds`: .ics URLs, files and vdir folders.
- :mod:`mendcrm.sources.calendar`: what all calendars share (horizon, loading, suspicion).
- :mod:`mendcrm.sources.state`: the compact stored form of a calendar.
- :mod:`mendcrm.sources.transport` and :mod:`mendcrm.sources.davxml`: HTTP and WebDAV XML.
"""

from mendcrm.sources.results import (
    AccountTestReport,
    CalendarInfo,
    CalendarReport,
    SourceReport,
    SyncResult,
)
from mendcrm.sources.state import state_size
from mendcrm.sources.sync import make_env, sync_sources, test_account

__all__ = [
    "AccountTestReport",
    "CalendarInfo",
    "CalendarReport",
    "SourceReport",
    "SyncResult",
    "make_env",
    "state_size",
    "sync_sources",
    "test_account",
]
