"""Planning: reconcile this pass's encounters with the stored ones and keep the queue in step.

Pure: the caller loads the stored records, calls :func:`plan`, writes ``plan.encounters`` and
``plan.queue`` in the same store transaction, then fires the plugin hooks for
``plan.detected``, ``plan.changed`` and ``plan.withdrawn``. :func:`mark_due` turns pending
items whose time has come into due ones. What becomes of each encounter's prep note and
follow-up (rule 2 below) is :mod:`mendcrm.encounter_items`; this module decides which encounters
are current, moved or gone.

The rules, in the order :func:`plan` applies them:

1. **Moves.** A stored active encounter that is gone this pass, and a new one of the same series
   (source, calendar, UID, contact), are the same meeting moved (a single event's occurrence key
   is its start). When a series has as many gone as new encounters, they are paired in time
   order; the old one is withdrawn ("moved") and its queue items follow the new one. This
   holds for a meeting that has just ended, too (it did not happen and was put off).
2. **Current encounters** are stored as detected; each gets a prep note (unless it has already
   started) and a follow-up. Open items (pending/due) follow the event's time and re-render
   when their text changes; withdrawn ones come back if the encounter does; delivered, done and
   dismissed items are never touched, deleted or re-created.
3. **Gone encounters** not yet over are withdrawn with their open items, unless their
   source failed this pass. Past ones stay as history.
   **Dismissed encounters** (the user's ``mendcrm encounter dismiss``, see
   :mod:`mendcrm.dismissals`) are never current: each is withdrawn if still active, takes no
   part in move pairing, and is left out of the other encounters' ``others``.
4. **Nudges.** A contact whose stage has a cadence, and who has had no logged interaction (or
   stage change) for that long, gets one nudge; logging anything starts a new quiet period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mendcrm.config.model import Config
from mendcrm.dismissals import REASON_DISMISSED, Dismissals
from mendcrm.due_times import followup_due, prep_due
from mendcrm.encounter_items import PlanningWork, repoint, sync_items
from mendcrm.model import (
    CLOSED_QUEUE_STATES,
    Contact,
    Encounter,
    Interaction,
    QueueItem,
    queue_id,
    replace,
)
from mendcrm.nudges import nudge_id, plan_nudges, quiet_since
from mendcrm.playbook import Playbook
from mendcrm.render import Renderer

CLOSED_STATES = CLOSED_QUEUE_STATES
"""Items in these states are history: never deleted, never re-created, never moved."""

HISTORY_WINDOW = timedelta(days=1)
"""The sync window reaches this far back (events stage: now − 1 day); an encounter that ended
earlier has simply aged out of view, which says nothing about a move."""

REASON_MOVED = "moved"
REASON_GONE = "the event was cancelled, declined or deleted, or no longer names them"
REASON_UNFLAGGED = "the contact is no longer flagged"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a pass changes: records to upsert, and encounters to tell the plugins about."""

    encounters: tuple[Encounter, ...] = ()
    """Encounters to upsert (new, changed, reactivated or withdrawn)."""
    queue: tuple[QueueItem, ...] = ()
    """Queue items to upsert (new, moved, re-rendered, revived or withdrawn)."""
    detected: tuple[Encounter, ...] = ()
    """Encounters seen for the first time (or seen again after being withdrawn)."""
    changed: tuple[tuple[Encounter, Encounter], ...] = ()
    """(encounter, previous) pairs whose event moved or changed; a moved single event's new
    encounter is paired with the old one it replaces."""
    withdrawn: tuple[Encounter, ...] = ()
    """Encounters withdrawn this pass; each carries its ``withdrawn_reason``."""
    nudges_in_use: frozenset[str] = frozenset()
    """Ids of each contact's nudge for the current quiet period, whatever its state: a closed
    one is what stops that period's nudge from being queued again (:mod:`mendcrm.retention`)."""

    @property
    def empty(self) -> bool:
        return not (self.encounters or self.queue)


def series_key(encounter: Encounter) -> tuple[str, str, str, str]:
    """Return what stays the same when a meeting moves: source, calendar, UID and contact."""
    occ = encounter.occurrence
    return (occ.source, occ.calendar, occ.uid, encounter.contact_id)


def _meaningful(encounter: Encounter) -> tuple[object, ...]:
    """What a change must touch to be reported (ETag, href and description churn are not)."""
    occ = encounter.occurrence
    return (
        encounter.state,
        encounter.kind,
        encounter.contact_declined,
        encounter.others,
        encounter.match.by,
        occ.start,
        occ.end,
        occ.summary,
        occ.location,
        occ.all_day,
    )


