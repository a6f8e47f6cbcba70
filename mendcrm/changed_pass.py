"""The pass over what changed: when only calendar objects changed since the last full pass,
detect and plan only the meetings they hold.

Detection is a function of one occurrence (and the contact index); two copies of one meeting
are merged by UID (:mod:`mendcrm.copies`); planning decides per encounter series (source,
calendar, UID, contact), except for nudges, which are per contact and read the contact's next
meeting. So when the pass memo (:mod:`mendcrm.pass_memo`) vouches for everything else — the
stored sync state is the one the last full pass saw, the contacts, interactions, queue,
encounters, dismissals and config are unchanged, and no threshold of time lies between — a
changed object can only change the encounters of the UIDs it held before and holds now, and the
nudges of the contacts those encounters name. This module finds those UIDs (objects compared
entry by entry), expands and detects their occurrences alone, and plans their encounters and
their contacts' nudges with :func:`mendcrm.planning.plan`: the records it writes are the ones
a full pass would write (``tests/core/test_incremental_machine.py`` checks it against a full
recomputation after every step of random histories).

The same holds for contacts whose planning inputs alone changed (a stage set, an interaction
logged, a text the notes show edited: :mod:`mendcrm.contact_changes` tells which): the UIDs of
their stored encounters join the changed objects' ones, and their nudges are planned too.

Anything else falls back to the full pass: a calendar that came or went or was renamed,
more than :data:`MAX_CHANGED_OBJECTS` objects changed, a source that failed (it changes the
memo's inputs), programmes or a held source (no memo at all).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from mendcrm.model import FLAGGED_STAGES, Encounter, Interaction, QueueItem, from_iso
from mendcrm.sources.state import calendar_occurrences

if TYPE_CHECKING:
    from mendcrm.config.model import Config
    from mendcrm.events.window import Span
    from mendcrm.model import Contact, Occurrence
    from mendcrm.pass_memo import PassMemo
    from mendcrm.planning import Plan
    from mendcrm.playbook import Playbook
    from mendcrm.render import Renderer
    from mendcrm.retention import Retention
    from mendcrm.store import Transaction

MAX_CHANGED_OBJECTS = 200
"""Beyond this many changed objects in one pass, a full pass costs about as much."""

Documents = Mapping[str, Mapping[str, Any]]
"""Sync state documents by id (annotation documents left out)."""

_WHOLE_DOCUMENT = ("kind", "source", "calendar", "name")
"""What every occurrence of a calendar document carries besides its objects."""


def changed_objects(stored: Documents, new: Documents) -> dict[str, set[str]] | None:
    """Given the stored sync state documents and the pass's new ones, return per document id
    the hrefs whose entries differ (added, changed or removed); None when a document came or
    went, or changed what all its occurrences carry (its kind, source, calendar URL or name),
    or more than :data:`MAX_CHANGED_OBJECTS` objects changed: then only a full pass will do.
    """
    if stored.keys() != new.keys():
        return None
    changed: dict[str, set[str]] = {}
    count = 0
    for doc_id, doc in new.items():
        before = stored[doc_id]
        if before is doc or before == doc:
            continue
        if any(before.get(name) != doc.get(name) for name in _WHOLE_DOCUMENT):
            return None
        old_objects, new_objects = before.get("objects") or {}, doc.get("objects") or {}
        hrefs = {
            h for h in old_objects.keys() | new_objects.keys()
            if old_objects.get(h) != new_objects.get(h)
        }  # fmt: skip
        if hrefs:
            changed[doc_id] = hrefs
            count += len(hrefs)
            if count > MAX_CHANGED_OBJECTS:
                return None
    return changed


def entry_uids(entry: Mapping[str, Any] | None) -> set[str]:
    """Given a stored object entry (:func:`mendcrm.sources.state.make_entry`), return the UIDs
    of its occurrences."""
    return {str(p.get("uid", "")) for p in (entry or {}).get("p") or ()}


def touched_uids(stored: Documents, new: Documents, changed: Mapping[str, set[str]]) -> set[str]:
    """Given both states and the changed hrefs, return every UID a changed object held before
    or holds now."""
    uids: set[str] = set()
    for doc_id, hrefs in changed.items():
        before = stored[doc_id].get("objects") or {}
        after = new[doc_id].get("objects") or {}
        for href in hrefs:
            uids |= entry_uids(before.get(href)) | entry_uids(after.get(href))
    return uids


def occurrences_of(state: Documents, uids: Collection[str], window: Span) -> list[Occurrence]:
    """Given the new state, UIDs and the window, return the occurrences of those UIDs in every
    calendar (all copies of each meeting), in the sync stage's order."""
    wanted = set(uids)

    def holds_one(entry: Mapping[str, Any]) -> bool:
        return not wanted.isdisjoint(entry_uids(entry))

    found = [
        occurrence
        for doc in state.values()
        if doc.get("kind") == "calendar"
        for occurrence in calendar_occurrences(doc, window, holds_one)
    ]
    found.sort(key=lambda o: (o.start, o.source, o.uid, o.recurrence_id or ""))
    return found


