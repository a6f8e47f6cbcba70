"""Calendar changes end to end: moves, cancellations, declines, deletions, new attendees, no-ops.

Each test edits the calendar on a real server (Radicale, then Xandikos) between in-process
passes on a frozen clock, and checks what the store holds afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mendcrm.delivery import deliver_due
from mendcrm.planning import REASON_MOVED
from mendcrm.plugins import make_plugin_manager
from tests.e2e.conftest import ANA, ME, ROBERT, T0, World, ana, hours, meeting, only, robert
from tests.e2e.ics import Person

pytestmark = pytest.mark.caldav


def test_moving_the_event_moves_its_pending_items(world: World) -> None:
    world.add(ROBERT)
    start = T0 + hours(50)
    world.put(meeting("move-me", start, robert()))
    world.sync()
    before = only(world.encounters())
    items = world.items_of(before)

    later = start + timedelta(days=2, hours=3)
    world.put(meeting("move-me", later, robert(), sequence=1))
    summary = world.sync()

    after = only(world.encounters())
    assert after.occurrence.start == later
    assert [(new.id, old.id) for new, old in summary.plan.changed] == [(after.id, before.id)]
    assert not summary.plan.detected
    moved = world.items_of(after)
    # The same queue items, following the event.
    assert {k: i.id for k, i in moved.items()} == {k: i.id for k, i in items.items()}
    assert moved["prep"].due == later - timedelta(hours=24)
    assert moved["followup"].due == later + hours(1) + timedelta(hours=2)
    assert {i.state for i in moved.values()} == {"pending"}
    assert "Friday 8 March 2030, 15:00" in moved["prep"].body  # re-rendered (Berlin time)
    # The old occurrence was withdrawn because it moved (the plugins are told so) and, its items
    # having followed the event, nothing names it: it left the store (mendcrm.retention).
    [old] = summary.plan.withdrawn
    assert (old.id, old.state, old.withdrawn_reason) == (before.id, "withdrawn", REASON_MOVED)
    assert world.encounters(active=False) == [after]
    assert len(world.queue()) == 2


def _cancel(world: World, start: datetime) -> None:
    world.put(meeting("gone", start, robert(), status="CANCELLED", sequence=1))


def _decline(world: World, start: datetime) -> None:
    # Robert invites the user, who declines.
    world.put(
        meeting(
            "gone",
            start,
            robert(),
            sequence=1,
            organizer=Person("robert.hale@acme.example", "Robert Hale"),
            me=Person(ME.email, ME.cn, "DECLINED"),
        )
    )


def _delete(world: World, start: datetime) -> None:
    world.delete("gone.ics")


@pytest.mark.parametrize(
    "change", [_cancel, _decline, _delete], ids=["cancel", "decline", "delete"]
)
def test_cancelling_declining_or_deleting_withdraws_the_items(
    world: World, change: Callable[[World, datetime], None]
) -> None:
    world.add(ROBERT)
    start = T0 + hours(30)
    world.put(meeting("gone", start, robert()))
    world.sync()
    encounter = only(world.encounters())

    change(world, start)
    summary = world.sync()

    assert [e.id for e in summary.plan.withdrawn] == [encounter.id]
    # Withdrawn before any note of it was delivered and with no outcome logged, the user never
    # saw it: the encounter and its two items left the store in this pass (mendcrm.retention).
    assert world.encounters(active=False) == []
    assert world.queue() == []


def test_a_delivered_or_done_item_survives_withdrawal_and_is_never_recreated(
    world: World, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    # The command line below runs on the real clock, years before this world's T0: the follow-up
    # it closes would look closed years ago, long past the default 90 days of retention.
    world.configure(
        extra=f'[plugins]\nenabled = ["markdown_notes"]\n\n'
        f'[plugins.markdown_notes]\nfolder = "{notes}"\n\n'
    )
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(text.replace("[store]\n", "[store]\nretention_days = 36500\n"))
    world.add(ROBERT)
    start = T0 + hours(3)  # the prep note is due at once
    world.put(meeting("soon", start, robert()))
    assert world.sync().due == 1
    config = world.config()
    report = deliver_due(world.store, config, make_plugin_manager(config), clock=world.clock)
    encounter = only(world.encounters())
    prep = world.items_of(encounter)["prep"]
    assert report.delivered == [prep.id] and not report.failures
    assert prep.state == "delivered" and len(list(notes.glob("*.md"))) == 1
    # The user closes the follow-up early through the real command line; an outcome for a
    # meeting still ahead is refused, closing it without one is allowed.
    followup = world.items_of(encounter)["followup"]
    early = world.cli("followup", "done", followup.id, "--outcome", "neutral", ok=False)
    assert early.code == 2 and "has not happened yet" in early.err
    world.cli("followup", "done", followup.id)

    world.put(meeting("soon", start, robert(), status="CANCELLED", sequence=1))
    world.sync()
    assert world.encounters() == []
    after = {i.id: i for i in world.queue()}
    assert after[prep.id].state == "delivered"
    assert after[followup.id].state == "done"

    # Put back (un-cancelled): the encounter returns, but no second prep note or follow-up.
    world.put(meeting("soon", start, robert(), sequence=2))
    world.sync()
    assert only(world.encounters()).id == encounter.id
    assert {(i.id, i.kind, i.state) for i in world.queue()} == {
        (prep.id, "prep", "delivered"),
        (followup.id, "followup", "done"),
    }

    # And deleted for good: history stays as it was.
    world.delete("soon.ics")
    world.sync()
    assert {(i.id, i.state) for i in world.queue()} == {
        (prep.id, "delivered"),
        (followup.id, "done"),
    }


def test_a_new_attendee_adds_an_encounter(world: World) -> None:
    world.add(ROBERT, ANA)
    start = T0 + hours(52)
    world.put(meeting("grows", start, robert()))
    world.sync()
    first = only(world.encounters())
    first_items = world.items_of(first)
    assert "Also there" not in first_items["prep"].body

    world.put(meeting("grows", start, robert(), ana(), sequence=1))
    summary = world.sync()

    both = {e.contact_id: e for e in world.encounters()}
    assert set(both) == {ROBERT.id, ANA.id}
    assert both[ROBERT.id].id == first.id
    assert [e.id for e in summary.plan.detected] == [both[ANA.id].id]
    assert set(world.items_of(both[ANA.id])) == {"prep", "followup"}
    # Robert's note is the same item, now naming Ana as also there.
    robert_prep = world.items_of(first)["prep"]
    assert robert_prep.id == first_items["prep"].id
    assert "Also there:** Ana Lima" in robert_prep.body


def test_a_resync_with_no_change_changes_nothing_and_costs_one_request_per_calendar(
    world: World,
) -> None:
    world.add(ROBERT, ANA)
    second = world.account.new_calendar("Private")
    world.configure(calendars=[second])
    world.put(meeting("a", T0 + hours(30), robert()))
    world.put(meeting("b", T0 + hours(60), ana(), summary="Lunch"), into=second)
    first = world.sync()
    assert len(world.encounters()) == 2
    assert sum(r.fetched for r in first.reports) == 2
    records = world.snapshot()
    server = world.account.server
    server.reset()

    again = world.sync()

    assert world.snapshot() == records
    assert again.plan.empty and not again.plan.detected and again.due == 0
    for report in again.reports:
        assert (report.fetched, report.changed, report.deleted) == (0, 0, 0), report
    wire = server.requests()
    assert 0 < len(wire) <= 2, wire  # two calendars: at most one request each
    assert {method for method, _ in wire} <= {"PROPFIND", "REPORT"}


def test_a_resync_with_no_change_leaves_the_store_file_alone(world: World) -> None:
    world.add(ROBERT)
    world.put(meeting("a", T0 + hours(30), robert()))
    world.sync()
    before = os.stat(world.store_path)
    world.advance(timedelta(minutes=15))  # the daemon's interval
    world.sync()
    after = os.stat(world.store_path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_prep_note_is_not_delivered_after_its_encounter_is_over(
    world: World, tmp_path: Path
) -> None:
    world.configure(
        extra=f'[plugins]\nenabled = ["markdown_notes"]\n\n'
        f'[plugins.markdown_notes]\nfolder = "{tmp_path / "notes"}"\n\n'
    )
    world.add(ROBERT)
    world.put(meeting("missed", T0 + hours(3), robert()))
    world.sync()
    world.advance(hours(8))  # the daemon was off meanwhile
    world.sync()
    config = world.config()
    report = deliver_due(world.store, config, make_plugin_manager(config), clock=world.clock)
    prep = only(world.queue("prep"))
    assert prep.id not in report.delivered


def test_a_source_dropped_from_the_config_gets_one_pass_of_grace(world: World) -> None:
    import dataclasses

    from mendcrm.pipeline import sync_pass

    world.add(ROBERT)
    world.put(meeting("a", T0 + hours(30), robert()))
    world.sync()
    (encounter,) = world.encounters()
    renamed = world.config()
    renamed = dataclasses.replace(
        renamed, accounts=(dataclasses.replace(renamed.accounts[0], name="wrok"),)
    )
    # A typo in the account's name: the old source's encounter is kept, with a warning …
    first = sync_pass(renamed, world.store, clock=world.clock)
    assert any("account:work is no longer in the config" in w for w in first.warnings)
    assert [e.id for e in world.encounters()] == [encounter.id]
    assert world.items_of(encounter)["prep"].state == "pending"
    # … and putting it back resumes where it was, state and all.
    again = world.sync()
    assert not again.plan.withdrawn and not again.warnings
    assert [e.id for e in world.encounters()] == [encounter.id]
    # Dropped for two passes in a row, it is let go.
    sync_pass(renamed, world.store, clock=world.clock)
    gone = sync_pass(renamed, world.store, clock=world.clock)
    assert [e.id for e in gone.plan.withdrawn] == [encounter.id]
    # Nothing of it was delivered: withdrawn unseen, it left the store (mendcrm.retention).
    assert world.encounters(active=False) == [] and world.queue() == []
