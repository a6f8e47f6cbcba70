"""Instance identity through the whole pipeline (issue 11, kinds 4 and 5).

A part of a series moved again with RANGE=THISANDFUTURE, and a change of ``[me] timezone``,
must find the same encounters (``changed``, same ids, the same queue items with their history),
not withdraw them and detect new ones. And an all-day event written with DTEND equal to DTSTART
lasts its day, so its follow-up falls due after it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mendcrm import repository
from mendcrm.model import Encounter, replace
from tests.e2e.conftest import ME, ROBERT, T0, World, hours, meeting, robert
from tests.e2e.ics import Event, Person

pytestmark = pytest.mark.caldav

FIRST = T0 + hours(25)  # Tuesday 5 March 2030, 10:00 UTC: the rule's first start
WEEK = timedelta(days=7)
RULE_STARTS = [FIRST + n * WEEK for n in range(4)]  # 5, 12, 19, 26 March at 10:00Z


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%SZ}"


def weekly(*moves: tuple[datetime, datetime, int]) -> list[Event]:
    """The weekly 1:1 with Robert (four weeks) and THISANDFUTURE overrides, each given as
    (rule start it names, its new start, SEQUENCE)."""
    events = [
        meeting("weekly-move", FIRST, robert(), summary="Weekly 1:1", rrule="FREQ=WEEKLY;COUNT=4")
    ]
    for rule_start, new_start, sequence in moves:
        events.append(
            meeting(
                "weekly-move",
                new_start,
                robert(),
                summary="Weekly 1:1",
                sequence=sequence,
                extra=(f"RECURRENCE-ID;RANGE=THISANDFUTURE:{_stamp(rule_start)}",),
            )
        )
    return events


def _ids(encounters: list[Encounter]) -> list[str]:
    return [e.id for e in encounters]


def test_moving_a_moved_part_again_changes_the_same_encounters(world: World) -> None:
    world.add(ROBERT)
    # The 12th and later moved from 10:00Z to 14:00Z.
    world.put(*weekly((RULE_STARTS[1], RULE_STARTS[1] + hours(4), 1)))
    world.sync()
    first = world.encounters()
    assert [e.occurrence.start for e in first] == [
        RULE_STARTS[0],
        *(s + hours(4) for s in RULE_STARTS[1:]),
    ]
    # Each instance is known by its rule start (RFC 5545 §3.8.4.4), whatever moved it.
    assert [e.occurrence.recurrence_id for e in first] == [s.isoformat() for s in RULE_STARTS]
    items = {e.id: world.items_of(e) for e in first}
    # History on one moved instance: its prep note was already acted on.
    done = replace(items[first[2].id]["prep"], state="done", closed_at=T0)
    with world.store.transaction() as tx:
        repository.save(tx, "queue", done)

    # The organiser moves the same part again (same RECURRENCE-ID, newer SEQUENCE) to 15:00Z.
    world.put(*weekly((RULE_STARTS[1], RULE_STARTS[1] + hours(5), 2)))
    summary = world.sync()
    second = world.encounters()
    assert _ids(second) == _ids(first)
    assert [e.occurrence.start for e in second[1:]] == [s + hours(5) for s in RULE_STARTS[1:]]
    assert [(new.id, old.id) for new, old in summary.plan.changed] == [
        (e.id, e.id) for e in first[1:]
    ]
    assert not summary.plan.detected and not summary.plan.withdrawn

    # And then a later part on its own: the 19th and later to 16:00Z (a second override).
    world.put(
        *weekly(
            (RULE_STARTS[1], RULE_STARTS[1] + hours(5), 2),
            (RULE_STARTS[2], RULE_STARTS[2] + hours(6), 3),
        )
    )
    summary = world.sync()
    third = world.encounters()
    assert _ids(third) == _ids(first)
    assert [e.occurrence.start for e in third] == [
        RULE_STARTS[0],
        RULE_STARTS[1] + hours(5),
        RULE_STARTS[2] + hours(6),
        RULE_STARTS[3] + hours(6),
    ]
    assert [new.id for new, _ in summary.plan.changed] == _ids(first[2:])
    assert not summary.plan.detected and not summary.plan.withdrawn
    # The same queue items, following their instances; the done one kept as it was.
    for encounter in third:
        now_items = world.items_of(encounter)
        assert {k: i.id for k, i in now_items.items()} == {
            k: i.id for k, i in items[encounter.id].items()
        }
    kept = world.items_of(third[2])
    assert kept["prep"].state == "done" and kept["prep"].closed_at == T0
    assert kept["followup"].due == third[2].occurrence.end + hours(2)
    assert len(world.encounters(active=False)) == 4  # nothing withdrawn as history


def _all_day(uid: str, day: date, end: date | None = None, rrule: str = "") -> Event:
    return Event(
        uid=uid,
        start=day,
        end=end,
        summary="Partner day",
        organizer=ME,
        attendees=(Person(ME.email, ME.cn, "ACCEPTED"), robert()),
        rrule=rrule,
    )


def test_changing_my_time_zone_keeps_all_day_encounters(world: World) -> None:
    world.add(ROBERT)
    world.put(_all_day("offsite", date(2030, 3, 7)))
    world.put(_all_day("planning-days", date(2030, 3, 8), rrule="FREQ=WEEKLY;COUNT=2"))
    world.sync()
    before = world.encounters()
    assert len(before) == 3
    # Berlin (UTC+1 in March): the day of 7 March starts at 6 March 23:00Z.
    assert before[0].occurrence.start == datetime(2030, 3, 6, 23, tzinfo=UTC)
    items = {e.id: world.items_of(e) for e in before}

    text = world.config_path.read_text()
    world.config_path.write_text(text.replace('"Europe/Berlin"', '"America/New_York"'))
    summary = world.sync()

    after = world.encounters()
    assert _ids(after) == _ids(before)  # same ids: a date names no zone
    # New York (UTC-5 until 10 March): the day of 7 March starts at 7 March 05:00Z.
    assert after[0].occurrence.start == datetime(2030, 3, 7, 5, tzinfo=UTC)
    assert sorted(new.id for new, _ in summary.plan.changed) == sorted(_ids(before))
    assert not summary.plan.detected and not summary.plan.withdrawn
    for encounter in after:
        assert {k: i.id for k, i in world.items_of(encounter).items()} == {
            k: i.id for k, i in items[encounter.id].items()
        }


def test_an_all_day_event_ending_where_it_starts_is_followed_up_after_the_day(
    world: World,
) -> None:
    # Google Apps Script writes DTEND;VALUE=DATE equal to DTSTART. RFC 5545 §3.6.1: a date
    # start means the whole day, so the event on Wednesday 6 March lasts until 7 March 00:00
    # Berlin (6 March 23:00Z); its follow-up ([followup] delay 2h) is due after that, never on
    # the 6th itself (it used to be due at 02:00 Berlin on the 6th, before the event).
    world.add(ROBERT)
    world.put(_all_day("gas-export", date(2030, 3, 6), end=date(2030, 3, 6)))
    world.sync()
    [encounter] = world.encounters()
    day_ends = datetime(2030, 3, 6, 23, tzinfo=UTC)
    assert encounter.occurrence.end == day_ends
    assert encounter.occurrence.all_day
    followup = world.items_of(encounter)["followup"]
    assert followup.due >= day_ends + hours(2)
    assert followup.due.astimezone(ZoneInfo("Europe/Berlin")).date() == date(2030, 3, 7)
