"""The daemon's health record: one ``meta`` document the daemon writes and ``status`` reads.

Document ``health`` holds the daemon's pid and start time, when it last synced and delivered,
its last error, when it runs next, how many items it has delivered, and per source the last
success, last error and back-off. Writes are short transactions of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mendcrm.model import to_iso
from mendcrm.store import Store

HEALTH_ID = "health"


def read_health(store: Store) -> dict[str, Any]:
    """Given the store, return the health document (empty if no daemon ever ran)."""
    with store.read() as view:
        return dict(view.get("meta", HEALTH_ID) or {})


def update_health(store: Store, changes: dict[str, Any]) -> dict[str, Any]:
    """Given changed top-level fields, merge them into the health document; return the result."""
    with store.transaction() as tx:
        doc = dict(tx.get("meta", HEALTH_ID) or {"id": HEALTH_ID})
        doc.update(changes)
        doc["id"] = HEALTH_ID
        tx.put("meta", doc)
    return doc


def record_manual_sync(
    store: Store, now: datetime, sources: list[str], errors: dict[str, str]
) -> dict[str, Any]:
    """Given a ``mendcrm sync`` pass (its sources and their errors), record it in the health.

    Per source, the last attempt and success or error are merged into what the daemon keeps,
    so ``mendcrm status`` tells the truth whichever ran last; back-off counters stay the
    daemon's own business.
    """
    stamp = to_iso(now)
    with store.transaction() as tx:
        doc = dict(tx.get("meta", HEALTH_ID) or {"id": HEALTH_ID})
        per_source = {k: dict(v) for k, v in (doc.get("sources") or {}).items()}
        for source in sources:
            entry = per_source.setdefault(source, {"failures": 0})
            entry["last_attempt_at"] = stamp
            if source in errors:
                entry["last_error"] = errors[source]
            else:
                entry.update(failures=0, last_success_at=stamp, last_error="")
        doc.update(sources=per_source, last_sync_at=stamp, id=HEALTH_ID)
        if errors:
            first = sorted(errors)[0]
            doc.update(last_error=f"{first}: {errors[first]}", last_error_at=stamp)
        else:
            doc["last_successful_sync_at"] = stamp
        tx.put("meta", doc)
    return doc


__all__ = ["HEALTH_ID", "read_health", "record_manual_sync", "update_health"]
