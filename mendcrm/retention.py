"""Retention: how records leave the store, so that it stays the size of what is alive.

A pass over calendars whose events keep moving (a feed that stamps new times or new UIDs on
every export) withdraws encounters and queue items at every pass; kept for ever, they made the
store grow without bound. :func:`prune` runs inside the transaction of every write that can
withdraw or close something (the pass, ``followup done|dismiss``, ``encounter dismiss``) and
deletes, by these rules:

* **Never deleted**: a queue item that was delivered (``delivered_at`` set, or a plugin's receipt
  in ``deliveries``: it reached the user) or that is still pending, due or delivered;
  interactions (logged outcomes); dismissals (the user's "not this person", which must keep
  suppressing) and the encounter each names; active encounters; and any encounter a kept item
  or an interaction names.
* **At once** — what the user never saw: a withdrawn encounter that nothing kept names (no
  delivered note, no closed item, no interaction, no dismissal), with its withdrawn, undelivered
  items; and such an item whose encounter is gone. Seen again, such a meeting is detected
  afresh with the same stable ids. A withdrawn item of an encounter that stays (an active one,
  or one a delivered note holds) stays with it: a meeting put back revives it under its id.
* **After** ``[store] retention_days`` **counted from** ``closed_at`` — the rest that nobody will
  read again: a follow-up or nudge closed (done or dismissed) without having been delivered,
  unless it still stops a note from being queued again: an item of an encounter that is still
  active (it would otherwise be re-created when that meeting is seen again), or the nudge of a
  contact's current quiet period (:attr:`mendcrm.planning.Plan.nudges_in_use`; a caller that
  does not know them expires no nudge). The withdrawn encounter such an item belonged to goes
  with it.

``closed_at`` for records that lack it: queue items closed by older versions may have none; the
first write that sees one stamps it with the time of that write, so retention counts from the
upgrade and nothing the user closed disappears earlier than ``retention_days`` after it. No
migration is needed: the rule reads the records as they are. Encounters need no closing time:
a withdrawn one goes with the last kept record that names it.

What the user sees is the same as without pruning (``upcoming``, ``prep``, ``followups``,
delivery, annotations), with these deliberate differences: ``followups --all``, ``prep ID`` and
the read API no longer find what was pruned; a meeting withdrawn with only closed, undelivered
items, and put back more than ``retention_days`` later, is planned as a new meeting; and a
dedicated-calendar task for a follow-up closed without delivery leaves the calendar when its
item expires.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from mendcrm.config.model import Config
from mendcrm.model import from_iso, to_iso
from mendcrm.repository import Writable

log = logging.getLogger(__name__)

DISMISSALS = "dismissals"
"""The table of the user's dismissals (:data:`mendcrm.dismissals.TABLE`, which imports this)."""
_KEPT_STATES = frozenset({"pending", "due", "delivered"})
"""Queue states whose items are always kept: still open, or delivered history."""
_CLOSED_STATES = frozenset({"done", "dismissed"})
"""Queue states of items the user closed; kept ``retention_days`` unless delivered."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long what is closed stays: ``keep_for`` after closing (None: for ever), and whether
    what the user never saw goes at once (``drop_unseen``)."""

    keep_for: timedelta | None = timedelta(days=90)
    drop_unseen: bool = True

    @classmethod
    def of(cls, config: Config) -> Retention:
        """Given the config, return its retention (``[store] retention_days``)."""
        return cls(keep_for=timedelta(days=config.store.retention_days))


DEFAULT = Retention()
"""The rule with ``[store]``'s defaults (90 days)."""

KEEP_EVERYTHING = Retention(keep_for=None, drop_unseen=False)
"""No pruning at all: what the store did before retention (a reference for tests)."""


@dataclass(frozen=True, slots=True)
class Pruned:
    """What :func:`prune` deleted (record ids) and how many closing times it stamped."""

    encounters: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    stamped: int = 0

    def __bool__(self) -> bool:
        return bool(self.encounters or self.queue or self.stamped)


