"""An encounter's queue items kept in step with it during a planning pass.

:class:`PlanningWork` is the working set of queue items one :func:`mendcrm.planning.plan` call
edits (and renders), with the encounters it writes and the nudges it keeps; :func:`repoint`
lets a moved meeting's items follow its new encounter and :func:`sync_items` gives each
encounter its prep note and follow-up (created, moved in time, re-rendered, revived or
withdrawn). They are apart from :mod:`mendcrm.planning` because that module decides *which*
encounters are current, moved or gone; this one holds what happens to their notes, by the
rules of its step 2.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mendcrm.config.model import Config
from mendcrm.due_times import UserDay, followup_due, prep_due
from mendcrm.model import (
    CLOSED_QUEUE_STATES,
    OPEN_QUEUE_STATES,
    Contact,
    Encounter,
    Interaction,
    QueueItem,
    queue_id,
    replace,
)
from mendcrm.playbook import Playbook
from mendcrm.render import Renderer


@dataclass
class PlanningWork:
    """The mutable state of one planning pass: the queue items as it leaves them (``items``,
    keyed by id, against ``original_items`` as loaded), the encounters it writes and the
    nudges it keeps; what :func:`mendcrm.nudges.plan_nudges` works on, too."""

    config: Config
    playbook: Playbook
    renderer: Renderer
    now: datetime
    contacts: Mapping[str, Contact]
    interactions: Mapping[str, list[Interaction]]
    items: dict[str, QueueItem]
    original_items: Mapping[str, QueueItem]
    stored: Mapping[str, Encounter] = field(default_factory=dict)
    keep_rendered: bool = False
    out_encounters: dict[str, Encounter] = field(default_factory=dict)
    nudges_in_use: set[str] = field(default_factory=set)

    @property
    def day(self) -> UserDay:
        """The hours, in the user's zone, that due times are placed in."""
        return UserDay.of(self.config, self.renderer.zone)

    def by_encounter(self) -> dict[tuple[str, str], list[QueueItem]]:
        """Return the prep notes and follow-ups by (encounter id, kind)."""
        grouped: dict[tuple[str, str], list[QueueItem]] = defaultdict(list)
        for item in self.items.values():
            if item.encounter_id is not None and item.kind in ("prep", "followup"):
                grouped[(item.encounter_id, item.kind)].append(item)
        return grouped

    def put(self, item: QueueItem) -> None:
        """Given an item, keep it in place of the one with its id (or as a new one)."""
        self.items[item.id] = item

    def rendered(self, item: QueueItem, encounter: Encounter | None) -> QueueItem:
        """Given an item and its encounter, return it with its body and title rendered anew."""
        contact = self.contacts.get(item.contact_id)
        if contact is None:
            return item
        if self.keep_rendered and item.body and self._rendered_before(item, encounter):
            return item
        body = self.renderer.render(
            item,
            contact,
            encounter,
            interactions=self.interactions.get(contact.id, ()),
            contacts=self.contacts,
        )
        title = self.renderer.title(item, contact, encounter)
        if body == item.body and title == item.title:
            return item
        return replace(item, body=body, title=title)

    def _rendered_before(self, item: QueueItem, encounter: Encounter | None) -> bool:
        """Return True if the item's text was rendered from what it would be rendered from now.

        A note's text depends on its kind and id, its contact (and the names of the others
        present), the contact's interactions, the encounter, the templates, playbook and zone;
        the caller vouches for all but the item's own contact and encounter (``keep_rendered``:
        nothing else changed since the last full rendering). Every pass renders each open item
        it keeps open, so an item that was open, with the same contact and an encounter stored
        unchanged, keeps its text; one coming back from withdrawn or closed is rendered anew.
        """
        original = self.original_items.get(item.id)
        if original is None or original.state not in OPEN_QUEUE_STATES:
            return False
        if original.contact_id != item.contact_id:
            return False
        return encounter is None or self.stored.get(encounter.id) == encounter

    def changed_items(self) -> tuple[QueueItem, ...]:
        """Return the items that differ from the ones loaded (new or changed), by id."""
        return tuple(
            sorted(
                (i for i in self.items.values() if self.original_items.get(i.id) != i),
                key=lambda i: i.id,
            )
        )


