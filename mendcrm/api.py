"""A read-only API to MendCRM's store, for other tools and scripts.

Example — list this week's prep notes and who they are for::

    from datetime import UTC, datetime, timedelta
    from mendcrm.api import open_store

    reader = open_store()                   # the store named in your config (or the default one)
    week = datetime.now(UTC) + timedelta(days=7)
    people = {c.id: c for c in reader.contacts()}
    for item in reader.queue(kind="prep", state=("pending", "due"), due_before=week):
        print(item.due, people[item.contact_id].name, item.title)
    for talk in reader.interactions(contact_id="c-ana"):
        print(talk.when, talk.outcome, talk.note)

Everything comes back as the typed objects of :mod:`mendcrm.model` (Contact, Encounter,
QueueItem, Interaction). Nothing here writes, and no lock is needed: the store replaces its file
atomically, so each call reads one consistent state even while the daemon is writing. Each
method reads afresh, so a long-running tool sees new data on its next call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from mendcrm import repository
from mendcrm.errors import StoreError
from mendcrm.model import Contact, Encounter, Interaction, QueueItem
from mendcrm.store import Store


class StoreReader:
    """Typed, read-only access to one store; get one from :func:`open_store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def contacts(self, *, flagged: bool | None = None) -> list[Contact]:
        """Return the contacts sorted by name; only flagged (or unflagged) ones if asked."""
        with self._store.read() as view:
            found = repository.contacts(view)
        return found if flagged is None else [c for c in found if c.flagged == flagged]

    def contact(self, contact_id: str) -> Contact | None:
        """Given a contact id, return that contact, or None."""
        with self._store.read() as view:
            return repository.contact(view, contact_id)

    def encounters(
        self, *, contact_id: str | None = None, active_only: bool = False
    ) -> list[Encounter]:
        """Return encounters, soonest first; of one contact, or only active ones, if asked."""
        with self._store.read() as view:
            found = repository.encounters(view)
        return [
            e
            for e in found
            if (contact_id is None or e.contact_id == contact_id)
            and (not active_only or e.state == "active")
        ]

    def queue(
        self,
        *,
        state: str | Iterable[str] | None = None,
        kind: str | None = None,
        contact_id: str | None = None,
        due_before: datetime | None = None,
    ) -> list[QueueItem]:
        """Return queue items by due time, filtered by state(s), kind, contact and due time."""
        states = {state} if isinstance(state, str) else set(state) if state is not None else None
        with self._store.read() as view:
            found = repository.queue(view)
        return [
            q
            for q in found
            if (states is None or q.state in states)
            and (kind is None or q.kind == kind)
            and (contact_id is None or q.contact_id == contact_id)
            and (due_before is None or q.due < due_before)
        ]

    def interactions(self, contact_id: str | None = None) -> list[Interaction]:
        """Return the interactions (of one contact if given), oldest first."""
        with self._store.read() as view:
            return repository.interactions(view, contact_id)


def open_store(path: str | Path | None = None) -> StoreReader:
    """Given a store file (or None for the one the config names), return a reader for it.

    Raise StoreError if there is no store there yet, ConfigError if the config cannot be read.
    """
    if path is None:
        from mendcrm.config import default_store_path, load_config

        resolved = load_config().store.path or default_store_path()
    else:
        resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise StoreError(
            f"no MendCRM store at {resolved}",
            hint="run `mendcrm sync` once to create it, or pass the store's path",
        )
    return StoreReader(Store(resolved))


__all__ = ["StoreReader", "open_store"]
