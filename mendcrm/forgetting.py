"""Forgetting a contact: every trace of a person MendCRM holds, removed.

:func:`forget_in` removes, in one store transaction, the contact, their interactions, stage
history, encounters, queue items and dismissals, and their id from other encounters (``others``:
the flagged people also present). It leaves a *removal* record in the ``removals`` table — no
name, only ids — for what lies outside the store: the plugins' copies (markdown notes, the
export) and MendCRM's annotations on the calendar servers (dedicated calendar items and inline
blocks, removed by the next annotation pass since nothing in the store wants them any more).
:func:`finish_removals` does that work and clears the record once it succeeded; a server that
fails leaves the record, retried by every later pass and shown by ``mendcrm status``.
:func:`scrub_copies` makes the store's backup copies forget too.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mendcrm import repository
from mendcrm.contacts import resolve
from mendcrm.model import Contact, from_iso, to_iso
from mendcrm.plain_json import PlainRecord

if TYPE_CHECKING:
    import pluggy

    from mendcrm.config.model import AccountConfig, Config
    from mendcrm.store import Store

log = logging.getLogger(__name__)

REMOVALS = "removals"
_BY_CONTACT = ("interactions", "encounters", "queue", "dismissals", "stage_history")
"""The tables whose records belong to one contact (by ``contact_id``)."""


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What :func:`forget_in` removed: the contact and how many records of each table."""

    contact: Contact
    removed: dict[str, int]
    removal_id: str
    item_ids: tuple[str, ...]


def forget_records(tx: repository.Writable, contact_id: str) -> dict[str, int]:
    """Given a store transaction (or any writable view) and a contact id, delete that contact's
    records and its id from other encounters; return the count removed per table."""
    removed: dict[str, int] = {}
    record = tx.get("contacts", contact_id)
    names = _names(record) if record is not None else []
    if record is not None:
        tx.delete("contacts", contact_id)
        removed["contacts"] = 1
    for table in _BY_CONTACT:
        gone = [r["id"] for r in tx.all(table) if r.get("contact_id") == contact_id]
        for record_id in gone:
            tx.delete(table, record_id)
        if gone:
            removed[table] = len(gone)
    touched = []
    for record in tx.all("encounters"):
        others = record.get("others") or []
        if contact_id in others:
            touched.append({**record, "others": [o for o in others if o != contact_id]})
    if touched:
        tx.put_many("encounters", touched)
        removed["references"] = len(touched)
    notes = []
    for item in tx.all("queue"):
        for key in ("body", "title"):
            text = item.get(key) or ""
            cleaned = without_names(text, names)
            if cleaned != text:
                item = {**item, key: cleaned}
        if item != tx.get("queue", item["id"]):
            notes.append(item)
    if notes:
        tx.put_many("queue", notes)
        removed["mentions"] = len(notes)
    from mendcrm.pass_memo import MEMO_ID  # here: read commands import this module

    if tx.get("meta", MEMO_ID) is not None:
        # The pass memo keeps a digest per contact id: it goes too, and the next pass
        # recomputes everything (as it would anyway, the contacts having changed).
        tx.delete("meta", MEMO_ID)
    return removed


def _names(record: Mapping[str, Any]) -> list[str]:
    found = [record.get("name", ""), *(record.get("aliases") or ()), *(record.get("emails") or ())]
    return sorted({n for n in found if isinstance(n, str) and len(n.strip()) > 1}, key=len)[::-1]


def without_names(text: str, names: Iterable[str]) -> str:
    """Given a rendered note and a forgotten person's names, aliases and addresses, return the
    note without them: a list of people loses that entry, a line left naming nobody goes.

    Other contacts' notes name the people also present ("Also there: …"); those lines are
    MendCRM's own text, so they forget the person too.
    """
    wanted = [n for n in names if n]
    if not wanted or not any(n.casefold() in text.casefold() for n in wanted):
        return text
    # Longest first, so an address goes whole rather than by its alias; whole words only.
    alternatives = (rf"(?<!\w){re.escape(n)}(?!\w)" for n in sorted(wanted, key=len, reverse=True))
    pattern = re.compile("|".join(alternatives), re.IGNORECASE)
    lines = []
    for line in text.split("\n"):
        if not pattern.search(line):
            lines.append(line)
            continue
        line = pattern.sub("", line)
        line = re.sub(r"(,\s*)+,", ",", line)  # an emptied entry in a list
        line = re.sub(r"(:\*{0,2}\s*),\s*", r"\1", line).rstrip(" ,")
        if re.search(r"[:*]\s*$", line) or not line.strip(" -*"):
            continue  # nothing left on the line but its label
        lines.append(line)
    return "\n".join(lines)


def forget_in(tx: repository.Writable, query: str, *, now: datetime) -> Forgotten:
    """Given a store transaction and a contact (id, name or e-mail), forget them in the store and
    record what is left to remove outside it; return what was removed. Raise NotFoundError or
    UsageError if the contact is unknown or ambiguous."""
    person = resolve(repository.contacts(tx), query)
    item_ids = tuple(sorted(r["id"] for r in tx.all("queue") if r.get("contact_id") == person.id))
    removed = forget_records(tx, person.id)
    removal_id = uuid.uuid4().hex[:12]
    removal = {
        "id": removal_id,
        "contact_id": person.id,
        "item_ids": list(item_ids),
        "at": to_iso(now),
        "attempts": 0,
        "last_error": "",
    }
    tx.put(REMOVALS, removal)
    return Forgotten(person, removed, removal_id, item_ids)