def _withdrawable(
    encounter: Encounter, failed: Collection[str], now: datetime, since: timedelta = timedelta(0)
) -> bool:
    """Return True if an absence this pass means something: its source was read, and it ends
    after ``now - since``."""
    occ = encounter.occurrence
    return occ.source not in failed and occ.calendar not in failed and occ.end > now - since


def plan(
    *,
    detected: Iterable[Encounter],
    stored_encounters: Iterable[Encounter],
    stored_queue: Iterable[QueueItem],
    contacts: Iterable[Contact],
    interactions: Iterable[Interaction],
    failed_sources: Collection[str],
    now: datetime,
    config: Config,
    playbook: Playbook,
    renderer: Renderer,
    dismissals: Dismissals | None = None,
    keep_rendered: bool = False,
    meeting_soon: Mapping[str, datetime] | None = None,
) -> Plan:
    """Given this pass's encounters and the stored state, return what to write and announce.

    ``failed_sources`` names sources (``Occurrence.source``) or calendars
    (``Occurrence.calendar``) that could not be read this pass: their stored encounters are
    neither withdrawn nor changed. ``dismissals`` are the user's "not this person": what they
    cover never becomes current. With ``keep_rendered`` (the caller knows that nothing a
    note's text depends on beyond its contact and encounter — contacts, interactions,
    templates, playbook, config — changed since the stored texts were rendered), an item whose
    contact and encounter are unchanged keeps its text instead of being rendered again.
    ``meeting_soon`` gives contacts' next meetings among encounters not passed in (a caller
    planning only some meetings, :mod:`mendcrm.changed_pass`): nudges weigh them too.
    Running :func:`plan` again on its own result gives an empty plan.
    """
    dismissed = dismissals or Dismissals()
    stored = {e.id: e for e in stored_encounters}
    current = _current(detected, dismissed)
    items = {i.id: i for i in stored_queue}
    by_contact: dict[str, list[Interaction]] = defaultdict(list)
    for interaction in interactions:
        by_contact[interaction.contact_id].append(interaction)
    work = PlanningWork(
        config=config,
        playbook=playbook,
        renderer=renderer,
        now=now,
        contacts={c.id: c for c in contacts},
        interactions=by_contact,
        items=dict(items),
        original_items=items,
        stored=stored,
        keep_rendered=keep_rendered,
    )

    changed: list[tuple[Encounter, Encounter]] = []
    withdrawn: list[Encounter] = []
    holders = {
        i.encounter_id
        for i in items.values()
        if i.state in CLOSED_STATES and i.encounter_id is not None
    }
    moved_from = _pair_moves(
        {i: e for i, e in stored.items() if not dismissed.covers(e)},
        current,
        holders,
        failed_sources,
        now,
    )
    for new_id, old in moved_from.items():
        repoint(work, old.id, new_id)
        if old.state == "active":
            gone = replace(old, state="withdrawn", withdrawn_reason=REASON_MOVED)
            work.out_encounters[old.id] = gone
            withdrawn.append(gone)

    detected_now: list[Encounter] = []
    for encounter in current.values():
        previous = stored.get(encounter.id)
        if (
            # A move onto an id withdrawn earlier is a move all the same, whether or not that
            # withdrawn record is still stored (mendcrm.retention may have let it go).
            (previous is None or previous.state == "withdrawn")
            and encounter.id in moved_from
            and moved_from[encounter.id].state == "active"
        ):
            changed.append((encounter, moved_from[encounter.id]))
        elif previous is None or previous.state == "withdrawn":
            detected_now.append(encounter)
        elif _meaningful(previous) != _meaningful(encounter):
            changed.append((encounter, previous))
        if previous != encounter:
            work.out_encounters[encounter.id] = encounter

    for encounter in stored.values():
        if (
            encounter.id in current
            or encounter.id in work.out_encounters
            or encounter.state != "active"
        ):
            continue
        contact = work.contacts.get(encounter.contact_id)
        if dismissed.covers(encounter):
            reason = REASON_DISMISSED  # whatever became of its source: the user has spoken
        elif not _withdrawable(encounter, failed_sources, now):
            continue
        elif contact is not None and contact.flagged:
            reason = REASON_GONE
        else:
            reason = REASON_UNFLAGGED
        gone = replace(encounter, state="withdrawn", withdrawn_reason=reason)
        work.out_encounters[encounter.id] = gone
        withdrawn.append(gone)

    # Every encounter whose items may need work: still active, touched this pass, or current.
    active = {e.id: e for e in stored.values() if e.state == "active"}
    active.update({e.id: e for e in work.out_encounters.values()})
    active.update(current)
    grouped = work.by_encounter()
    for encounter in sorted(active.values(), key=lambda e: e.id):
        sync_items(work, encounter, grouped, create=encounter.id in current)

    soon: dict[str, datetime] = {}
    for encounter in active.values():
        final = work.out_encounters.get(encounter.id, encounter)
        start = final.occurrence.start
        if final.state == "active" and start >= now:
            soon[final.contact_id] = min(start, soon.get(final.contact_id, start))
    for contact_id, start in (meeting_soon or {}).items():
        soon[contact_id] = min(start, soon.get(contact_id, start))
    plan_nudges(work, soon)
    return Plan(
        encounters=tuple(sorted(work.out_encounters.values(), key=lambda e: e.id)),
        queue=work.changed_items(),
        detected=tuple(detected_now),
        changed=tuple(changed),
        withdrawn=tuple(withdrawn),
        nudges_in_use=frozenset(work.nudges_in_use),
    )