@dataclass(frozen=True, slots=True)
class Scope:
    """What a changed object can touch: its meetings' UIDs, the contacts their encounters name
    (matched or among the others), and those contacts' stored encounters."""

    uids: frozenset[str]
    contacts: frozenset[str]
    stored: tuple[Encounter, ...]
    """Every stored encounter of the UIDs or of the contacts."""

    EMPTY: ClassVar[Scope]

    @property
    def stored_of_uids(self) -> list[Encounter]:
        return [e for e in self.stored if e.occurrence.uid in self.uids]

    def meeting_soon(self, now: datetime) -> dict[str, datetime]:
        """Return each contact's next active encounter outside the UIDs (start at or after
        ``now``): planning sees only the UIDs' encounters, a nudge needs the next meeting."""
        soon: dict[str, datetime] = {}
        for encounter in self.stored:
            start = encounter.occurrence.start
            if encounter.occurrence.uid in self.uids or encounter.state != "active":
                continue
            known = soon.get(encounter.contact_id)
            if start >= now and (known is None or start < known):
                soon[encounter.contact_id] = start
        return soon


Scope.EMPTY = Scope(frozenset(), frozenset(), ())


def scope_of(
    tx: Transaction,
    uids: Collection[str],
    found: Iterable[Encounter],
    edited: Collection[str] = (),
) -> Scope:
    """Given the pass's transaction, the touched UIDs, the encounters detected for them and
    the contacts edited (:mod:`mendcrm.contact_changes`), return the scope: the edited contacts
    and those named by the encounters found and by the UIDs' stored encounters."""
    wanted = frozenset(uids)

    def of_uids(record: Mapping[str, Any]) -> bool:
        return (record.get("occurrence") or {}).get("uid") in wanted

    stored = tx.decode("encounters", Encounter.from_record, of_uids)
    # An edited contact's nudge is planned again even when no meeting names it.
    contacts: set[str] = set(edited)
    for encounter in (*stored, *found):
        contacts.add(encounter.contact_id)
        contacts.update(encounter.others)

    def elsewhere(record: Mapping[str, Any]) -> bool:
        return record.get("contact_id") in contacts and not of_uids(record)

    stored += tx.decode("encounters", Encounter.from_record, elsewhere)
    stored.sort(key=lambda e: (e.occurrence.start, e.id))
    return Scope(wanted, frozenset(contacts), tuple(stored))


def plan_changed(
    tx: Transaction,
    *,
    config: Config,
    state: Documents,
    uids: Collection[str],
    window: Span,
    now: datetime,
    playbook: Playbook,
    renderer: Renderer,
    mine: frozenset[str],
    keep_rendered: bool,
    edited: Collection[str] = (),
) -> tuple[Plan, Scope, list[Interaction], list[Contact]]:
    """Given the pass's transaction, the new state, the touched UIDs and the contacts edited
    (whose meetings' UIDs the caller counts among the touched ones), detect and plan the UIDs'
    meetings and the nudges of their contacts and of the edited ones; write nothing. Return
    the plan, its scope and the scope's interactions and contacts (for the memo)."""
    from mendcrm.copies import keep_known_ids, one_copy_each
    from mendcrm.detection import ContactIndex, detect
    from mendcrm.dismissals import Dismissals
    from mendcrm.model import Contact
    from mendcrm.planning import plan

    # Records in other stages are not decoded: most contacts are not being mended.
    flagged = tx.decode("contacts", Contact.from_record, lambda r: r.get("stage") in FLAGGED_STAGES)
    index = ContactIndex.build(c for c in flagged if c.flagged)
    annotating = {f"account:{a.name}" for a in config.accounts if a.annotate != "off"}
    occurrences = one_copy_each(occurrences_of(state, uids, window), annotating=annotating)
    found = detect(occurrences, index, me=config.me, settings=config.detection, mine=mine)
    scope = scope_of(tx, uids, found, edited)
    of_uids = scope.stored_of_uids
    detected = keep_known_ids(found, scope.stored)
    ids = {e.id for e in of_uids} | {e.id for e in detected}
    contacts = tx.decode("contacts", Contact.from_record, lambda r: r.get("id") in scope.contacts)
    interactions = sorted(
        tx.decode(
            "interactions",
            Interaction.from_record,
            lambda r: r.get("contact_id") in scope.contacts,
        ),
        key=lambda i: (i.when, i.id),
    )
    items = tx.decode(
        "queue",
        QueueItem.from_record,
        lambda r: (
            r.get("encounter_id") in ids
            or (r.get("kind") == "nudge" and r.get("contact_id") in scope.contacts)
        ),
    )
    items.sort(key=lambda q: (q.due, q.id))
    the_plan = plan(
        detected=detected,
        stored_encounters=of_uids,
        stored_queue=items,
        contacts=contacts,
        interactions=interactions,
        failed_sources=(),
        now=now,
        config=config,
        playbook=playbook,
        renderer=renderer,
        dismissals=Dismissals.load(tx),
        keep_rendered=keep_rendered,
        meeting_soon=scope.meeting_soon(now),
    )
    return the_plan, scope, interactions, contacts


