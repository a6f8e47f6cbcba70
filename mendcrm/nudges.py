"""Nudges: one prompt per quiet contact, once per quiet period of their stage's cadence.

A contact whose stage has a cadence, and who has had no logged interaction (or stage change) for
that long, gets one nudge; logging anything starts a new quiet period. A meeting coming within
one cadence holds the nudge back: its prep note is the better prompt. Planning
(:mod:`mendcrm.planning`) calls :func:`plan_nudges` at the end of each pass;
:func:`next_nudge_change` says when the time alone would change what it decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from mendcrm.due_times import UserDay, due_time
from mendcrm.model import (
    CLOSED_QUEUE_STATES,
    OPEN_QUEUE_STATES,
    Contact,
    Encounter,
    Interaction,
    QueueItem,
    queue_id,
    replace,
    to_iso,
)
from mendcrm.playbook import Playbook

MAX_PERIODS = 1000
"""Bounds the period count for contacts left alone for decades."""


class NudgeWork(Protocol):
    """What :func:`plan_nudges` needs of a planning pass (a
    :class:`~mendcrm.encounter_items.PlanningWork`)."""

    now: datetime
    playbook: Playbook
    contacts: Mapping[str, Contact]
    interactions: Mapping[str, list[Interaction]]
    items: dict[str, QueueItem]
    nudges_in_use: set[str]

    @property
    def day(self) -> UserDay: ...

    def put(self, item: QueueItem) -> None: ...

    def rendered(self, item: QueueItem, encounter: Encounter | None) -> QueueItem: ...


def quiet_since(contact: Contact, interactions: Iterable[Interaction]) -> datetime | None:
    """Given a contact and their interactions, return when the current quiet period began.

    That is the latest of the last logged interaction and the last stage change; None if
    neither is known.
    """
    moments = [i.when for i in interactions if i.contact_id == contact.id]
    if contact.stage_since is not None:
        moments.append(contact.stage_since)
    return max(moments, default=None)


def nudge_id(contact: Contact, anchor: datetime, period: int) -> str:
    """Return the stable id of a contact's nudge for one stage, quiet period and repeat."""
    return queue_id("nudge", contact.id, contact.stage, to_iso(anchor), str(period))


def periods(now: datetime, anchor: datetime, cadence: timedelta) -> int:
    """Given the time, the start of a quiet period and the cadence, return how many whole
    cadences have passed (at least 1, at most :data:`MAX_PERIODS`)."""
    return max(1, min(MAX_PERIODS, (now - anchor) // cadence))


def plan_nudges(work: NudgeWork, meeting_soon: Mapping[str, datetime]) -> None:
    """Queue one nudge per quiet contact; ``meeting_soon`` maps contacts to their next encounter."""
    nudges: dict[str, list[QueueItem]] = defaultdict(list)
    for item in work.items.values():
        if item.kind == "nudge":
            nudges[item.contact_id].append(item)
    for contact in sorted(work.contacts.values(), key=lambda c: c.id):
        existing = nudges.get(contact.id, [])
        cadence = work.playbook.stage(contact.stage).cadence
        anchor = quiet_since(contact, work.interactions.get(contact.id, ()))
        if cadence is None or anchor is None:
            _retire(work, existing, set())
            continue
        elapsed = periods(work.now, anchor, cadence)
        period_ids = {nudge_id(contact, anchor, k) for k in range(1, elapsed + 1)}
        _retire(work, existing, period_ids)
        current = nudge_id(contact, anchor, elapsed)
        work.nudges_in_use.add(current)
        outstanding = [
            work.items[i.id]
            for i in existing
            if i.id in period_ids and work.items[i.id].state in (*OPEN_QUEUE_STATES, "delivered")
        ]
        upcoming = meeting_soon.get(contact.id)
        if upcoming is not None and upcoming <= work.now + cadence:
            # A meeting is coming anyway; its prep note is the better prompt.
            for item in outstanding:
                if item.state in OPEN_QUEUE_STATES:
                    work.put(replace(item, state="withdrawn"))
            continue
        if outstanding:
            item = outstanding[0]
        elif current in work.items:
            item = work.items[current]
            if item.state in CLOSED_QUEUE_STATES:
                continue  # this period's nudge was seen to: wait for the next period
            item = replace(item, state="pending")
        else:
            # A nudge waits for the morning if its period ends at night (mendcrm.due_times).
            due = due_time(anchor + elapsed * cadence, "nudge", work.day)
            item = QueueItem(id=current, kind="nudge", contact_id=contact.id, due=due)
        if item.state in OPEN_QUEUE_STATES:
            work.put(work.rendered(item, None))


def next_nudge_change(
    now: datetime,
    contacts: Iterable[Contact],
    interactions: Mapping[str, list[Interaction]],
    playbook: Playbook,
    encounter_starts: Mapping[str, Iterable[datetime]],
) -> datetime | None:
    """Given the time, the contacts with their interactions, the playbook and each contact's
    encounter starts, return the earliest moment after ``now`` at which :func:`plan_nudges`,
    given the same records, could decide otherwise; None if time alone changes nothing.

    Time enters :func:`plan_nudges` twice: the period count (a new period starts every
    cadence after the quiet period began) and "a meeting within one cadence" (true from one
    cadence before that meeting's start).
    """
    found: datetime | None = None

    def consider(moment: datetime) -> None:
        nonlocal found
        if moment > now and (found is None or moment < found):
            found = moment

    for contact in contacts:
        cadence = playbook.stage(contact.stage).cadence
        anchor = quiet_since(contact, interactions.get(contact.id, ()))
        if cadence is None or anchor is None:
            continue
        if (now - anchor) // cadence < MAX_PERIODS:
            consider(anchor + max(2, (now - anchor) // cadence + 1) * cadence)
        for start in encounter_starts.get(contact.id, ()):
            consider(start - cadence)
    return found


def _retire(work: NudgeWork, nudges: Iterable[QueueItem], current: set[str]) -> None:
    """Close nudges of an earlier quiet period or stage: contact was logged or stage moved."""
    for item in nudges:
        if item.id in current:
            continue
        if item.state in OPEN_QUEUE_STATES:
            work.put(replace(item, state="withdrawn"))
        elif item.state == "delivered":
            work.put(replace(item, state="done", closed_at=work.now))


__all__ = ["MAX_PERIODS", "next_nudge_change", "nudge_id", "periods", "plan_nudges", "quiet_since"]