def repoint(work: PlanningWork, old_id: str, new_id: str) -> None:
    """Given a moved meeting's old and new encounter ids, let the old one's items follow the
    new one (they keep their ids and states)."""
    for item in list(work.items.values()):
        if item.encounter_id == old_id:
            work.put(replace(item, encounter_id=new_id))


def sync_items(
    work: PlanningWork,
    encounter: Encounter,
    grouped: Mapping[tuple[str, str], list[QueueItem]],
    *,
    create: bool,
) -> None:
    """Given an encounter (as stored, or as this pass writes it) and the items grouped by
    :meth:`PlanningWork.by_encounter`, bring its prep note and follow-up in step with it.

    An encounter that is withdrawn, or carries no notes, has its open items withdrawn. For an
    active one, each kind's open item takes the event's due time (or a later snooze) and is
    rendered anew; a withdrawn item is revived, and a missing one created, only if ``create``
    (the encounter is current this pass) and, for a prep note, the meeting has not started;
    an open prep note is withdrawn once the meeting has ended. Delivered, done and dismissed
    items are left as they are.
    """
    is_active = encounter.id not in work.out_encounters or (
        work.out_encounters[encounter.id].state == "active"
    )
    encounter = work.out_encounters.get(encounter.id, encounter)
    zone = work.renderer.zone
    for kind in ("prep", "followup"):
        existing = [work.items[i.id] for i in grouped.get((encounter.id, kind), [])]
        # A programme session's notes are its conference event's (or a heads-up's): none here.
        if not is_active or not encounter.carries_notes:
            for item in existing:
                if item.state in OPEN_QUEUE_STATES:
                    work.put(replace(item, state="withdrawn"))
            continue
        due = (
            prep_due(encounter, work.config, zone)
            if kind == "prep"
            else followup_due(encounter, work.config, zone)
        )
        if not existing:
            if not create or (kind == "prep" and work.now >= encounter.occurrence.start):
                continue
            item = QueueItem(
                id=_free_item_id(work, kind, encounter.id),
                kind=kind,
                contact_id=encounter.contact_id,
                due=due,
                encounter_id=encounter.id,
            )
            existing = [item]
        primary = _primary(existing)
        for extra in existing:
            if extra.id != primary.id and extra.state in OPEN_QUEUE_STATES:
                work.put(replace(extra, state="withdrawn"))  # a duplicate left by a move
        if primary.state in CLOSED_QUEUE_STATES:
            continue
        state = primary.state
        if state == "withdrawn":
            if not create or (kind == "prep" and work.now >= encounter.occurrence.start):
                continue
            state = "pending"
        if primary.snoozed_until is not None and primary.snoozed_until > due:
            due = primary.snoozed_until  # the user said "later": a re-plan keeps it
        if state == "due" and due > work.now:
            state = "pending"  # moved later: not due any more
        if kind == "prep" and work.now >= encounter.occurrence.end:
            state = "withdrawn"  # never delivered in time (daemon off): a late prep note is noise
        work.put(
            work.rendered(
                replace(primary, due=due, state=state, contact_id=encounter.contact_id),
                encounter,
            )
        )


def _free_item_id(work: PlanningWork, kind: str, encounter_id: str) -> str:
    """Return the id for a new note of ``kind`` for an encounter: ``queue_id(kind, encounter
    id)``, or a variant of it if a note of another encounter holds that id.

    A note that follows a moved meeting keeps its id (:func:`repoint`), and the encounter it
    left may come back while the one it moved to stays (a recurring meeting's instances leaving
    and entering the window as the clock goes back and forth, a meeting put back as well as
    moved). The new note must not overwrite the moved one: the two would share one record.
    """
    found, variant = queue_id(kind, encounter_id), 0
    while (holder := work.items.get(found)) is not None and holder.encounter_id != encounter_id:
        variant += 1
        found = queue_id(kind, encounter_id, str(variant))
    return found


def _primary(items: Sequence[QueueItem]) -> QueueItem:
    """Of several items for one (encounter, kind), return the one that speaks for it."""
    rank = {"delivered": 0, "done": 0, "dismissed": 0, "due": 1, "pending": 1, "withdrawn": 2}
    return min(items, key=lambda i: (rank.get(i.state, 3), i.id))


__all__ = ["PlanningWork", "repoint", "sync_items"]
