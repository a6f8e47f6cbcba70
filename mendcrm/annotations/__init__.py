"""The *annotations* action: MendCRM's notes inside the user's own calendar app.

Read in this order:

- :mod:`mendcrm.annotations.run`: ``annotate_accounts`` (one pass per sync) and ``clear_accounts``.
- :mod:`mendcrm.annotations.plan`: what should be annotated where (pure, no requests).
- :mod:`mendcrm.annotations.dedicated`: MendCRM's own calendar (prep events, follow-up tasks).
- :mod:`mendcrm.annotations.inline`: the block inside the user's event, and when it is safe.
- :mod:`mendcrm.annotations.contentlines`: editing raw iCalendar text without disturbing it.
- :mod:`mendcrm.annotations.text` and :mod:`mendcrm.annotations.markers`: the words.
- :mod:`mendcrm.annotations.dav`: the few requests, through the sources' Transport.

The names below are imported on first use, so ``mendcrm.annotations.markers`` (which the
detection stage uses) does not load the CalDAV stack.
"""

from __future__ import annotations

from mendcrm.lazy import lazy_exports

_LAZY: dict[str, str] = {
    "AnnotationResult": "mendcrm.annotations.run",
    "annotate_accounts": "mendcrm.annotations.run",
    "clear_accounts": "mendcrm.annotations.run",
    "state_id": "mendcrm.annotations.run",
    "STATE_PREFIX": "mendcrm.annotations.run",
    "strip_block": "mendcrm.annotations.markers",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
