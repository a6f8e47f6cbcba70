"""One meeting seen through two sources is one encounter, end to end (issue 11, kind 2).

A CalDAV calendar and its published ``.ics`` feed (here a file feed holding the same object),
or a colleague's shared calendar and the user's own, show the same VEVENT: the same UID, so the
same meeting (RFC 5545 §3.8.4.7). MendCRM must detect it once, take what it says from the newer
copy (SEQUENCE, then DTSTAMP: RFC 5546 §2.1.5), keep it in the calendar an annotation can be
written to, and keep its id and queue history when the second source appears or disappears.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import ACCOUNT, ROBERT, T0, World, hours, meeting, only, robert
from tests.e2e.ics import calendar

pytestmark = pytest.mark.caldav

UID = "budget@example.org"


def _feed(path: Path) -> str:
    return f'[[feeds]]\nname = "published"\npath = {json.dumps(str(path))}\n\n'


def _history(world: World) -> list[tuple[object, ...]]:
    """The queue as history: which items exist, for which encounter, in what state, when due.
    (A pending note's text may be rendered again, e.g. naming the calendar it now lives in.)"""
    return [
        (i["id"], i["kind"], i["encounter_id"], i["state"], i["due"])
        for i in world.snapshot()["queue"]
    ]


def test_a_caldav_calendar_and_its_feed_are_one_encounter_as_the_feed_comes_and_goes(
    world: World, tmp_path: Path
) -> None:
    world.add(ROBERT)
    event = meeting(UID, T0 + hours(50), robert(), summary="Budget review")
    world.put(event)
    published = tmp_path / "published.ics"
    published.write_text(calendar(event))

    world.sync()
    first = only(world.encounters())
    queue = _history(world)

    # The feed of the same calendar appears: nothing new, nothing withdrawn, the same queue.
    world.configure(extra=_feed(published))
    summary = world.sync()
    assert len(summary.sync.occurrences) == 2  # both sources were read ...
    assert only(world.encounters()).id == first.id  # ... and give one encounter
    assert not (summary.plan.detected or summary.plan.withdrawn or summary.plan.changed)
    assert _history(world) == queue
    assert only(world.encounters()).occurrence.source == f"account:{ACCOUNT}"

    # And goes again.
    world.configure()
    summary = world.sync()
    assert only(world.encounters()).id == first.id
    assert not (summary.plan.detected or summary.plan.withdrawn or summary.plan.changed)
    assert _history(world) == queue


def test_a_meeting_first_seen_in_a_feed_keeps_its_id_when_the_calendar_is_added(
    world: World, tmp_path: Path
) -> None:
    world.add(ROBERT)
    event = meeting(UID, T0 + hours(50), robert(), summary="Budget review")
    published = tmp_path / "published.ics"
    published.write_text(calendar(event))
    world.configure(extra=_feed(published))
    world.sync()
    first = only(world.encounters())
    assert first.occurrence.source == "feed:published"
    queue = _history(world)

    # The CalDAV calendar the feed publishes now holds the event too: the encounter moves to
    # the account (where an annotation can be written) and keeps its id and queue items.
    world.put(event)
    summary = world.sync()
    moved = only(world.encounters())
    assert moved.id == first.id
    assert moved.occurrence.source == f"account:{ACCOUNT}"
    assert moved.occurrence.calendar == world.calendar_url
    assert moved.occurrence.href.startswith("/")  # the object on the server, not the file
    assert not (summary.plan.detected or summary.plan.withdrawn or summary.plan.changed)
    assert _history(world) == queue

    # The feed is removed from the config: the account's copy carries on under the same id.
    world.configure()
    summary = world.sync()
    assert only(world.encounters()).id == first.id
    assert not (summary.plan.detected or summary.plan.withdrawn)


def test_the_newer_copy_decides_the_time_wherever_it_comes_from(
    world: World, tmp_path: Path
) -> None:
    # The feed was fetched after the organiser moved the meeting (SEQUENCE 1, 13:00Z); the
    # CalDAV copy still says SEQUENCE 0, 09:00Z. The higher SEQUENCE is the truth (RFC 5546
    # §2.1.5), so the encounter is at 13:00Z; it still lives in the account's calendar.
    world.add(ROBERT)
    day = (T0 + timedelta(days=2)).replace(hour=9, minute=0)
    old = meeting(UID, day, robert(), summary="Budget review")
    new = meeting(UID, day.replace(hour=13), robert(), summary="Budget review", sequence=1)
    world.put(old)
    published = tmp_path / "published.ics"
    published.write_text(calendar(new))
    world.configure(extra=_feed(published))

    world.sync()
    encounter = only(world.encounters())
    assert encounter.occurrence.start == day.replace(hour=13)
    assert encounter.occurrence.source == f"account:{ACCOUNT}"
    prep = world.items_of(encounter)["prep"]
    assert prep.due == day.replace(hour=13) - hours(24)  # [prep] lead = 24h before the start

    # The calendar catches up with a still newer version (SEQUENCE 2, 15:00Z): it wins now, and
    # it is one meeting moved (planning pairs the move; the items follow it), not a second one.
    world.put(meeting(UID, day.replace(hour=15), robert(), summary="Budget review", sequence=2))
    summary = world.sync()
    after = only(world.encounters())
    assert after.occurrence.start == day.replace(hour=15)
    assert [(new.id, old.id) for new, old in summary.plan.changed] == [(after.id, encounter.id)]
    assert not summary.plan.detected
    assert world.items_of(after)["prep"].id == prep.id


def test_a_shared_calendar_and_the_users_own_are_one_encounter(world: World) -> None:
    world.add(ROBERT)
    shared = world.account.new_calendar("Robert's team (shared)")
    world.configure(calendars=[shared])
    event = meeting(UID, T0 + hours(30), robert(), summary="Budget review")
    world.put(event)
    world.put(event, into=shared)

    summary = world.sync()
    assert len(summary.sync.occurrences) == 2
    encounter = only(world.encounters())
    assert len(summary.plan.detected) == 1
    assert set(world.items_of(encounter)) == {"prep", "followup"}

    # The copy the encounter lives in is deleted (whichever calendar that is): the other copy
    # carries the same encounter on, nothing is withdrawn or detected again.
    lives_in = encounter.occurrence.calendar
    assert lives_in in (shared, world.calendar_url)
    world.account.delete(lives_in + f"{UID}.ics")
    summary = world.sync()
    assert only(world.encounters()).id == encounter.id
    assert not (summary.plan.withdrawn or summary.plan.detected)
