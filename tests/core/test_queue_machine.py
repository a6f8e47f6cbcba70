"""Random calendar histories driven through detection and planning; the queue's invariants hold.

The event layer is modelled directly (occurrences as the events stage would produce them):
events are added, moved (whole series or one instance), cancelled, declined, deleted and given
new attendees, time moves on, due items are delivered and closed, and after every sync:
no duplicates, no open item without a current encounter, closed items survive, due times follow
the event, and planning again changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from mendcrm.clock import FrozenClock
from mendcrm.model import OPEN_QUEUE_STATES, Occurrence, QueueItem, to_iso
from mendcrm.planning import CLOSED_STATES, HISTORY_WINDOW, mark_due
from mendcrm.render import user_zone
from tests.core.builders import CONFIG, T0, Memory, attendee, contact, find, run_plan

PEOPLE = (
    contact("c-rob", "Robert Hale", emails=("rob@acme.example",), stage="strained"),
    contact("c-ann", "Ann Ortega", emails=("ann@globex.example",), stage="cordial"),
    contact("c-kim", "Kim Lee", emails=("kim@initech.example",), stage="talking"),
)
ZONE = user_zone(CONFIG.me)


def _wall(on: date, hour: int) -> datetime:
    # 08:00, 19:00 and 21:00 exist exactly once every day in Europe/Berlin (its clocks change
    # at 02:00 and 03:00), so plain zoneinfo arithmetic is exact here.
    return datetime.combine(on, time(hour), tzinfo=ZONE).astimezone(UTC)


def expected_due(encounter_kind: str, item_kind: str, occurrence: Occurrence) -> datetime:
    """The due time the defaults give, worked out from the rules as the README states them and
    not with the functions under test: a prep note 24 h before the start (a conference's at
    19:00 the evening before, at least a minute before it starts), a follow-up 2 h after the
    end; a time outside the user's day (08:00-21:00 Europe/Berlin, both ends inside) moves to
    the previous 21:00 for a prep note, never past the start, and to the next 08:00 for a
    follow-up."""
    assert CONFIG.prep.lead == timedelta(hours=24) and CONFIG.followup.delay == timedelta(hours=2)
    if item_kind != "prep":
        raw = occurrence.end + timedelta(hours=2)
        local = raw.astimezone(ZONE)
        if time(8) <= local.time() <= time(21):
            return raw
        on = local.date() if local.time() < time(8) else local.date() + timedelta(days=1)
        return _wall(on, 8)
    start = occurrence.start
    if encounter_kind == "conference":
        eve = start.astimezone(ZONE).date() - timedelta(days=1)
        raw = min(_wall(eve, 19), start - timedelta(minutes=1))
    else:
        raw = start - timedelta(hours=24)
    local = raw.astimezone(ZONE)
    if time(8) <= local.time() <= time(21):
        due = raw
    else:
        on = local.date() if local.time() > time(21) else local.date() - timedelta(days=1)
        due = _wall(on, 21)
    return min(due, start)


@dataclass
class Event:
    uid: str
    starts: list[datetime]
    rids: list[str | None]
    hours: int
    guests: set[int] = field(default_factory=set)
    named: int | None = None
    status: str = "CONFIRMED"
    declined: bool = False

    def occurrences(self) -> list[Occurrence]:
        guests = tuple(attendee(PEOPLE[g].emails[0]) for g in sorted(self.guests))
        summary = f"Review with {PEOPLE[self.named].name}" if self.named is not None else "Review"
        return [
            Occurrence(
                source="account:work",
                calendar="https://dav.example/c/",
                href=f"/c/{self.uid}.ics",
                uid=self.uid,
                start=start,
                end=start + timedelta(hours=self.hours),
                recurrence_id=rid,
                summary=summary,
                attendees=guests,
                status=self.status,
                my_partstat="DECLINED" if self.declined else "ACCEPTED",
            )
            for start, rid in zip(self.starts, self.rids, strict=True)
        ]


class QueueMachine(RuleBasedStateMachine):
    events = Bundle("events")

    @initialize()
    def start(self) -> None:
        self.clock = FrozenClock(T0)
        self.memory = Memory()
        self.calendar: dict[str, Event] = {}
        self.closed: dict[str, QueueItem] = {}
        self.current_ids: set[str] = set()
        self.counter = 0

    # --- calendar changes ---------------------------------------------------------------

    @rule(
        target=events,
        who=st.integers(0, 2),
        by_name=st.booleans(),
        hours_ahead=st.integers(-6, 24 * 4),
        length=st.integers(1, 30),
        instances=st.integers(1, 3),
    )
    def add_event(
        self, who: int, by_name: bool, hours_ahead: int, length: int, instances: int
    ) -> str:
        self.counter += 1
        uid = f"evt-{self.counter}"
        first = self.clock.now() + timedelta(hours=hours_ahead)
        starts = [first + timedelta(days=7 * k) for k in range(instances)]
        rids = [to_iso(s) for s in starts] if instances > 1 else [None]
        event = Event(uid, starts, rids, length)
        if by_name:
            event.named = who
        else:
            event.guests.add(who)
        self.calendar[uid] = event
        return uid

    @rule(uid=events, hours=st.integers(-48, 96).filter(bool))
    def move_series(self, uid: str, hours: int) -> None:
        event = self.calendar.get(uid)
        if event:
            event.starts = [s + timedelta(hours=hours) for s in event.starts]
            if event.rids[0] is not None:  # a moved DTSTART moves every RECURRENCE-ID
                event.rids = [to_iso(s) for s in event.starts]

    @rule(uid=events, hours=st.integers(-24, 48).filter(bool), which=st.integers(0, 2))
    def move_one_instance(self, uid: str, hours: int, which: int) -> None:
        event = self.calendar.get(uid)
        if event and event.rids[0] is not None and which < len(event.starts):
            event.starts[which] += timedelta(hours=hours)  # an override keeps its RECURRENCE-ID

    @rule(uid=events)
    def cancel(self, uid: str) -> None:
        if uid in self.calendar:
            self.calendar[uid].status = "CANCELLED"

    @rule(uid=events, declined=st.booleans())
    def set_my_reply(self, uid: str, declined: bool) -> None:
        if uid in self.calendar:
            self.calendar[uid].declined = declined

    @rule(uid=consumes(events))
    def delete(self, uid: str) -> None:
        self.calendar.pop(uid, None)

    @rule(uid=events, who=st.integers(0, 2))
    def add_attendee(self, uid: str, who: int) -> None:
        if uid in self.calendar:
            self.calendar[uid].guests.add(who)

    # --- time and delivery --------------------------------------------------------------

    @rule(hours=st.integers(1, 36))
    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule(close=st.booleans())
    def deliver_due(self, close: bool) -> None:
        now = self.clock.now()
        updates = []
        for item in self.memory.items():
            if item.state == "due":
                updates.append(replace(item, state="delivered", delivered_at=now))
            elif item.state == "delivered" and close:
                updates.append(replace(item, state="done", closed_at=now))
        self.memory.put_items(updates)
        for item in updates:
            self.closed[item.id] = item

    def open_notes_of_single_meetings(self) -> dict[tuple[str, str, str], str]:
        """(UID, contact, kind) → id of the open note, for events with one occurrence."""
        singles = {e.uid for e in self.calendar.values() if len(e.starts) == 1}
        encounters = {e.id: e for e in self.memory.stored()}
        found = {}
        for item in self.memory.items():
            encounter = encounters.get(item.encounter_id or "")
            if (
                encounter is not None
                and item.state in OPEN_QUEUE_STATES
                and encounter.occurrence.uid in singles
            ):
                found[(encounter.occurrence.uid, encounter.contact_id, item.kind)] = item.id
        return found

    @precondition(lambda self: hasattr(self, "memory"))
    @rule()
    def sync(self) -> None:
        before = self.open_notes_of_single_meetings()
        now = self.clock.now()
        # the events stage's window: from a day ago to the look-ahead
        window = (now - HISTORY_WINDOW, now + timedelta(days=CONFIG.sync.lookahead_days))
        occurrences = [
            o
            for e in self.calendar.values()
            for o in e.occurrences()
            if o.end > window[0] and o.start < window[1]
        ]
        detected = find(occurrences, PEOPLE)
        self.current_ids = {e.id for e in detected}
        result = run_plan(
            detected,
            stored=self.memory.stored(),
            queue=self.memory.items(),
            contacts=PEOPLE,
            now=now,
        )
        self.memory.apply(result)
        self.memory.put_items(mark_due(self.memory.items(), now))
        again = run_plan(
            detected,
            stored=self.memory.stored(),
            queue=self.memory.items(),
            contacts=PEOPLE,
            now=now,
        )
        assert again.empty, f"planning is not idempotent: {again}"
        for closed in self.memory.items():
            if closed.state == "done" and closed.kind == "nudge":
                self.closed.setdefault(closed.id, closed)
        self.check_after_sync()
        # a moved meeting moves its notes: an open note stays the same item
        for key, item_id in self.open_notes_of_single_meetings().items():
            assert before.get(key, item_id) == item_id, f"{key} got a new note, not a moved one"

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def closed_items_survive(self) -> None:
        if not hasattr(self, "memory"):
            return
        items = {q.id: q for q in self.memory.items()}
        for item_id, closed in self.closed.items():
            now = items.get(item_id)
            assert now is not None, f"closed item {item_id} vanished"
            assert now.state in CLOSED_STATES
            if closed.state in ("done", "dismissed"):
                assert now.state == closed.state
            assert (now.due, now.body, now.kind) == (closed.due, closed.body, closed.kind)

    def check_after_sync(self) -> None:
        now = self.clock.now()
        encounters = {e.id: e for e in self.memory.stored()}
        items = self.memory.items()
        open_by_key: dict[tuple[Any, ...], int] = {}
        for item in items:
            if item.state not in OPEN_QUEUE_STATES:
                continue
            key = (
                (item.encounter_id, item.kind) if item.encounter_id else ("nudge", item.contact_id)
            )
            open_by_key[key] = open_by_key.get(key, 0) + 1
            assert open_by_key[key] == 1, f"two open items for {key}"
            if item.encounter_id is None:
                continue
            encounter = encounters.get(item.encounter_id)
            assert encounter is not None and encounter.state == "active", item
            assert encounter.contact_id == item.contact_id
            if encounter.occurrence.end > now:
                assert encounter.id in self.current_ids, "open item of a vanished encounter"
            expected = expected_due(encounter.kind, item.kind, encounter.occurrence)
            assert item.due == expected, "due time does not follow the event"
            assert item.state == ("due" if item.due <= now else "pending")
        # a single meeting never gets a second note of a kind (none re-created after delivery)
        singles = {e.uid for e in self.calendar.values() if len(e.starts) == 1}
        seen: set[tuple[str, str, str]] = set()
        for item in items:
            encounter = encounters.get(item.encounter_id or "")
            if (
                encounter is None
                or item.state == "withdrawn"
                or encounter.occurrence.end <= now - HISTORY_WINDOW
            ):
                continue
            if encounter.occurrence.uid in singles:
                key = (encounter.occurrence.uid, encounter.contact_id, item.kind)
                assert key not in seen, f"a second {item.kind} for one meeting"
                seen.add(key)
        for enc_id in self.current_ids:
            assert encounters[enc_id].state == "active"
            kinds = {q.kind for q in items if q.encounter_id == enc_id}
            assert "followup" in kinds, "a current encounter lacks its follow-up"


QueueMachine.TestCase.settings = settings(
    # MACHINE_EXAMPLES=1000 for a deeper local run; the default keeps the suite quick
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "100")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
TestQueueMachine = QueueMachine.TestCase
