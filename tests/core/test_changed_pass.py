"""The pass over what changed (:mod:`mendcrm.changed_pass`), case by case.

Each case runs on :class:`IncrementalEqualsFull` from the state-machine test, whose ``check``
also asserts that the incremental pass left exactly what a full recomputation leaves. Here the
cases say which path a pass took (only the changed meetings planned) and the values the rules
give: a prep note is due 24 hours before its meeting, a follow-up 2 hours after it ends (the
defaults, both inside the user's day here: README, "Due times"); a contact in a stage with a
cadence gets a nudge after that long without contact, held back while a meeting comes within
one cadence (:mod:`mendcrm.nudges`).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mendcrm import changed_pass
from mendcrm.model import from_iso
from tests.core import test_incremental_machine as machine
from tests.core.test_pass_memo import planned


def changed_only(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """Record, from now on, the UIDs each pass over changed objects planned."""
    calls: list[set[str]] = []
    real = changed_pass.plan_changed

    def recording(tx: Any, **kwargs: Any) -> Any:
        calls.append(set(kwargs["uids"]))
        return real(tx, **kwargs)

    monkeypatch.setattr(changed_pass, "plan_changed", recording)
    return calls


def items(world: machine.IncrementalEqualsFull) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the queue by (kind, contact name), the last one of each."""
    data = json.loads(world.store_path.read_bytes())
    names = {c["id"]: c["name"] for c in data["contacts"].values()}
    return {(i["kind"], names[i["contact_id"]]): i for i in data["queue"].values()}


def nudge_open(world: machine.IncrementalEqualsFull, name: str) -> bool:
    """Return True if the contact has a pending or due nudge (one held back before the user saw
    it is withdrawn, and so leaves the store: mendcrm.retention)."""
    nudge = items(world).get(("nudge", name))
    return nudge is not None and nudge["state"] in ("pending", "due")


def encounters(world: machine.IncrementalEqualsFull) -> list[dict[str, Any]]:
    return list(json.loads(world.store_path.read_bytes())["encounters"].values())


def move(world: machine.IncrementalEqualsFull, uid: str, to: datetime) -> None:
    ev = world.events[uid]
    world.events[uid] = dataclasses.replace(ev, start=to, sequence=ev.sequence + 1)
    world._write()


