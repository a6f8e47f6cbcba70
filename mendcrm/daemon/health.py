"""The daemon's health record: one ``meta`` document the daemon writes and ``status`` reads.

Document ``health`` holds the daemon's pid and start time, when it last synced and delivered,
its last error, when it runs next, how many items it has delivered, and per source the last
success, last error and back-off. Writes are short transactions of their own.
"""

from __future__ import annotations

from typing import Any

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


__all__ = ["HEALTH_ID", "read_health", "update_health"]
