"""The store: one TinyDB JSON file that the daemon, the CLI and plugins share safely.

Usage::

    from mendcrm.store import Store

    store = Store(path)                     # nothing touches the disk yet
    with store.transaction() as tx:         # exclusive lock across processes
        tx.put("contacts", {"id": "c1", "name": "Ada"})
        tx.put_many("queue", records)
        tx.get("contacts", "c1")            # -> dict | None (a copy)
        tx.all("queue")                     # -> list[dict] (copies)
        tx.delete("queue", "q1")
        tx.table("queue").search(Query().state == "due")   # the TinyDB table, ids = record ids
    # one atomic write here, only if something changed; an exception discards everything

    with store.read() as view:              # consistent snapshot, no lock
        view.get("contacts", "c1"); view.all("queue"); view.table("queue")

Tables: contacts, interactions, encounters, queue, sync_state, meta, dismissals. Files are
created mode 0600 (folders 0700). ``<name>.bak`` keeps the previous version; a damaged file is
never overwritten. Failures raise :class:`mendcrm.errors.StoreError`.
"""

from mendcrm.store.migrations import SCHEMA_VERSION, TABLES
from mendcrm.store.store import ReadView, Store, Transaction

__all__ = ["SCHEMA_VERSION", "TABLES", "ReadView", "Store", "Transaction"]
