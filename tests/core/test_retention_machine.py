"""Random histories on two stores, one pruned and one that keeps everything: the user sees the same.

Both stores (:class:`tests.core.desk.Desk`) get the same calendar (events added, moved whole or
one instance, cancelled, put back at another time), the same passes, deliveries (the real
``markdown_notes`` plugin), outcomes logged, follow-ups dismissed and encounters dismissed (the
real commands), on the same frozen clock. After every step what the user sees must be equal:
``upcoming``, ``prep`` and ``followups`` (their JSON), each pass's detected / changed / withdrawn
encounters and due count (what ``mendcrm sync`` prints), each delivery's notes, and the logged
interactions. One store applies :mod:`mendcrm.retention`; the other never deletes anything
(:data:`mendcrm.retention.KEEP_EVERYTHING`, the behaviour before retention).

The clock moves at most 50 days in a run (25 steps of at most 48 hours), less than
``retention_days`` (90): what the machine compares is the pruning of what the user never saw,
the rule that runs at every pass. Expiry after ``retention_days`` changes what the user sees on
purpose (see :mod:`mendcrm.retention`) and is tested step by step in ``test_retention.py``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from mendcrm.cli.encounter_commands import encounter
from mendcrm.cli.queue_commands import followup, followups, prep, upcoming
from mendcrm.model import Occurrence, to_iso
from mendcrm.planning import HISTORY_WINDOW, Plan
from mendcrm.retention import KEEP_EVERYTHING
from tests.core.builders import CONFIG, attendee, contact, occurrence
from tests.core.desk import Desk

PEOPLE = (
    contact("c-rob", "Robert Hale", emails=("rob@acme.example",), stage="strained"),
    contact("c-ann", "Ann Ortega", emails=("ann@globex.example",), stage="cordial"),
    contact("c-kim", "Kim Lee", emails=("kim@initech.example",), stage="talking"),
)
"""Ann and Kim are in stages with a cadence: quiet for long enough, they get nudges."""


@dataclass
class Event:
    uid: str
    starts: list[datetime]
    rids: list[str | None]
    guests: set[int]
    cancelled: bool = False

    def occurrences(self) -> list[Occurrence]:
        if self.cancelled:
            return []
        guests = tuple(attendee(PEOPLE[g].emails[0], PEOPLE[g].name) for g in sorted(self.guests))
        return [
            occurrence(self.uid, start=start, recurrence_id=rid, summary="Review", attendees=guests)
            for start, rid in zip(self.starts, self.rids, strict=True)
        ]


def _plan_view(the_plan: Plan, due: int) -> tuple[Any, ...]:
    return (
        sorted(e.id for e in the_plan.detected),
        sorted((e.id, p.id) for e, p in the_plan.changed),
        sorted((e.id, e.withdrawn_reason) for e in the_plan.withdrawn),
        due,
    )


class PrunedMatchesUnpruned(RuleBasedStateMachine):
    events = Bundle("events")

    @initialize(target=events, hours_ahead=st.integers(2, 24 * 3))
    def start(self, hours_ahead: int) -> MultipleResults[str]:
        self.folder = tempfile.TemporaryDirectory(prefix="mendcrm-retention-")
        root = Path(self.folder.name)
        self.pruned = Desk(root / "pruned", PEOPLE)
        self.kept = Desk(root / "kept", PEOPLE, retention=KEEP_EVERYTHING)
        self.calendar: dict[str, Event] = {}
        self.counter = 0
        # A calendar that already holds a meeting and a weekly series, seen by a first pass, so
        # that every run has encounters to move, cancel and dismiss.
        return multiple(
            self.add_event({0}, hours_ahead, 1), self.add_event({1, 2}, hours_ahead + 5, 3)
        )

    def teardown(self) -> None:
        folder = getattr(self, "folder", None)
        if folder is not None:
            folder.cleanup()

    @property
    def desks(self) -> tuple[Desk, Desk]:
        return (self.pruned, self.kept)

    # --- the calendar ---------------------------------------------------------------------

    @rule(
        target=events,
        who=st.sets(st.integers(0, 2), min_size=1, max_size=2),
        hours_ahead=st.integers(-3, 24 * 5),
        instances=st.integers(1, 3),
    )
    def add_event(self, who: set[int], hours_ahead: int, instances: int) -> str:
        self.counter += 1
        uid = f"evt-{self.counter}"
        first = self.pruned.now + timedelta(hours=hours_ahead)
        starts = [first + timedelta(days=7 * k) for k in range(instances)]
        rids: list[str | None] = [to_iso(s) for s in starts] if instances > 1 else [None]
        self.calendar[uid] = Event(uid, starts, rids, set(who))
        self.sync()
        return uid

    @rule(uid=events, hours=st.integers(-30, 72).filter(bool))
    def move(self, uid: str, hours: int) -> None:
        event = self.calendar[uid]
        event.starts = [s + timedelta(hours=hours) for s in event.starts]
        if event.rids[0] is not None:  # a moved DTSTART moves every RECURRENCE-ID
            event.rids = [to_iso(s) for s in event.starts]
        self.sync()

    @rule(uid=events, hours=st.integers(-24, 48).filter(bool), which=st.integers(0, 2))
    def move_one_instance(self, uid: str, hours: int, which: int) -> None:
        event = self.calendar[uid]
        if event.rids[0] is not None and which < len(event.starts):
            event.starts[which] += timedelta(hours=hours)  # an override keeps its RECURRENCE-ID
        self.sync()

    @rule(uid=events)
    def cancel(self, uid: str) -> None:
        self.calendar[uid].cancelled = True
        self.sync()

    @rule(uid=events, hours_ahead=st.integers(1, 24 * 4))
    def put_back(self, uid: str, hours_ahead: int) -> None:
        """Un-cancel, at another time: a single event pairs with what it held before."""
        event = self.calendar[uid]
        first = self.pruned.now + timedelta(hours=hours_ahead)
        event.starts = [first + timedelta(days=7 * k) for k in range(len(event.starts))]
        if event.rids[0] is not None:
            event.rids = [to_iso(s) for s in event.starts]
        event.cancelled = False
        self.sync()

    # --- passes, time and the user ----------------------------------------------------------

    @rule()
    def sync(self) -> None:
        """A pass, as the daemon runs one after every change it notices."""
        now = self.pruned.now
        window = (now - HISTORY_WINDOW, now + timedelta(days=CONFIG.sync.lookahead_days))
        found = [
            o
            for e in self.calendar.values()
            for o in e.occurrences()
            if o.end > window[0] and o.start < window[1]
        ]
        seen = [_plan_view(*desk.sync_counted(found)) for desk in self.desks]
        assert seen[0] == seen[1], "a pass said something else on the pruned store"

    @rule(hours=st.integers(1, 48))
    def advance(self, hours: int) -> None:
        for desk in self.desks:
            desk.advance(timedelta(hours=hours))
        self.sync()

    @rule()
    def deliver(self) -> None:
        reports = [desk.deliver() for desk in self.desks]
        assert reports[0].delivered == reports[1].delivered
        assert self.pruned.notes() == self.kept.notes()

    @rule(which=st.integers(0, 9), how=st.sampled_from(["positive", "negative", "refused", ""]))
    def close_followup(self, which: int, how: str) -> None:
        """``followup done ID [--outcome X | --refused]`` on one of the open follow-ups."""
        listed = self.pruned.json(followups)
        if not listed:
            return
        item = listed[which % len(listed)]
        args = ["done", item["id"]]
        if how == "refused":
            args.append("--refused")
        elif how and item["state"] != "pending":  # an outcome only once the meeting happened
            args += ["--outcome", how]
        outputs = [desk.run(followup, *args, ok=False) for desk in self.desks]
        assert outputs[0] == outputs[1]

    @rule(which=st.integers(0, 9))
    def dismiss_followup(self, which: int) -> None:
        listed = self.pruned.json(followups)
        if listed:
            item_id = listed[which % len(listed)]["id"]
            outputs = [desk.run(followup, "dismiss", item_id) for desk in self.desks]
            assert outputs[0] == outputs[1]

    @rule(which=st.integers(0, 9), series=st.booleans())
    def dismiss_encounter(self, which: int, series: bool) -> None:
        listed = self.pruned.json(upcoming)
        if listed:
            args = ["dismiss", listed[which % len(listed)]["id"], *(["--series"] if series else [])]
            outputs = [desk.run(encounter, *args) for desk in self.desks]
            assert outputs[0] == outputs[1]

    # --- what the user sees -------------------------------------------------------------------

    @invariant()
    def the_user_sees_the_same(self) -> None:
        if not hasattr(self, "pruned"):
            return
        for command in (upcoming, prep, followups):
            pruned, kept = (desk.json(command) for desk in self.desks)
            assert pruned == kept, f"{command.name} differs on the pruned store"
        # Interaction ids are random (each log makes a new one); the rest must match.
        logged = [
            sorted(
                (sorted((k, str(v)) for k, v in r.items() if k != "id"))
                for r in d.table("interactions")
            )
            for d in self.desks
        ]
        assert logged[0] == logged[1]
        assert self.pruned.table("dismissals") == self.kept.table("dismissals")

    @invariant()
    def the_pruned_store_holds_no_more_than_the_other(self) -> None:
        if hasattr(self, "pruned"):
            pruned, kept = self.pruned.records(), self.kept.records()
            assert pruned <= kept
            # --hypothesis-show-statistics tells how often the two stores differed in size.
            event("the pruned store is smaller" if pruned < kept else "the stores are as big")


EXAMPLES = int(os.environ.get("RETENTION_EXAMPLES", "15"))
"""RETENTION_EXAMPLES=200 for a deeper local run; the default keeps the suite quick."""

PrunedMatchesUnpruned.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
# Two to six seconds an example on a busy machine: a deeper run gets the time it needs.
TestPrunedMatchesUnpruned = pytest.mark.timeout(max(120, 12 * EXAMPLES))(
    PrunedMatchesUnpruned.TestCase
)