def _current(detected: Iterable[Encounter], dismissed: Dismissals) -> dict[str, Encounter]:
    """Return this pass's encounters by id, without the dismissed ones (nor them as others)."""
    current: dict[str, Encounter] = {}
    for encounter in detected:
        current.setdefault(encounter.id, replace(encounter, state="active", withdrawn_reason=""))
    if not dismissed:
        return current
    gone = {
        (series_key(e)[:3], e.occurrence.key, e.contact_id)
        for e in current.values()
        if dismissed.covers(e)
    }
    kept: dict[str, Encounter] = {}
    for eid, encounter in current.items():
        if dismissed.covers(encounter):
            continue
        place = (series_key(encounter)[:3], encounter.occurrence.key)
        others = tuple(o for o in encounter.others if (*place, o) not in gone)
        kept[eid] = encounter if others == encounter.others else replace(encounter, others=others)
    return kept


def _pair_moves(
    stored: Mapping[str, Encounter],
    current: Mapping[str, Encounter],
    holders: Collection[str],
    failed: Collection[str],
    now: datetime,
) -> dict[str, Encounter]:
    """Return {new encounter id: the gone encounter it replaces} for moved meetings.

    Gone means active last pass, absent now, and not aged out of the window; a series with
    none of those may instead pair with withdrawn encounters that still hold delivered or
    closed items (``holders``): a meeting cancelled after its note went out and put back at
    another time keeps that note.
    """
    gone: dict[tuple[str, str, str, str], list[Encounter]] = defaultdict(list)
    held: dict[tuple[str, str, str, str], list[Encounter]] = defaultdict(list)
    for encounter in stored.values():
        if encounter.id in current:
            continue
        if encounter.state == "active" and _withdrawable(encounter, failed, now, HISTORY_WINDOW):
            gone[series_key(encounter)].append(encounter)
        elif encounter.state == "withdrawn" and encounter.id in holders:
            held[series_key(encounter)].append(encounter)
    new: dict[tuple[str, str, str, str], list[Encounter]] = defaultdict(list)
    for encounter in current.values():
        previous = stored.get(encounter.id)
        if previous is None or previous.state == "withdrawn":
            new[series_key(encounter)].append(encounter)
    pairs: dict[str, Encounter] = {}
    for key, news in new.items():
        olds = gone.get(key) or held.get(key, [])
        if len(news) == len(olds):
            for old, moved in zip(
                sorted(olds, key=_in_time), sorted(news, key=_in_time), strict=True
            ):
                pairs[moved.id] = old
    return pairs


def _in_time(encounter: Encounter) -> tuple[datetime, str]:
    return (encounter.occurrence.start, encounter.id)


def mark_due(queue: Iterable[QueueItem], now: datetime) -> list[QueueItem]:
    """Given queue items and the time, return the pending ones whose time has come, now due."""
    return [replace(i, state="due") for i in queue if i.state == "pending" and i.due <= now]


__all__ = [
    "CLOSED_STATES",
    "REASON_DISMISSED",
    "REASON_GONE",
    "REASON_MOVED",
    "REASON_UNFLAGGED",
    "Plan",
    "followup_due",
    "mark_due",
    "nudge_id",
    "plan",
    "prep_due",
    "queue_id",
    "quiet_since",
    "series_key",
]