def test_a_moved_meeting_is_planned_alone_and_its_notes_follow_it(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_event(hours=50, minutes=30, people={2}, in_summary=False, weekly=0)  # e1: Kim
    world.add_event(hours=75, minutes=60, people={0}, in_summary=False, weekly=0)  # e2: Rob
    rob_before = items(world)[("prep", "Robert Hale")]
    calls = changed_only(monkeypatch)
    start = world.events["e1@test"].start + timedelta(hours=24)
    move(world, "e1@test", start)
    assert calls == [{"e1@test"}]  # only the moved meeting's UID was detected and planned
    kim = items(world)
    # 24 hours before the new start (10:00 in Berlin); the follow-up 2 hours after the
    # 30-minute meeting ends (12:30 in Berlin).
    assert from_iso(kim[("prep", "Kim Lee")]["due"]) == start - timedelta(hours=24)
    assert from_iso(kim[("followup", "Kim Lee")]["due"]) == start + timedelta(hours=2, minutes=30)
    assert kim[("prep", "Robert Hale")] == rob_before


def test_a_new_meeting_far_out_does_not_bring_back_a_nudge_held_for_a_near_one(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kim is "talking" (a 14-day cadence) and has been quiet for 20 days: a nudge is due.
    # A meeting in 3 days is within one cadence: the nudge is held back.
    assert nudge_open(world, "Kim Lee")
    world.add_event(hours=72, minutes=30, people={2}, in_summary=False, weekly=0)
    assert not nudge_open(world, "Kim Lee")
    calls = changed_only(monkeypatch)
    # A second meeting with Kim in 25 days: the pass plans only it, but Kim's nudge must still
    # weigh the meeting in 3 days that it did not plan.
    world.add_event(hours=24 * 25, minutes=30, people={2}, in_summary=False, weekly=0)
    assert calls == [{"e2@test"}]
    assert not nudge_open(world, "Kim Lee")


def test_a_meeting_moved_within_one_cadence_holds_the_nudge_back(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ann is "cordial" (a 21-day cadence), quiet for 20 days: no nudge yet, and a meeting in
    # 25 days is beyond one cadence. Moved to 10 days ahead, it is within it.
    world.add_event(hours=24 * 25, minutes=30, people={1}, in_summary=False, weekly=0)
    world.time_passes(timedelta(days=1, hours=2))  # quiet for 21 days: the nudge is due
    assert nudge_open(world, "Ann Ortega")
    calls = changed_only(monkeypatch)
    move(world, "e1@test", world.now + timedelta(days=10))
    assert calls == [{"e1@test"}]
    assert not nudge_open(world, "Ann Ortega")


def test_a_copy_in_another_calendar_stays_one_encounter_when_the_original_moves(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_event(hours=50, minutes=30, people={0}, in_summary=False, weekly=0)
    world.copies["e1@test"] = world.events["e1@test"]  # the shared calendar holds a copy
    world._write()
    first = [e["id"] for e in encounters(world) if e["state"] == "active"]
    assert len(first) == 1
    calls = changed_only(monkeypatch)
    start = world.events["e1@test"].start + timedelta(hours=3)
    move(world, "e1@test", start)  # the copy stays at the old time, with a lower SEQUENCE
    assert calls == [{"e1@test"}]
    # The newer copy (RFC 5546 §2.1.5: the higher SEQUENCE) says when: one active encounter,
    # at the new time.
    active = [e for e in encounters(world) if e["state"] == "active"]
    assert [from_iso(e["occurrence"]["start"]) for e in active] == [start]


def test_a_changed_object_beyond_the_limit_recomputes_everything(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_event(hours=50, minutes=30, people={0}, in_summary=False, weekly=0)
    world.add_event(hours=60, minutes=30, people={2}, in_summary=False, weekly=0)
    monkeypatch.setattr(changed_pass, "MAX_CHANGED_OBJECTS", 1)
    calls = changed_only(monkeypatch)
    for uid in ("e1@test", "e2@test"):
        ev = world.events[uid]
        world.events[uid] = dataclasses.replace(
            ev, start=ev.start + timedelta(hours=1), sequence=ev.sequence + 1
        )
    world._write()
    assert calls == []
    move(world, "e1@test", world.events["e1@test"].start + timedelta(hours=1))
    assert calls == [{"e1@test"}]


def test_a_calendar_rewritten_unchanged_plans_nothing(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A feed saved again with the same events (a new modification time, so the sources stage
    # reads it and stores a new validator; a server's new sync-token is the same case): no
    # object changed, so no meeting is detected or planned again — yet notes still fall due.
    world.add_event(hours=26, minutes=30, people={2}, in_summary=False, weekly=0)
    assert items(world)[("prep", "Kim Lee")]["state"] == "pending"
    calls = planned(monkeypatch)
    world.now += timedelta(hours=2, minutes=30)  # past the prep note's due time (24 h before)
    world.feed.write_bytes(machine._ics(world.events))
    world.check()
    assert calls == [world.now]  # the full recomputation on the copy alone planned
    assert items(world)[("prep", "Kim Lee")]["state"] == "due"


# -- contacts edited: the pass scoped to them (mendcrm.contact_changes) ----------------------


def scoped(monkeypatch: pytest.MonkeyPatch) -> list[tuple[set[str], set[str]]]:
    """Record, from now on, the UIDs and the edited contacts' names of each pass over what
    changed."""
    calls: list[tuple[set[str], set[str]]] = []
    real = changed_pass.plan_changed

    def recording(tx: Any, **kwargs: Any) -> Any:
        names = {c["id"]: c["name"] for c in tx.all("contacts")}
        calls.append((set(kwargs["uids"]), {names[c] for c in kwargs.get("edited", ())}))
        return real(tx, **kwargs)

    monkeypatch.setattr(changed_pass, "plan_changed", recording)
    return calls


def nudges(world: machine.IncrementalEqualsFull, name: str) -> list[dict[str, Any]]:
    """Return the contact's nudges, by due time."""
    data = json.loads(world.store_path.read_bytes())
    (cid,) = (c["id"] for c in data["contacts"].values() if c["name"] == name)
    found = [i for i in data["queue"].values() if i["kind"] == "nudge" and i["contact_id"] == cid]
    return sorted(found, key=lambda i: i["due"])


def test_a_restaged_contact_gets_its_prep_note_rewritten_and_no_one_else(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_event(hours=50, minutes=30, people={2}, in_summary=False, weekly=0)  # e1: Kim
    world.add_event(hours=75, minutes=60, people={0}, in_summary=False, weekly=0)  # e2: Rob
    before = items(world)
    # The prep note shows the playbook stage the contact is in (templates/prep.md.j2).
    assert "Where things stand: talking" in before[("prep", "Kim Lee")]["body"]
    calls = scoped(monkeypatch)
    world.set_stage(person=2, stage="rebuilding")  # Kim: talking -> rebuilding, both flagged
    # Only Kim's meeting and Kim were planned again: no object changed, detection reads
    # nothing of a stage but whether it is a flagged one.
    assert calls == [({"e1@test"}, {"Kim Lee"})]
    after = items(world)
    kim = after[("prep", "Kim Lee")]
    assert "Where things stand: rebuilding" in kim["body"]
    assert "Where things stand: talking" not in kim["body"]
    assert (kim["id"], kim["due"]) == (before[("prep", "Kim Lee")]["id"], kim["due"])
    assert after[("prep", "Robert Hale")] == before[("prep", "Robert Hale")]
    assert after[("followup", "Robert Hale")] == before[("followup", "Robert Hale")]


def test_an_interaction_logged_holds_back_the_contacts_nudge(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kim is "talking" (a 14-day cadence), her stage set 20 days ago and nothing logged: the
    # first period's nudge is open. Ann ("cordial", 21 days) is not due for one yet.
    (open_nudge,) = nudges(world, "Kim Lee")
    assert open_nudge["state"] in ("pending", "due")
    ann = nudges(world, "Ann Ortega")
    calls = scoped(monkeypatch)
    world.log_interaction(person=2, outcome="neutral")
    # Kim has no meeting: only Kim is planned, with no UID at all.
    assert calls == [(set(), {"Kim Lee"})]
    # The quiet period now starts at the interaction: the old period's nudge is withdrawn
    # (unseen, so it leaves the store: mendcrm.retention) and the next one waits a whole
    # cadence, 14 days from now (09:30 in Berlin once the clocks have gone forward: in the day).
    (new,) = nudges(world, "Kim Lee")
    assert new["id"] != open_nudge["id"]
    assert (new["state"], from_iso(new["due"])) == ("pending", world.now + timedelta(days=14))
    assert nudges(world, "Ann Ortega") == ann


def test_a_contact_edited_where_detection_reads_recomputes_everything(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_event(hours=50, minutes=30, people={2, 3}, in_summary=False, weekly=0)
    calls = scoped(monkeypatch)
    world.set_stage(person=3, stage="strained")  # Pat becomes flagged: detection's index grows
    world.set_stage(person=2, stage="none")  # Kim is no longer watched: it shrinks
    world.edit_contact(person=0, what="alias")  # Rob gets an alias: a name detection reads
    assert calls == []
    # A text only the notes read is the pass scoped to the contact.
    world.edit_contact(person=0, what="goal")
    assert calls == [(set(), {"Robert Hale"})]


def test_an_object_moved_and_a_contact_restaged_are_planned_in_one_scoped_pass(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_event(hours=50, minutes=30, people={2}, in_summary=False, weekly=0)  # e1: Kim
    world.add_event(hours=75, minutes=60, people={0}, in_summary=False, weekly=0)  # e2: Rob
    calls = scoped(monkeypatch)
    with machine.Store(world.store_path).transaction() as tx:
        machine.changes.set_stage(tx, "Kim Lee", "rebuilding", now=world.now)
    start = world.events["e2@test"].start + timedelta(hours=5)
    move(world, "e2@test", start)  # the pass sees both
    assert calls == [({"e1@test", "e2@test"}, {"Kim Lee"})]
    after = items(world)
    assert "Where things stand: rebuilding" in after[("prep", "Kim Lee")]["body"]
    assert from_iso(after[("prep", "Robert Hale")]["due"]) == start - timedelta(hours=24)


def test_a_closed_nudge_out_of_use_after_an_interaction_leaves_the_store(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Closed items stay a day here, but for what reached the user. A closed nudge stays while
    # it is the nudge of the current quiet period (it stops the same nudge from being queued
    # again: mendcrm.retention); once an interaction starts a new period it is no longer in
    # use, and goes. Another contact's stays.
    store = dataclasses.replace(world.config.store, retention_days=1)
    world.config = dataclasses.replace(world.config, store=store)
    # Kim ("talking", 14 days) and Ann ("cordial", 21 days) were set 20 days ago: 21 days
    # later both are in their first period, their nudges due.
    world.time_passes(timedelta(days=1, hours=2))
    (kim,), (ann,) = nudges(world, "Kim Lee"), nudges(world, "Ann Ortega")
    assert (kim["state"], ann["state"]) == ("due", "due")
    with machine.Store(world.store_path).transaction() as tx:  # both dismissed unseen
        for item in (kim, ann):
            machine.changes.close_followup(tx, item["id"], now=world.now, dismiss=True)
    world.check()
    world.time_passes(timedelta(days=2))  # 23 days: still both first periods
    assert [n["state"] for n in nudges(world, "Kim Lee") + nudges(world, "Ann Ortega")] == [
        "dismissed",
        "dismissed",
    ]
    calls = scoped(monkeypatch)
    world.log_interaction(person=2, outcome="positive")
    assert calls == [(set(), {"Kim Lee"})]
    (new,) = nudges(world, "Kim Lee")  # the dismissed one is gone, closed two days ago
    assert (new["state"], from_iso(new["due"])) == ("pending", world.now + timedelta(days=14))
    assert [n["id"] for n in nudges(world, "Ann Ortega")] == [ann["id"]]


# -- the clock crossing thresholds: the pass scoped to them (mendcrm.time_thresholds) --------


T0_MIDNIGHT = datetime(2026, 3, 20, 23, 0, tzinfo=UTC)
"""The first midnight in Berlin after T0 (winter time, UTC+1)."""


def memo(world: machine.IncrementalEqualsFull) -> machine.PassMemo:
    found = world._memo()
    assert found is not None
    return found


def test_an_occurrence_entering_the_window_is_planned_alone(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # T0 is 07:30 UTC; a meeting with Rob 30 days (the lookahead) and 4 hours after 07:00,
    # i.e. at 11:00 UTC: outside the window [now - 1 day, now + 30 days) until 11:00 UTC today.
    world.add_event(hours=24 * 30 + 4, minutes=30, people={0}, in_summary=False, weekly=0)
    before = items(world)
    assert ("prep", "Robert Hale") not in before
    calls = scoped(monkeypatch)
    world.time_passes(timedelta(hours=5))  # 12:30 UTC: it has entered
    # The one threshold crossed concerns the meeting's UID: it alone was detected and planned,
    # no contact for its own sake (Rob has no cadence; no nudge period ended).
    assert calls == [({"e1@test"}, set())]
    start = world.events["e1@test"].start
    after = items(world)
    # Its prep note 24 hours before (13:00 in Berlin, summer time: inside the day), its
    # follow-up 2 hours after the 30-minute meeting ends; everything else as it was.
    assert from_iso(after[("prep", "Robert Hale")]["due"]) == start - timedelta(hours=24)
    assert from_iso(after[("followup", "Robert Hale")]["due"]) == start + timedelta(minutes=150)
    assert {k: v for k, v in after.items() if k[1] != "Robert Hale"} == before
    # The memo is again exact: computed now, its next threshold Berlin's midnight (23:00 UTC,
    # winter time still), before any meeting's or nudge's; its kept thresholds reach a day and
    # an hour from now, not only as far as the old memo's did.
    after_memo = memo(world)
    assert (after_memo.computed_at, after_memo.valid_until, after_memo.keyed_until) == (
        world.now,
        world.now.replace(hour=23, minute=0),
        world.now + timedelta(hours=25),
    )


def test_a_meeting_starting_and_ending_is_planned_alone(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kim is "talking" (14-day cadence), quiet for 20 days: her nudge is open; a meeting at
    # 09:00 UTC (2 hours after 07:00), 30 minutes, is within one cadence and holds it back.
    world.add_event(hours=2, minutes=30, people={2}, in_summary=False, weekly=0)
    assert not nudge_open(world, "Kim Lee")
    assert items(world)[("prep", "Kim Lee")]["state"] == "due"  # 24 h lead: due at once
    calls = scoped(monkeypatch)
    world.time_passes(timedelta(hours=3))  # 10:30: it started at 09:00 and ended at 09:30
    # Its start and end concern its UID; Kim comes in through its encounter, not for her own.
    assert calls == [({"e1@test"}, set())]
    after = items(world)
    # The prep note never read before the meeting ended is withdrawn; the follow-up waits
    # for 11:30 (2 hours after the end); with no meeting ahead, Kim's nudge is open again.
    assert after[("prep", "Kim Lee")]["state"] == "withdrawn"
    assert after[("followup", "Kim Lee")]["state"] == "pending"
    assert nudge_open(world, "Kim Lee")
    world.time_passes(timedelta(hours=1))  # 11:30: the follow-up is due
    assert items(world)[("followup", "Kim Lee")]["state"] == "due"


def test_midnight_alone_plans_nothing_again(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No meeting; the first nudge change is 8 days away (Kim's second period): the memo's
    # first threshold is Berlin's midnight, 23:00 UTC. Nothing a pass decides reads the
    # calendar day (note texts do not: mendcrm.render), so crossing it plans nothing: only
    # the full recomputation on the copy plans.
    first = memo(world)
    assert first.valid_until == T0_MIDNIGHT
    calls = planned(monkeypatch)
    world.time_passes(timedelta(hours=16))  # 23:30 UTC
    assert len(calls) == 1
    assert (memo(world).computed_at, memo(world).valid_until) == (
        world.now,
        T0_MIDNIGHT + timedelta(days=1),
    )


def test_past_the_kept_stretch_the_pass_recomputes_everything(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The memo keeps a day and an hour of thresholds; two days on, it cannot say what was
    # crossed: both passes plan everything.
    assert memo(world).keyed_until == world.now + timedelta(hours=25)
    calls = planned(monkeypatch)
    world.time_passes(timedelta(days=2))
    assert len(calls) == 2


def test_a_closed_nudge_whose_retention_runs_out_is_pruned_by_its_contacts_pass(
    world: machine.IncrementalEqualsFull, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Closed items stay a day here. Kim's open nudge is dismissed at 07:30; an hour later an
    # interaction starts a new quiet period: the dismissed nudge is no longer in use, but
    # stays until 07:30 tomorrow. That threshold concerns Kim (whether a closed nudge goes
    # depends on her current period): the pass crossing it plans her alone, and prunes it.
    store = dataclasses.replace(world.config.store, retention_days=1)
    world.config = dataclasses.replace(world.config, store=store)
    world.check()
    (kim,) = nudges(world, "Kim Lee")
    with machine.Store(world.store_path).transaction() as tx:
        machine.changes.close_followup(tx, kim["id"], now=world.now, dismiss=True)
    world.check()
    world.time_passes(timedelta(hours=1))
    world.log_interaction(person=2, outcome="positive")
    assert [n["state"] for n in nudges(world, "Kim Lee")] == ["dismissed", "pending"]
    calls = scoped(monkeypatch)
    world.time_passes(timedelta(hours=23, minutes=30))  # 08:00 tomorrow, past 07:30
    assert calls == [(set(), {"Kim Lee"})]
    assert [n["state"] for n in nudges(world, "Kim Lee")] == ["pending"]


def test_the_memo_keeps_a_bounded_stretch_of_keyed_thresholds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mendcrm.time_thresholds import Timeline

    now = datetime(2026, 3, 20, 7, 30, tzinfo=UTC)
    hour = timedelta(hours=1)
    found = Timeline(now)
    found.add(now + 3 * hour, ("uid", "b"))
    found.add(now + hour, ("uid", "a"))
    found.add(now + 2 * hour, ("contact", "c"))
    found.add(now + 30 * hour, ("uid", "z"))  # beyond the day and an hour kept
    # Every threshold of the stretch, in time order; the stretch is whole up to 25 h.
    assert found.kept() == (
        ((now + hour, "uid", "a"), (now + 2 * hour, "contact", "c"), (now + 3 * hour, "uid", "b")),
        now + 25 * hour,
    )
    assert found.first == now + hour
    # At most LIMIT are kept: the stretch then ends at the first one left out.
    monkeypatch.setattr("mendcrm.time_thresholds.LIMIT", 2)
    assert found.kept() == (
        ((now + hour, "uid", "a"), (now + 2 * hour, "contact", "c")),
        now + 3 * hour,
    )
    # A threshold nothing attributes ends the stretch where it falls.
    found.add(now + 90 * timedelta(minutes=1))
    assert found.kept() == (((now + hour, "uid", "a"),), now + 90 * timedelta(minutes=1))


def test_a_pass_over_changed_objects_carries_the_kept_thresholds() -> None:
    from mendcrm.time_thresholds import Timeline

    now = datetime(2026, 3, 20, 7, 30, tzinfo=UTC)
    hour = timedelta(hours=1)
    old = machine.PassMemo(
        inputs="",
        computed_at=now,
        valid_until=now + hour,
        next_due=None,
        timeline=((now + hour, "uid", "x"),),
        keyed_until=now + 10 * hour,
    )
    later = Timeline(now + hour / 2)
    later.carry(old)
    # The old memo's entries stand, and its stretch ends where it ended (it knew nothing of
    # the untouched records beyond).
    assert later.kept() == (((now + hour, "uid", "x"),), now + 10 * hour)
    assert later.first == now + hour
    # A memo whose first threshold lies beyond what it kept passes that threshold on.
    quiet = dataclasses.replace(old, valid_until=now + 40 * hour, timeline=())
    later = Timeline(now + hour / 2)
    later.carry(quiet)
    assert (later.kept(), later.first) == (((), now + 10 * hour), now + 40 * hour)
