"""The *sources* stage: CalDAV accounts and read-only feeds, synced incrementally.

Read in this order:

- :mod:`mendcrm.sources.sync`: ``sync_sources`` (one pass over every source) and ``test_account``.
- :mod:`mendcrm.sources.account_sync`: one CalDAV account's part of a pass.
- :mod:`mendcrm.sources.discovery`: from an account's URL to its calendars.
- :mod:`mendcrm.sources.caldav_account`: the incremental sync of one calendar.
- :mod:`mendcrm.sources.feeds`: .ics URLs, files and vdir folders.
- :mod:`mendcrm.sources.calendar`: what all calendars share (horizon, loading, suspicion).
- :mod:`mendcrm.sources.state`: the compact stored form of a calendar.
- :mod:`mendcrm.sources.transport` and :mod:`mendcrm.sources.davxml`: HTTP and WebDAV XML.
"""

from __future__ import annotations

from mendcrm.lazy import lazy_exports

# Imported on first use, so reading stored state (mendcrm events) never loads the CalDAV client.
_LAZY: dict[str, str] = {
    "AccountTestReport": "mendcrm.sources.results",
    "CalendarInfo": "mendcrm.sources.results",
    "CalendarReport": "mendcrm.sources.results",
    "SourceReport": "mendcrm.sources.results",
    "SyncResult": "mendcrm.sources.results",
    "state_size": "mendcrm.sources.state",
    "make_env": "mendcrm.sources.sync",
    "stored_occurrences": "mendcrm.sources.sync",
    "sync_sources": "mendcrm.sources.sync",
    "test_account": "mendcrm.sources.sync",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