def due_now(tx: Transaction, now: datetime) -> tuple[list[QueueItem], datetime | None]:
    """Given a transaction and the time, return the pending items whose time has come (not yet
    marked) and the earliest due time of the pending items that stay pending (or None); only
    the items due now are decoded."""
    due: list[QueueItem] = []
    first: datetime | None = None
    for record in tx.decode("queue", lambda r: r, lambda r: r.get("state") == "pending"):
        when = from_iso(record["due"])
        if when <= now:
            due.append(QueueItem.from_record(record))
        elif first is None or when < first:
            first = when
    return due, first


def memo_after_change(
    memo: PassMemo,
    *,
    inputs: str,
    now: datetime,
    scope: Scope,
    the_plan: Plan,
    changed_entries: Documents,
    window: Span,
    contacts: Iterable[Contact],
    interactions: Iterable[Interaction],
    playbook: Playbook,
    keep: Retention,
    zone: tzinfo,
    next_due: datetime | None,
) -> PassMemo:
    """Given the memo the pass started from and what it changed, return the memo after it.

    What the pass did not touch keeps the old memo's thresholds (it is valid from its own
    time to its ``valid_until``); what it touched adds its own, counted from ``now``: the
    changed objects' occurrences entering or leaving the window, the scope's encounters
    starting and ending, its contacts' nudges, the touched items' retention, local midnight.
    """
    from mendcrm import pass_memo
    from mendcrm.time_thresholds import Timeline

    final = {e.id: e for e in scope.stored}
    final.update((e.id, e) for e in the_plan.encounters)
    timeline = Timeline(now)
    starts = timeline.encounters(final.values())
    timeline.queue(the_plan.queue, keep.keep_for)
    grouped: dict[str, list[Interaction]] = {}
    for interaction in interactions:
        grouped.setdefault(interaction.contact_id, []).append(interaction)
    timeline.nudges(contacts, grouped, playbook, starts)
    timeline.window(changed_entries.values(), window)
    timeline.midnight(zone)
    # Untouched records keep the old memo's thresholds (a touched one's stale entries only
    # widen a later time pass's scope).
    timeline.carry(memo)
    entries, keyed_until = timeline.kept()
    return pass_memo.PassMemo(
        inputs=inputs,
        computed_at=now,
        valid_until=timeline.first,
        next_due=next_due,
        rendered_from=memo.rendered_from,
        timeline=entries,
        keyed_until=keyed_until,
    )


def changed_entries(new: Documents, changed: Mapping[str, set[str]]) -> dict[str, Any]:
    """Given the new state and the changed hrefs, return calendar documents holding only the
    changed objects that are still there (for the window's thresholds)."""
    out: dict[str, Any] = {}
    for doc_id, hrefs in changed.items():
        objects = new[doc_id].get("objects") or {}
        out[doc_id] = {
            "kind": new[doc_id].get("kind"),
            "objects": {h: objects[h] for h in hrefs if h in objects},
        }
    return out


__all__ = [
    "MAX_CHANGED_OBJECTS",
    "Scope",
    "changed_entries",
    "changed_objects",
    "due_now",
    "memo_after_change",
    "occurrences_of",
    "plan_changed",
    "scope_of",
    "touched_uids",
]