def prune(
    tx: Writable,
    *,
    now: datetime,
    retention: Retention,
    nudges_in_use: Collection[str] | None = None,
) -> Pruned:
    """Given a store transaction, the time and the retention, delete what is no longer kept.

    Apply the rules of this module to the ``queue`` and ``encounters`` tables and stamp
    ``closed_at`` (= ``now``) on closed queue items that lack it; ``nudges_in_use`` are the
    nudge ids the pass's planning still consults (None: expire no closed nudge). Return what was
    deleted; raise nothing beyond the store's own errors.
    """
    # Read through ``decode``, which copies nothing: prune needs a few fields of every record,
    # and copying whole tables (the queue holds every note's text) was a pass's memory peak.
    encounters = dict(tx.decode("encounters", _id_and_state))
    named = set(tx.decode("interactions", _encounter_id))
    # The encounter a dismissal names stays too: a copy of that meeting seen in another
    # calendar must find its id taken (mendcrm.copies.keep_known_ids), or it would come back
    # under the id of the copy instead of staying dismissed.
    named |= set(tx.decode(DISMISSALS, _encounter_id))
    named.discard(None)
    cutoff = None if retention.keep_for is None else now - retention.keep_for
    dropped_items: list[str] = []
    unsent: list[_Item] = []
    expired_from: set[str] = set()
    stamped = 0
    for item in tx.decode("queue", _Item.of):
        encounter_id = item.encounter_id
        state = item.state
        if item.delivered or state not in (*_CLOSED_STATES, "withdrawn"):
            expired = False  # open, delivered, or a state this version does not know
        elif state == "withdrawn" and retention.drop_unseen:
            unsent.append(item)  # decided below, with its encounter
            continue
        elif state == "withdrawn":
            expired = False
        elif not item.closed_at:
            record = tx.get("queue", item.id) or {}
            tx.put("queue", {**record, "closed_at": to_iso(now)})
            stamped += 1
            expired = False
        else:
            expired = (
                cutoff is not None
                and from_iso(item.closed_at) <= cutoff
                and not _holds(item, encounters, nudges_in_use)
            )
        if expired:
            dropped_items.append(item.id)
            tx.delete("queue", item.id)
            expired_from.add(encounter_id or "")
        elif encounter_id:
            named.add(encounter_id)
    staying = {i for i, state in encounters.items() if state != "withdrawn" or i in named}
    for item in unsent:
        # A withdrawn item never delivered goes with its encounter when that goes (unseen), and
        # stays while it stays: a meeting put back revives it under the id it had.
        if item.encounter_id not in staying:
            dropped_items.append(item.id)
            tx.delete("queue", item.id)
    dropped_encounters: list[str] = []
    for encounter_id in sorted(set(encounters) - staying):
        # Nothing kept names it: unseen (it never had a kept record) or its last one expired.
        if retention.drop_unseen or encounter_id in expired_from:
            dropped_encounters.append(encounter_id)
            tx.delete("encounters", encounter_id)
    pruned = Pruned(tuple(dropped_encounters), tuple(dropped_items), stamped)
    if pruned:
        log.debug(
            "retention: %d encounter(s) and %d queue item(s) deleted, %d closing time(s) set",
            len(pruned.encounters),
            len(pruned.queue),
            stamped,
        )
    return pruned


class _Item(NamedTuple):
    """What retention reads of a queue record (read without copying the record)."""

    id: str
    encounter_id: str | None
    state: str | None
    kind: str | None
    closed_at: str | None
    delivered: bool
    """The item reached the user through any plugin."""

    @classmethod
    def of(cls, record: dict[str, Any]) -> _Item:
        return cls(
            record["id"],
            record.get("encounter_id"),
            record.get("state"),
            record.get("kind"),
            record.get("closed_at"),
            bool(record.get("delivered_at") or record.get("deliveries")),
        )


def _id_and_state(record: dict[str, Any]) -> tuple[str, str]:
    """An encounter record's id and state (an older record without one is active)."""
    return record["id"], record.get("state", "active")


def _encounter_id(record: dict[str, Any]) -> str | None:
    return record.get("encounter_id")


def _holds(
    item: _Item,
    encounters: dict[str, str],
    nudges_in_use: Collection[str] | None,
) -> bool:
    """Return True if a closed item still stops planning from queuing its note again."""
    if item.encounter_id:
        return encounters.get(item.encounter_id) == "active"
    if item.kind == "nudge":
        return nudges_in_use is None or item.id in nudges_in_use
    return False


__all__ = ["DEFAULT", "KEEP_EVERYTHING", "Pruned", "Retention", "prune"]
