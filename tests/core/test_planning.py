"""Planning: idempotent queue reconciliation, moves, withdrawals, failed sources and nudges."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mendcrm.model import Interaction, QueueItem
from mendcrm.planning import REASON_GONE, REASON_MOVED, REASON_UNFLAGGED, mark_due
from tests.core.builders import CONFIG, T0, Memory, attendee, contact, occurrence

ROBERT = contact(emails=("robert@acme.example",))
ANN = contact("c-ann", "Ann Ortega", emails=("ann@x.example",), stage="talking")
START = T0 + timedelta(days=2)


def meeting(start: datetime = START, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("summary", "Partner review")
    kw.setdefault("attendees", (attendee("robert@acme.example"),))
    return occurrence("evt-1", start=start, **kw)


def by_kind(memory: Memory) -> dict[str, QueueItem]:
    return {q.kind: q for q in memory.items() if q.encounter_id}


def test_new_encounter_queues_prep_and_followup_and_a_rerun_changes_nothing() -> None:
    memory = Memory()
    first = memory.sync([meeting()], [ROBERT])
    assert [e.contact_id for e in first.detected] == ["c-robert"]
    items = by_kind(memory)
    assert items["prep"].due == START - timedelta(hours=24)
    assert items["followup"].due == START + timedelta(hours=1) + timedelta(hours=2)
    assert {i.state for i in items.values()} == {"pending"}
    assert items["prep"].body.startswith("# Before you meet Robert Hale")
    assert items["prep"].title.startswith("Prep note ready: Robert Hale")
    again = memory.sync([meeting()], [ROBERT])
    assert again.empty and not (again.detected or again.changed or again.withdrawn)


def test_moved_single_event_moves_its_pending_items_and_keeps_their_ids() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    before = by_kind(memory)
    later = START + timedelta(days=3, hours=2)
    result = memory.sync([meeting(later)], [ROBERT])
    after = by_kind(memory)
    assert {k: i.id for k, i in after.items()} == {k: i.id for k, i in before.items()}
    assert after["prep"].due == later - timedelta(hours=24)
    assert after["followup"].due == later + timedelta(hours=3)
    assert "Saturday 8 March 2025" in after["prep"].body
    [(new, old)] = result.changed
    assert new.occurrence.start == later and old.occurrence.start == START
    [gone] = result.withdrawn
    assert gone.withdrawn_reason == REASON_MOVED
    assert after["prep"].encounter_id == new.id
    assert memory.sync([meeting(later)], [ROBERT]).empty


def test_moved_recurring_instance_keeps_its_encounter() -> None:
    memory = Memory()
    rid = "20250305T080000Z"
    memory.sync([meeting(recurrence_id=rid)], [ROBERT])
    enc_id = by_kind(memory)["prep"].encounter_id
    moved = START + timedelta(hours=5)
    result = memory.sync([meeting(moved, recurrence_id=rid)], [ROBERT])
    assert [e.id for e, _ in result.changed] == [enc_id] and not result.withdrawn
    assert by_kind(memory)["prep"].due == moved - timedelta(hours=24)


def test_due_item_moved_later_becomes_pending_again() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    now = START - timedelta(hours=2)
    memory.put_items(mark_due(memory.items(), now))
    assert by_kind(memory)["prep"].state == "due"
    memory.sync([meeting(START + timedelta(days=7))], [ROBERT], now=now)
    assert by_kind(memory)["prep"].state == "pending"


def test_cancelled_declined_and_deleted_events_withdraw_items_but_keep_them() -> None:
    for gone in ([meeting(status="CANCELLED")], [meeting(my_partstat="DECLINED")], []):
        memory = Memory()
        memory.sync([meeting()], [ROBERT])
        result = memory.sync(gone, [ROBERT])
        [enc] = result.withdrawn
        assert enc.withdrawn_reason == REASON_GONE and enc.state == "withdrawn"
        assert {i.state for i in memory.items()} == {"withdrawn"}
        assert len(memory.items()) == 2 and len(memory.stored()) == 1
        assert memory.sync(gone, [ROBERT]).empty
        # back in the calendar: the same items come back
        back = memory.sync([meeting()], [ROBERT])
        assert [e.contact_id for e in back.detected] == ["c-robert"]
        assert {i.state for i in memory.items()} == {"pending"}


def test_failed_source_withdraws_nothing() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    result = memory.sync([], [ROBERT], failed={"account:work"})
    assert result.empty
    assert memory.sync([], [ROBERT], failed={"https://dav.example/cal/work/"}).empty
    assert memory.sync([], [ROBERT], failed={"account:other"}).withdrawn


def test_delivered_items_survive_cancel_and_are_never_recreated() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    prep = by_kind(memory)["prep"]
    delivered = replace(prep, state="delivered", delivered_at=T0, body="as delivered")
    memory.put_items([delivered])
    memory.sync([meeting(status="CANCELLED")], [ROBERT])
    assert by_kind(memory)["prep"] == delivered
    memory.sync([meeting()], [ROBERT])  # back again: nothing new
    assert [q for q in memory.items() if q.kind == "prep"] == [delivered]
    moved = memory.sync([meeting(START + timedelta(days=1))], [ROBERT])
    [(new, _)] = moved.changed
    [prep] = [q for q in memory.items() if q.kind == "prep"]
    # the moved meeting keeps its delivered note: same id, state, due and text
    assert prep == replace(delivered, encounter_id=new.id)
    done = replace(by_kind(memory)["followup"], state="done", closed_at=T0)
    memory.put_items([done])
    memory.sync([], [ROBERT])
    assert by_kind(memory)["followup"] == done


def test_past_encounters_are_history_not_withdrawn() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    after = START + timedelta(hours=3)
    result = memory.sync([], [ROBERT], now=after)
    assert not result.withdrawn
    assert by_kind(memory)["followup"].state == "pending"


def test_unflagged_contact_withdraws_future_encounters() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    let_go = replace(ROBERT, stage="let-go")
    [enc] = memory.sync([meeting()], [let_go]).withdrawn
    assert enc.withdrawn_reason == REASON_UNFLAGGED


def test_new_attendee_adds_an_encounter_and_the_prep_mentions_the_others() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT, ANN])
    both = meeting(attendees=(attendee("robert@acme.example"), attendee("ann@x.example")))
    result = memory.sync([both], [ROBERT, ANN])
    assert [e.contact_id for e in result.detected] == ["c-ann"]
    assert [e.contact_id for e, _ in result.changed] == ["c-robert"]  # others changed
    preps = {q.contact_id: q for q in memory.items() if q.kind == "prep"}
    assert "**Also there:** Ann Ortega" in preps["c-robert"].body
    assert "**Also there:** Robert Hale" in preps["c-ann"].body
    assert len([q for q in memory.items() if q.encounter_id]) == 4


def test_conference_prep_is_due_the_evening_before_in_the_users_zone() -> None:
    memory = Memory()
    pycon = contact(affinity=("PyCon",))
    day = datetime(2025, 3, 5, tzinfo=UTC) - timedelta(hours=1)  # local midnight in Berlin
    memory.sync([occurrence("conf", start=day, hours=48, all_day=True, summary="PyCon")], [pycon])
    prep = next(q for q in memory.items() if q.kind == "prep")
    assert prep.due == datetime(2025, 3, 4, 18, tzinfo=UTC)  # 19:00 in Berlin
    assert "not certain" in prep.body


def test_encounter_already_started_gets_no_prep_but_a_followup() -> None:
    memory = Memory()
    memory.sync([meeting(T0 - timedelta(minutes=30))], [ROBERT])
    assert {q.kind for q in memory.items()} == {"followup"}


def test_bodies_follow_stage_changes_while_open_only() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    prep, follow = by_kind(memory)["prep"], by_kind(memory)["followup"]
    memory.put_items([replace(follow, state="delivered")])
    cordial = replace(ROBERT, stage="cordial")
    memory.sync([meeting()], [cordial])
    new_prep = by_kind(memory)["prep"]
    assert new_prep.id == prep.id and new_prep.body != prep.body
    assert "## Where things stand: cordial" in new_prep.body
    assert by_kind(memory)["followup"].body == follow.body


def test_last_outcome_reaches_the_next_prep_note() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    met = Interaction(
        id="i9",
        contact_id="c-robert",
        when=T0,
        kind="coffee",
        outcome="positive",
        note="Warmer than expected",
    )
    memory.sync([meeting()], [ROBERT], interactions=[met])
    assert "Warmer than expected" in by_kind(memory)["prep"].body


def test_mark_due_flips_only_pending_items_whose_time_has_come() -> None:
    items = [
        QueueItem(id="a", kind="prep", contact_id="c", due=T0),
        QueueItem(id="b", kind="prep", contact_id="c", due=T0 + timedelta(seconds=1)),
        QueueItem(id="c", kind="prep", contact_id="c", due=T0, state="delivered"),
    ]
    assert [(i.id, i.state) for i in mark_due(items, T0)] == [("a", "due")]


# --- nudges -------------------------------------------------------------------------------

CORDIAL = contact("c-kim", "Kim Lee", stage="cordial", stage_since=T0 - timedelta(days=60))


def nudges(memory: Memory) -> list[QueueItem]:
    return sorted((q for q in memory.items() if q.kind == "nudge"), key=lambda q: q.due)


def test_quiet_cordial_contact_gets_one_nudge_and_a_rerun_keeps_it() -> None:
    memory = Memory()
    talk = Interaction(id="i1", contact_id="c-kim", when=T0 - timedelta(days=30), outcome="neutral")
    memory.sync([], [CORDIAL], interactions=[talk])
    [nudge] = nudges(memory)
    assert nudge.due == talk.when + timedelta(days=21)
    assert CONFIG and "Kim Lee" in nudge.body and nudge.encounter_id is None
    assert memory.sync([], [CORDIAL], interactions=[talk]).empty
    assert memory.sync([], [CORDIAL], interactions=[talk], now=T0 + timedelta(days=5)).empty


def test_logging_an_interaction_resets_the_nudge() -> None:
    memory = Memory()
    memory.sync([], [CORDIAL])
    [old] = nudges(memory)
    memory.put_items([replace(old, state="delivered")])
    fresh = Interaction(id="i2", contact_id="c-kim", when=T0, outcome="positive")
    memory.sync([], [CORDIAL], interactions=[fresh])
    states = {q.id: q.state for q in nudges(memory)}
    assert states[old.id] == "done"
    [new] = [q for q in nudges(memory) if q.id != old.id]
    assert new.state == "pending" and new.due == T0 + timedelta(days=21)


def test_dismissed_nudge_waits_for_the_next_period() -> None:
    memory = Memory()
    memory.sync([], [CORDIAL])
    [first] = nudges(memory)
    memory.put_items([replace(first, state="dismissed")])
    assert memory.sync([], [CORDIAL]).empty
    memory.sync([], [CORDIAL], now=first.due + timedelta(days=21))
    assert [q.state for q in nudges(memory)] == ["dismissed", "pending"]


def test_no_nudges_while_strained_and_none_when_a_meeting_is_coming() -> None:
    memory = Memory()
    memory.sync([], [replace(CORDIAL, stage="strained")])
    assert nudges(memory) == []
    kim = replace(CORDIAL, emails=("kim@x.example",))
    memory.sync([occurrence(attendees=(attendee("kim@x.example"),))], [kim])
    assert nudges(memory) == []


def test_stage_change_retires_the_old_nudge() -> None:
    memory = Memory()
    memory.sync([], [CORDIAL])
    [old] = nudges(memory)
    talking = replace(CORDIAL, stage="talking", stage_since=T0)
    memory.sync([], [talking])
    states = {q.id: q.state for q in nudges(memory)}
    assert states[old.id] == "withdrawn" and list(states.values()).count("pending") == 1


def test_meeting_put_off_just_after_it_ended_is_a_move_not_a_second_meeting() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    ended = START + timedelta(hours=1, minutes=5)
    memory.sync([meeting(ended + timedelta(hours=1))], [ROBERT], now=ended)
    followups = [q for q in memory.items() if q.kind == "followup" and q.state != "withdrawn"]
    assert len(followups) == 1 and followups[0].due == ended + timedelta(hours=4)


def test_cancelled_after_delivery_and_put_back_elsewhere_keeps_the_note() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    prep = by_kind(memory)["prep"]
    memory.put_items([replace(prep, state="delivered")])
    memory.sync([], [ROBERT])
    result = memory.sync([meeting(START + timedelta(days=2))], [ROBERT])
    assert len(result.detected) == 1
    preps = [q for q in memory.items() if q.kind == "prep"]
    assert [(q.id, q.state) for q in preps] == [(prep.id, "delivered")]
    assert preps[0].encounter_id == result.detected[0].id


def test_a_snoozed_followup_stays_put_off_when_its_event_moves_or_resyncs() -> None:
    memory = Memory()
    memory.sync([meeting()], [ROBERT])
    follow = by_kind(memory)["followup"]
    # The user put it off to a day after its planned time (START + 1h + 2h delay).
    until = START + timedelta(days=1)
    memory.queue[follow.id] = replace(follow, due=until, snoozed_until=until).to_record()
    assert memory.sync([meeting()], [ROBERT]).empty
    assert by_kind(memory)["followup"].due == until
    # Moved 30 min later: planned START + 3h30 is still before the snooze, which wins.
    memory.sync([meeting(START + timedelta(minutes=30))], [ROBERT])
    assert by_kind(memory)["followup"].due == until
    # Moved two days later: the planned time is after the snooze, so the event's time wins.
    later = START + timedelta(days=2)
    memory.sync([meeting(later)], [ROBERT])
    assert by_kind(memory)["followup"].due == later + timedelta(hours=3)


def test_a_meeting_back_where_its_notes_moved_from_gets_notes_of_its_own() -> None:
    # A weekly meeting's instance of the 5th goes (out of the window, say) as the one of the
    # 12th comes: one gone, one new in the same series, so planning takes it for a move and the
    # notes follow to the 12th, keeping their ids (queue_id of the 5th's encounter). Then the
    # 5th comes back while the 12th stays: two meetings, each with a prep note and a follow-up
    # of its own. The moved notes stay the 12th's; the 5th's new ones cannot take the moved
    # ones' ids, or the two encounters would share (and overwrite) one record.
    memory = Memory()
    fifth = meeting(recurrence_id="20250305T080000Z")
    twelfth = meeting(START + timedelta(days=7), recurrence_id="20250312T080000Z")
    memory.sync([fifth], [ROBERT])
    moved = by_kind(memory)
    [(later, earlier)] = memory.sync([twelfth], [ROBERT]).changed
    back = memory.sync([fifth, twelfth], [ROBERT])
    assert [e.id for e in back.detected] == [earlier.id]
    notes = sorted(
        (q.encounter_id, q.kind, q.state, q.id in (moved["prep"].id, moved["followup"].id))
        for q in memory.items()
    )
    assert notes == sorted(
        [
            (earlier.id, "prep", "pending", False),
            (earlier.id, "followup", "pending", False),
            (later.id, "prep", "pending", True),
            (later.id, "followup", "pending", True),
        ]
    )
    texts = {(q.encounter_id, q.kind): q.body for q in memory.items()}
    # START is Wednesday 5 March 2025, 08:00 UTC: 09:00 in Berlin (CET), a week before the 12th.
    assert "Wednesday 5 March 2025" in texts[(earlier.id, "prep")]
    assert "Wednesday 12 March 2025" in texts[(later.id, "prep")]
    assert memory.sync([fifth, twelfth], [ROBERT]).empty