_T = TypeVar("_T")


class _TablesView:
    """A plain ``{table: {id: record}}`` dict seen through the store's transaction methods."""

    def __init__(self, tables: dict[str, dict[str, Any]]) -> None:
        self.tables = tables

    def get(self, table: str, record_id: str) -> dict[str, Any] | None:
        return self.tables.get(table, {}).get(record_id)

    def all(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables.get(table, {}).values())

    def select(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [r for r in self.tables.get(table, {}).values() if keep(r)]

    def decode(
        self,
        table: str,
        make: Callable[[dict[str, Any]], _T],
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[_T]:
        return [make(r) for r in self.tables.get(table, {}).values() if keep is None or keep(r)]

    def put(self, table: str, record: dict[str, Any] | PlainRecord) -> None:
        data = record.data if isinstance(record, PlainRecord) else record
        self.tables.setdefault(table, {})[data["id"]] = data

    def put_many(self, table: str, records: Iterable[dict[str, Any] | PlainRecord]) -> None:
        for record in records:
            self.put(table, record)

    def delete(self, table: str, record_id: str) -> None:
        self.tables.get(table, {}).pop(record_id, None)


def scrub_copies(store: Store, contact_ids: Iterable[str]) -> list[str]:
    """Given the store and forgotten contact ids, make its backup copies forget them too: the
    ``.bak`` becomes the current version, and each older ``.vN.bak`` (kept by an upgrade) is
    rewritten without their records. Return warnings for copies that could not be rewritten."""
    wanted = list(contact_ids)
    warnings: list[str] = []
    store.refresh_backup()
    for copy in sorted(store.path.parent.glob(f"{store.path.name}.v*.bak")):
        try:
            tables = json.loads(copy.read_bytes())
            view = _TablesView(tables)
            # Every id, not the first one found: ``any`` over a generator would stop there.
            if any([forget_records(view, cid) for cid in wanted]):
                store.write_copy(copy, view.tables)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            warnings.append(f"could not rewrite the old store copy {copy} ({exc}); delete it")
    return warnings


@dataclass
class Pending:
    """A removal still to do outside the store (see :func:`finish_removals`)."""

    id: str
    contact_id: str
    item_ids: tuple[str, ...]
    at: datetime
    attempts: int = 0
    last_error: str = ""
    errors: list[str] = field(default_factory=list)


def pending_removals(view: repository.Readable) -> list[Pending]:
    """Given a store view, return the removals not finished yet, oldest first."""
    found = [
        Pending(
            r["id"],
            r["contact_id"],
            tuple(r.get("item_ids") or ()),
            from_iso(r["at"]),
            int(r.get("attempts", 0)),
            str(r.get("last_error", "")),
        )
        for r in view.all(REMOVALS)
    ]
    return sorted(found, key=lambda p: (p.at, p.id))


def finish_removals(
    config: Config,
    store: Store,
    *,
    now: datetime,
    password_for: Callable[[AccountConfig], str],
    plugin_manager: pluggy.PluginManager | None = None,
) -> list[str]:
    """Given the config and the store, do the pending removals outside the store: each enabled
    plugin's ``contact_forgotten`` hook (the markdown notes), the plugins' queue copies (the
    export) and an annotation pass (the calendar servers). A removal that succeeded everywhere is
    cleared; one that failed keeps its record with the error, for the next pass and ``status``.
    Return the warnings, one line each; never raise for a plugin or a server."""
    # Every pass asks, and there is rarely anything: read that one table, not the store.
    with store.read(only=[REMOVALS]) as view:
        pending = pending_removals(view)
    if not pending:
        return []
    errors: list[str] = []
    if plugin_manager is not None:
        errors += _plugins_forget(plugin_manager, store, config, pending, now)
    from mendcrm.pipeline import annotate

    result = annotate(config, store, now=now, password_for=password_for)
    if result is not None:
        errors += result.warnings
    with store.transaction() as tx:
        for removal in pending:
            record = tx.get(REMOVALS, removal.id)
            if record is None:
                continue
            if errors:
                text = "; ".join(errors)[:500]
                attempts = int(record.get("attempts", 0)) + 1
                tx.put(REMOVALS, {**record, "attempts": attempts, "last_error": text})
            else:
                tx.delete(REMOVALS, removal.id)
    return [f"a forgotten contact's traces are not all removed yet: {e}" for e in errors]


def _plugins_forget(
    pm: pluggy.PluginManager,
    store: Store,
    config: Config,
    pending: list[Pending],
    now: datetime,
) -> list[str]:
    from mendcrm.plugins import call_each

    errors: list[str] = []
    for removal in pending:
        for outcome in call_each(
            pm,
            "contact_forgotten",
            contact_id=removal.contact_id,
            item_ids=list(removal.item_ids),
            config=config,
        ):
            if outcome.error:
                errors.append(f"plugin {outcome.plugin}: {outcome.error}")
    with store.read() as view:
        snapshot: Mapping[str, Any] = {
            "items": repository.queue(view),
            "contacts": {c.id: c for c in repository.contacts(view)},
            "encounters": {e.id: e for e in repository.encounters(view)},
            "config": config,
            "now": now,
        }
    for outcome in call_each(pm, "queue_snapshot", **snapshot):
        if outcome.error:
            errors.append(f"plugin {outcome.plugin}: {outcome.error}")
    return errors


__all__ = [
    "REMOVALS",
    "Forgotten",
    "Pending",
    "finish_removals",
    "forget_in",
    "forget_records",
    "pending_removals",
    "scrub_copies",
]
