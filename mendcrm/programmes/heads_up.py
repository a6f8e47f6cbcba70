"""The ``heads-up`` queue item: a flagged contact speaks at a conference you do not attend.

One per contact per programme (id from the programme's source and the contact), due as soon as
it is found, so the user can decide whether to go. It lists the sessions (time in the user's
zone, room, title) and the evidence. It is withdrawn while still open when the contact no
longer speaks there or the user attends (then the conference event carries a prep note and a
follow-up instead), but not while the programme's source failed or is held; delivered, done and
dismissed heads-ups are history and never touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo

from mendcrm.model import OPEN_QUEUE_STATES, Contact, Encounter, QueueItem, replace
from mendcrm.planning import CLOSED_STATES, Plan, queue_id
from mendcrm.programmes.encounters import HeadsUp, ProgrammeResult

KIND = "heads-up"


def heads_up_id(source: str, contact_id: str) -> str:
    """Given a programme's source name and a contact id, return the heads-up's stable id."""
    return queue_id(KIND, source, contact_id)


def _day(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%B}"


def heads_up_title(head: HeadsUp, contact: Contact, zone: tzinfo) -> str:
    """Return the one line: "Robert Hale speaks at FinOps Summit 2027 on 12 March"."""
    first = min(m.session.start for m in head.matches)
    return f"{contact.name} speaks at {head.title} on {_day(first, zone)}"


def heads_up_body(head: HeadsUp, contact: Contact, zone: tzinfo) -> str:
    """Return the Markdown body: the sessions, and that nothing more is planned until the
    user attends."""
    lines = [f"# {heads_up_title(head, contact, zone)}", ""]
    for m in sorted(head.matches, key=lambda m: (m.session.start, m.session.id)):
        s = m.session
        start = s.start.astimezone(zone)
        room = f", {s.room}" if s.room else ""
        lines.append(f"- {_day(s.start, zone)} {start:%H:%M}{room}: {s.title} ({m.evidence})")
    lines += [
        "",
        "You are not attending, as far as MendCRM can tell: no prep note or follow-up is "
        "planned. If you go, add the conference to your calendar or run "
        f"`mendcrm programme attend {head.source.removeprefix('programme:')}`.",
    ]
    return "\n".join(lines) + "\n"


def plan_heads_ups(
    heads: Iterable[HeadsUp],
    queue: Iterable[QueueItem],
    encounters: Mapping[str, Encounter],
    contacts: Mapping[str, Contact],
    *,
    held: Collection[str],
    now: datetime,
    zone: tzinfo,
) -> list[QueueItem]:
    """Given this pass's heads-ups, the queue after planning, the encounters by id, the
    contacts, the sources held back (failed or departed) and the time, return the heads-up
    items to write (new, updated, revived or withdrawn)."""
    items = {i.id: i for i in queue if i.kind == KIND}
    out: list[QueueItem] = []
    current: set[str] = set()
    for head in heads:
        contact = contacts.get(head.contact_id)
        if contact is None or not head.encounter_ids:
            continue
        item_id = heads_up_id(head.source, head.contact_id)
        current.add(item_id)
        title, body = heads_up_title(head, contact, zone), heads_up_body(head, contact, zone)
        previous = items.get(item_id)
        if previous is None:
            out.append(
                QueueItem(
                    id=item_id,
                    kind=KIND,
                    contact_id=contact.id,
                    due=now,
                    encounter_id=head.encounter_ids[0],
                    title=title,
                    body=body,
                )
            )
            continue
        if previous.state in CLOSED_STATES:
            continue
        state = "pending" if previous.state == "withdrawn" else previous.state
        due = now if previous.state == "withdrawn" else previous.due
        updated = replace(
            previous,
            state=state,
            due=due,
            title=title,
            body=body,
            encounter_id=head.encounter_ids[0],
        )
        if updated != previous:
            out.append(updated)
    for item_id, item in items.items():
        if item_id in current or item.state not in OPEN_QUEUE_STATES:
            continue
        encounter = encounters.get(item.encounter_id or "")
        if encounter is not None and encounter.occurrence.source in held:
            continue
        out.append(replace(item, state="withdrawn"))
    return out


def with_heads_ups(
    the_plan: Plan,
    programmes: ProgrammeResult | None,
    stored: Sequence[Encounter],
    detected: Sequence[Encounter],
    stored_queue: Sequence[QueueItem],
    contacts: Sequence[Contact],
    *,
    held: Collection[str],
    now: datetime,
    zone: tzinfo,
) -> Plan:
    """Given the applied plan, this pass's programme results (None without programmes), the
    stored and detected encounters, the stored queue, the contacts, the held sources, the time
    and the user's zone, return the plan with the heads-up items added."""
    queue = {i.id: i for i in stored_queue}
    queue.update({i.id: i for i in the_plan.queue})
    encounters = {e.id: e for e in stored}
    encounters.update({e.id: e for e in detected})
    extra = plan_heads_ups(
        programmes.heads_ups if programmes is not None else (),
        queue.values(),
        encounters,
        {c.id: c for c in contacts},
        held=held,
        now=now,
        zone=zone,
    )
    if not extra:
        return the_plan
    merged = {i.id: i for i in the_plan.queue}
    merged.update({i.id: i for i in extra})
    return dataclasses.replace(the_plan, queue=tuple(sorted(merged.values(), key=lambda i: i.id)))


__all__ = [
    "KIND",
    "heads_up_body",
    "heads_up_id",
    "heads_up_title",
    "plan_heads_ups",
    "with_heads_ups",
]
