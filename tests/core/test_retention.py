"""Retention: the store stays the size of what is alive, and keeps what must survive.

Every test drives the pass's real transaction (:func:`mendcrm.pipeline.detect_and_plan`), the
real delivery (``markdown_notes``) and the real commands on a frozen clock (:class:`Desk`). The
rules under test (:mod:`mendcrm.retention`): what the user never saw (withdrawn, no delivered
note, no outcome) goes in the pass that withdraws it; closed records nobody will read again go
``retention_days`` after they closed; delivered notes, outcomes and dismissals stay for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mendcrm.cli.encounter_commands import encounter
from mendcrm.cli.queue_commands import followup, followups, upcoming
from mendcrm.config import load_config
from mendcrm.dismissals import REASON_DISMISSED
from mendcrm.model import Occurrence, QueueItem, replace, to_iso
from mendcrm.planning import nudge_id, queue_id
from mendcrm.retention import KEEP_EVERYTHING, Retention
from tests.core.builders import T0, attendee, contact, occurrence
from tests.core.desk import Desk

ROBERT = contact("c-robert", "Robert Hale", emails=("robert@acme.example",))
ANA = contact("c-ana", "Ana Lima", emails=("ana@globex.example",), stage="cordial")
DAY = timedelta(days=1)


def meeting(
    uid: str, start: datetime, *, rid: str | None = None, who: str = "robert"
) -> Occurrence:
    guest = attendee(f"{who}@acme.example" if who == "robert" else "ana@globex.example")
    return occurrence(uid, start=start, recurrence_id=rid, summary="Review", attendees=(guest,))


def churn(k: int, now: datetime) -> list[Occurrence]:
    """Pass ``k`` of a calendar whose times shift on every export, as the issue's feed did.

    Six single events keep their UID and move 7 minutes a pass (planning pairs each move);
    six get a UID made from their start, as some generators write them (each pass cancels six
    and adds six); a weekly series' DTSTART moves, and with it every RECURRENCE-ID.
    """
    shift = timedelta(minutes=7 * k)
    found = [meeting(f"move-{i}", T0 + (i + 1) * DAY + shift) for i in range(6)]
    for i in range(6):
        start = T0 + (i + 2) * DAY + timedelta(hours=3) + shift
        found.append(meeting(f"{start:%Y%m%dT%H%M%S}-{i}@feed", start))
    first = T0 + 3 * DAY + timedelta(hours=5) + shift
    for week in range(3):
        start = first + week * 7 * DAY
        found.append(meeting("weekly", start, rid=to_iso(start)))
    return found


@pytest.mark.slow  # 500 whole passes: about 30 s
def test_five_hundred_churning_passes_in_a_day_keep_the_store_within_twice_what_is_alive(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, [ROBERT])
    first = desk.sync(churn(0, desk.now))
    encounters = desk.encounters()
    moved_items = {
        i.id
        for i in desk.items().values()
        if encounters[i.encounter_id or ""].occurrence.uid.startswith("move-")
    }
    first_bytes = desk.bytes()
    assert len(first.detected) == 15
    step = timedelta(seconds=86_400 // 500)  # 500 passes in one simulated day
    for k in range(1, 500):
        desk.advance(step)
        desk.sync(churn(k, desk.now))
        # 15 encounters, each with a prep note and a follow-up, are alive: 45 records. Without
        # retention every pass left 15 withdrawn encounters (9 moved, 6 cancelled) and the 12
        # withdrawn items of the cancelled ones behind: 27 dead records a pass, 13,518 records
        # (14.3 MB) after the 500 passes, against 45 records (52 KB) with it.
        records, live = desk.census()
        assert records <= 2 * live, f"pass {k}: {records} records, {live} alive"
    assert (desk.records(), desk.live()) == (45, 45)
    assert desk.bytes() <= 2 * first_bytes
    # A moved event keeps its queue items: the same ids after 499 moves.
    assert moved_items <= set(desk.items())
    assert len(moved_items) == 12


def test_without_retention_the_same_passes_leave_dead_records_behind(tmp_path: Path) -> None:
    # The reference the rule is measured against: nothing ever deleted (the old behaviour).
    desk = Desk(tmp_path, [ROBERT], retention=KEEP_EVERYTHING)
    for k in range(20):
        desk.sync(churn(k, desk.now))
        desk.advance(timedelta(minutes=3))
    # 19 passes after the first each withdrew 15 encounters (9 moved, 6 cancelled) and the
    # 12 items of the 6 cancelled ones: 45 live records plus 19 × 27 dead ones.
    assert desk.live() == 45
    assert desk.records() == 45 + 19 * 27


def test_what_the_user_never_saw_goes_in_the_pass_that_withdraws_it(tmp_path: Path) -> None:
    desk = Desk(tmp_path, [ROBERT])
    a, b = meeting("a", T0 + 2 * DAY), meeting("b", T0 + 3 * DAY)
    desk.sync([a, b])
    assert desk.records() == 6
    gone = desk.sync([a])  # b was cancelled or deleted before any note of it went out
    assert [e.occurrence.uid for e in gone.withdrawn] == ["b"]  # the plugins are still told
    [kept] = desk.encounters().values()
    assert kept.occurrence.uid == "a"
    assert [i.encounter_id for i in desk.items().values()] == [kept.id, kept.id]
    assert desk.records() == 3


def test_a_delivered_note_survives_for_good_and_follows_its_meeting_back(tmp_path: Path) -> None:
    desk = Desk(tmp_path, [ROBERT])
    start = T0 + timedelta(hours=3)  # the prep note (24 h lead) is due at once
    desk.sync([meeting("soon", start)])
    report = desk.deliver()
    [prep] = [i for i in desk.items().values() if i.kind == "prep"]
    assert report.delivered == [prep.id] and len(list((tmp_path / "notes").glob("*.md"))) == 1
    [enc] = desk.encounters().values()
    [later] = [i for i in desk.items().values() if i.kind == "followup"]

    desk.sync([])  # cancelled after its note went out
    # Delivered history is never deleted: the note, and the encounter it names, stay; so does
    # the follow-up withdrawn with it, as part of that encounter.
    assert {i.id: i.state for i in desk.items().values()} == {
        prep.id: "delivered",
        later.id: "withdrawn",
    }
    assert desk.encounters()[enc.id].state == "withdrawn"
    for _ in range(12):  # ten years of passes, far past any retention
        desk.advance(timedelta(days=300))
        desk.sync([])
    assert set(desk.items()) == {prep.id, later.id} and set(desk.encounters()) == {enc.id}

    # Put back at another time: the delivered note follows it (planning pairs it with the
    # withdrawn encounter that holds it) and the follow-up comes back under its id.
    back = desk.now + 2 * DAY
    again = desk.sync([meeting("soon", back)])
    [new] = [e for e in desk.encounters().values() if e.state == "active"]
    assert again.detected == (new,) and new.occurrence.start == back
    kinds = {i.kind: i for i in desk.items().values() if i.encounter_id == new.id}
    assert {k: (i.id, i.state) for k, i in kinds.items()} == {
        "prep": (prep.id, "delivered"),
        "followup": (later.id, "pending"),
    }
    assert desk.encounters() == {new.id: new}  # the old encounter, now empty, is gone


def test_a_plugin_receipt_counts_as_delivered(tmp_path: Path) -> None:
    desk = Desk(tmp_path, [ROBERT])
    desk.sync([meeting("a", T0 + 2 * DAY)])
    [prep] = [i for i in desk.items().values() if i.kind == "prep"]
    # One plugin delivered it, another failed (so it stayed due), then the meeting was cancelled.
    with desk.store.transaction() as tx:
        tx.put(
            "queue", replace(prep, state="due", deliveries={"markdown_notes": "a.md"}).to_record()
        )
    desk.sync([])
    assert desk.items()[prep.id].state == "withdrawn"
    desk.advance(timedelta(days=1000))
    desk.sync([])
    assert prep.id in desk.items() and set(desk.encounters()) == {prep.encounter_id}


def test_an_outcome_keeps_its_encounter_for_good(tmp_path: Path) -> None:
    desk = Desk(tmp_path, [ANA])
    desk.sync([meeting("lunch", T0 + 2 * DAY, who="ana")])
    [item] = [i for i in desk.items().values() if i.kind == "followup"]
    # A clear no before the meeting: logged as an outcome, the contact is let go, and the next
    # pass withdraws the encounter (she is no longer flagged).
    assert "let-go" in desk.run(followup, "done", item.id, "--refused")
    desk.sync([meeting("lunch", T0 + 2 * DAY, who="ana")])
    [enc] = desk.encounters().values()
    assert enc.state == "withdrawn"
    [logged] = desk.table("interactions")
    assert logged["encounter_id"] == enc.id
    # The follow-up closed without being delivered goes after retention_days; the encounter the
    # outcome names stays, with the outcome (and its prep note, withdrawn unsent).
    desk.advance(timedelta(days=90))
    desk.sync([])
    assert [(i.kind, i.state) for i in desk.items().values()] == [("prep", "withdrawn")]
    assert set(desk.encounters()) == {enc.id} and desk.table("interactions") == [logged]


@pytest.mark.parametrize("days", [90, 7])
def test_a_closed_undelivered_follow_up_goes_retention_days_after_it_closed(
    tmp_path: Path, days: int
) -> None:
    desk = Desk(tmp_path, [ROBERT], retention_days=days)
    desk.sync([meeting("a", T0 + 2 * DAY)])
    [item] = [i for i in desk.items().values() if i.kind == "followup"]
    desk.run(followup, "dismiss", item.id)  # closed before it was due
    closed = desk.now
    desk.advance(timedelta(hours=1))
    desk.sync([])  # then the meeting was cancelled
    [enc] = desk.encounters().values()
    assert enc.state == "withdrawn"
    assert desk.items()[item.id].closed_at == closed
    kept = set(desk.items())
    assert len(kept) == 2  # and the prep note, withdrawn unsent, with the encounter it held
    # Kept until retention_days after it closed (the clock of the test, not of the machine) …
    desk.clock.advance(closed + timedelta(days=days) - desk.now - timedelta(seconds=1))
    desk.sync([])
    assert set(desk.items()) == kept and set(desk.encounters()) == {enc.id}
    # … and gone at that moment, with the withdrawn encounter it alone held.
    desk.advance(timedelta(seconds=1))
    desk.sync([])
    assert desk.items() == {} and desk.encounters() == {}
    assert desk.json(followups, "--all") == []  # nothing left to list


def test_a_closed_follow_up_of_a_meeting_still_ahead_outlives_retention(tmp_path: Path) -> None:
    # Closed long before its meeting: removing it would let planning queue a new one.
    desk = Desk(tmp_path, [ROBERT], retention_days=7)
    far = meeting("far", T0 + 60 * DAY)
    desk.sync([far])
    [item] = [i for i in desk.items().values() if i.kind == "followup"]
    desk.run(followup, "dismiss", item.id)
    for _ in range(5):
        desk.advance(timedelta(days=10))
        desk.sync([far])
    followups_now = [i for i in desk.items().values() if i.kind == "followup"]
    assert [(i.id, i.state) for i in followups_now] == [(item.id, "dismissed")]


def test_a_dismissed_nudge_of_the_current_quiet_period_outlives_retention(tmp_path: Path) -> None:
    # Ana is cordial: a nudge after 21 quiet days (the playbook's cadence), one per period.
    quiet = contact("c-ana", "Ana Lima", stage="cordial", stage_since=T0 - timedelta(days=21))
    desk = Desk(tmp_path, [quiet], retention_days=7)
    desk.sync([])
    first = nudge_id(quiet, T0 - timedelta(days=21), 1)
    assert set(desk.items()) == {first}
    desk.run(followup, "dismiss", first)
    # Ten days on, the period is the same: the dismissed nudge must stay, or it would be queued
    # again; it is past retention_days but still in use.
    desk.advance(timedelta(days=10))
    desk.sync([])
    assert {i.id: i.state for i in desk.items().values()} == {first: "dismissed"}
    # The next period (42 days quiet) brings the next nudge; the first is then let go.
    desk.advance(timedelta(days=12))
    desk.sync([])
    second = nudge_id(quiet, T0 - timedelta(days=21), 2)
    assert set(desk.items()) == {second}


def test_a_closed_item_without_closing_time_counts_from_the_first_write_that_sees_it(
    tmp_path: Path,
) -> None:
    # Older versions may have closed items without closed_at: their time is not known, so
    # retention counts from the first write after the upgrade, never from an earlier moment.
    desk = Desk(tmp_path, [ROBERT], retention_days=30)
    [enc] = desk.sync([meeting("a", T0 + 2 * DAY)]).detected
    [item] = [i for i in desk.items().values() if i.kind == "followup"]
    # As an older version left it: the follow-up done, the meeting cancelled, no closing time.
    legacy = {k: v for k, v in replace(item, state="done").to_record().items() if k != "closed_at"}
    with desk.store.transaction() as tx:
        tx.put("queue", legacy)
        tx.put("encounters", replace(enc, state="withdrawn").to_record())
        tx.delete("queue", queue_id("prep", enc.id))
    desk.advance(timedelta(days=400))
    desk.sync([])  # the first pass of this version, long after
    assert desk.items()[item.id].closed_at == desk.now
    stamped = desk.now
    desk.advance(timedelta(days=29))
    desk.sync([])
    assert set(desk.items()) == {item.id}
    desk.clock.advance(stamped + timedelta(days=30) - desk.now)
    desk.sync([])
    assert desk.items() == {}


def test_a_dismissed_series_stays_dismissed_after_its_instances_leave_the_store(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, [ROBERT])

    def weekly(now: datetime, weeks: int = 4) -> list[Occurrence]:
        first = T0 + DAY
        starts = [first + w * 7 * DAY for w in range(weeks)]
        return [meeting("series", s, rid=to_iso(s)) for s in starts if s > now - DAY]

    plan = desk.sync(weekly(desk.now))
    named = min(plan.detected, key=lambda e: e.occurrence.start)
    desk.run(encounter, "dismiss", named.id, "--series")
    # The one named stays beside its dismissal (with its notes, withdrawn); its siblings, never
    # seen, left the store with theirs.
    assert {e.id: (e.state, e.withdrawn_reason) for e in desk.encounters().values()} == {
        named.id: ("withdrawn", REASON_DISMISSED)
    }
    notes = {i.id: (i.encounter_id, i.state) for i in desk.items().values()}
    assert set(notes.values()) == {(named.id, "withdrawn")} and len(notes) == 2
    assert len(desk.table("dismissals")) == 1
    # Passes for two months: old instances seen again, new ones entering; nothing comes back.
    for _ in range(60):
        desk.advance(DAY)
        again = desk.sync(weekly(desk.now, weeks=14))
        assert again.detected == () and again.changed == ()
    assert desk.json(upcoming) == [] and set(desk.items()) == set(notes)
    assert set(desk.encounters()) == {named.id} and len(desk.table("dismissals")) == 1


def test_encounter_dismiss_and_followup_commands_apply_retention_in_their_write(
    tmp_path: Path,
) -> None:
    desk = Desk(tmp_path, [ROBERT], retention_days=7)
    a, b = meeting("a", T0 + 2 * DAY), meeting("b", T0 + 3 * DAY)
    plan = desk.sync([a, b])
    ids = {e.occurrence.uid: e.id for e in plan.detected}
    desk.run(encounter, "dismiss", ids["a"])
    # The dismissed encounter stays with its dismissal, and its notes with it.
    a_notes = {i.id for i in desk.items().values() if i.encounter_id == ids["a"]}
    assert len(a_notes) == 2
    # A follow-up closed and withdrawn more than retention_days ago goes with the next command
    # that closes anything, not only with the next sync.
    [b_followup] = [
        i for i in desk.items().values() if i.kind == "followup" and i.encounter_id == ids["b"]
    ]
    desk.run(followup, "dismiss", b_followup.id)
    desk.sync([])  # b is cancelled too
    assert {i.id for i in desk.items().values() if i.encounter_id == ids["b"]} == {
        b_followup.id,
        queue_id("prep", ids["b"]),
    }
    desk.advance(timedelta(days=8))
    quiet = QueueItem(id="n-1", kind="nudge", contact_id=ROBERT.id, due=desk.now, state="due")
    with desk.store.transaction() as tx:
        tx.put("queue", quiet.to_record())
    desk.run(followup, "done", "n-1")
    assert set(desk.items()) == {"n-1", *a_notes}
    assert set(desk.encounters()) == {ids["a"]}


def test_retention_days_is_read_from_the_store_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[me]\nemails = ["me@example.org"]\n[store]\nretention_days = 14\n')
    assert load_config(path).store.retention_days == 14
    path.write_text('[me]\nemails = ["me@example.org"]\n')
    assert load_config(path).store.retention_days == 90


def test_queue_ids_of_a_pruned_meeting_are_the_same_when_it_comes_back(tmp_path: Path) -> None:
    # Stable ids: a meeting withdrawn unseen and seen again gets the very ids it had.
    desk = Desk(tmp_path, [ROBERT])
    a = meeting("a", T0 + 2 * DAY)
    [enc] = desk.sync([a]).detected
    before = set(desk.items())
    assert before == {queue_id("prep", enc.id), queue_id("followup", enc.id)}
    desk.sync([])
    assert desk.records() == 0
    again = desk.sync([a])
    assert [e.id for e in again.detected] == [enc.id] and set(desk.items()) == before


@pytest.mark.parametrize("retention", [None, KEEP_EVERYTHING], ids=["pruned", "kept"])
def test_a_move_back_onto_a_withdrawn_id_is_a_move_whether_or_not_that_record_is_kept(
    tmp_path: Path, retention: Retention | None
) -> None:
    # A single event's encounter id follows its start: moved from A to B and back to A, it
    # lands on the id withdrawn ("moved") by the first move. Pruned or not, the pass reports the
    # same thing to plugins and `mendcrm sync`: a move from B, not an encounter seen afresh.
    desk = Desk(tmp_path, [ROBERT], retention=retention)
    at_a, at_b = T0 + 2 * DAY, T0 + 3 * DAY
    [first] = desk.sync([meeting("m", at_a)]).detected
    [(second, old)] = desk.sync([meeting("m", at_b)]).changed
    assert old.id == first.id
    back = desk.sync([meeting("m", at_a)])
    assert back.detected == ()
    assert [(new.id, prev.id) for new, prev in back.changed] == [(first.id, second.id)]
    assert [e.id for e in back.withdrawn] == [second.id]
