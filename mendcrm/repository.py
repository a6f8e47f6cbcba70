"""Typed access to the store's tables: model objects in, model objects out.

The store deals in JSON records; everything above it deals in :mod:`mendcrm.model` objects.
These functions are the one place that converts between the two, so a table's record shape is
defined once. They take a transaction or a read view (both have ``get`` / ``all`` / ``put``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from mendcrm.model import Contact, Encounter, Interaction, QueueItem, from_iso
from mendcrm.plain_json import PlainRecord
from mendcrm.store.records import Keep, all_of, holds, pair, time_at_least, time_at_most

_T = TypeVar("_T")


class Readable(Protocol):
    def get(self, table: str, record_id: str) -> dict[str, Any] | None: ...
    def all(self, table: str) -> list[dict[str, Any]]: ...
    def select(
        self, table: str, keep: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]: ...
    def decode(
        self,
        table: str,
        make: Callable[[dict[str, Any]], _T],
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[_T]: ...


class Writable(Readable, Protocol):
    def put(self, table: str, record: dict[str, Any]) -> None: ...
    def put_many(self, table: str, records: Iterable[dict[str, Any] | PlainRecord]) -> None: ...
    def delete(self, table: str, record_id: str) -> None: ...


def contacts(view: Readable) -> list[Contact]:
    """Given a store view, return every contact, sorted by name."""
    found = view.decode("contacts", Contact.from_record)
    return sorted(found, key=lambda c: (c.name.casefold(), c.id))


def contacts_by_id(view: Readable, contact_ids: Collection[str]) -> dict[str, Contact]:
    """Given a store view and contact ids, return {id: contact} for those of them stored;
    the other contacts are not decoded."""
    wanted = set(contact_ids)
    keep = Keep(lambda r: r.get("id") in wanted, ids=wanted)
    found = view.decode("contacts", Contact.from_record, keep)
    return {c.id: c for c in found}


def contact(view: Readable, contact_id: str) -> Contact | None:
    """Given a store view and an id, return that contact, or None."""
    record = view.get("contacts", contact_id)
    return Contact.from_record(record) if record else None


def interactions(view: Readable, contact_id: str | None = None) -> list[Interaction]:
    """Given a store view, return the interactions (of one contact if given), oldest first."""
    found = view.decode("interactions", Interaction.from_record)
    if contact_id is not None:
        found = [i for i in found if i.contact_id == contact_id]
    return sorted(found, key=lambda i: (i.when, i.id))


def encounters(view: Readable) -> list[Encounter]:
    """Given a store view, return every encounter (active and withdrawn), soonest first."""
    found = view.decode("encounters", Encounter.from_record)
    return sorted(found, key=lambda e: (e.occurrence.start, e.id))


def encounters_between(view: Readable, start: datetime, end: datetime) -> list[Encounter]:
    """Given a store view and a span, return the active encounters whose occurrence ends at or
    after ``start`` and starts at or before ``end``, soonest first.

    Records outside the span are skipped before they are decoded: the store keeps many more
    encounters than a command shows, and decoding them all is most of a read command's time.
    """

    def within(record: dict[str, Any]) -> bool:
        occurrence = record.get("occurrence") or {}
        if record.get("state", "active") != "active":
            return False
        return not (from_iso(occurrence["end"]) < start or from_iso(occurrence["start"]) > end)

    # A record's text holds its occurrence's end and start (and maybe other times): one that
    # holds no end at or after ``start``, or no start at or before ``end``, is outside.
    text = all_of(time_at_least("end", start), time_at_most("start", end))
    found = view.decode("encounters", Encounter.from_record, Keep(within, text=text))
    return sorted(found, key=lambda e: (e.occurrence.start, e.id))


def queue_of_encounters(view: Readable, encounter_ids: Collection[str]) -> list[QueueItem]:
    """Given a store view and encounter ids, return their queue items, by due time."""
    wanted = set(encounter_ids)
    keep = Keep(lambda r: r.get("encounter_id") in wanted, text=holds("encounter_id", wanted))
    found = view.decode("queue", QueueItem.from_record, keep)
    return sorted(found, key=lambda q: (q.due, q.id))


def queue(view: Readable) -> list[QueueItem]:
    """Given a store view, return every queue item, by due time."""
    found = view.decode("queue", QueueItem.from_record)
    return sorted(found, key=lambda q: (q.due, q.id))


def queue_of_kind(
    view: Readable,
    kind: str,
    *,
    states: Collection[str] | None = None,
    due_by: datetime | None = None,
) -> list[QueueItem]:
    """Given a store view and a kind (``prep``, ``followup``, ``nudge``, …), return the queue
    items of that kind, by due time; the others are skipped before they are decoded.

    Given ``states``, only items in one of them; given ``due_by``, only items due at or before
    it (also tested before decoding: a command that shows the open ones need not decode the
    thousands that are done or far ahead).
    """

    found = view.decode("queue", QueueItem.from_record, _queue_keep(kind, states, due_by))
    return sorted(found, key=lambda q: (q.due, q.id))


def _queue_keep(kind: str, states: Collection[str] | None, due_by: datetime | None) -> Keep:
    def keep(record: dict[str, Any]) -> bool:
        if record.get("kind") != kind:
            return False
        if states is not None and record.get("state", "pending") not in states:
            return False
        return due_by is None or from_iso(record["due"]) <= due_by

    text = time_at_most("due", due_by) if due_by is not None else None
    return Keep(keep, needles=(pair("kind", kind),), text=text)


def queue_ahead(
    view: Readable, kind: str, *, states: Collection[str], due_by: datetime, now: datetime
) -> list[QueueItem]:
    """Given a store view, a kind, states, a time and the time now, return the queue items of
    that kind in one of the states, due at or before ``due_by``, whose encounter (if any) has
    not ended at or before ``now``, by due time: what :func:`queue_of_kind` gives without the
    items :func:`encounters_over` names, decoding into items only those it returns."""
    # The records themselves (uncopied, as decode hands them over): read here, never changed,
    # and only the items returned are built from them.
    records = view.decode("queue", lambda r: r, _queue_keep(kind, states, due_by))
    ended = encounters_over(
        view, {r["encounter_id"] for r in records if r.get("encounter_id")}, now
    )
    found = [QueueItem.from_record(r) for r in records if r.get("encounter_id") not in ended]
    return sorted(found, key=lambda q: (q.due, q.id))


def encounters_over(view: Readable, encounter_ids: Collection[str], now: datetime) -> set[str]:
    """Given a store view, encounter ids and the time, return those of the ids whose occurrence
    ended at or before ``now``, reading only those records and only their end."""
    wanted = set(encounter_ids)

    def over(record: dict[str, Any]) -> bool:
        return record.get("id") in wanted and from_iso(record["occurrence"]["end"]) <= now

    # A record whose text holds no end at or before now is not over: it is not decoded.
    keep = Keep(over, ids=wanted, text=time_at_most("end", now))
    return set(view.decode("encounters", lambda r: str(r["id"]), keep))


def queue_item(view: Readable, item_id: str) -> QueueItem | None:
    """Given a store view and an id, return that queue item, or None."""
    record = view.get("queue", item_id)
    return QueueItem.from_record(record) if record else None


def save(tx: Writable, table: str, *records: Contact | Interaction | Encounter | QueueItem) -> None:
    """Given a transaction, a table and model objects, upsert them by id."""
    # One record at a time: a pass saves thousands, and a list of them all would be held whole
    # beside the store's own copies. Plain by construction: the store need not copy them again.
    tx.put_many(table, (r.to_plain() for r in records))


__all__ = [
    "contact",
    "contacts",
    "contacts_by_id",
    "encounters",
    "encounters_between",
    "encounters_over",
    "interactions",
    "queue",
    "queue_ahead",
    "queue_item",
    "queue_of_encounters",
    "queue_of_kind",
    "save",
]
