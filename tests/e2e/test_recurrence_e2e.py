"""A recurring series end to end: RRULE, EXDATE and a RECURRENCE-ID override in one object."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import ROBERT, T0, World, hours, meeting, robert
from tests.e2e.ics import Event

pytestmark = pytest.mark.caldav

FIRST = T0 + hours(25)  # Tuesday 5 March 2030, 10:00 UTC
WEEK = timedelta(days=7)


def series(
    *, exdates: tuple[datetime, ...], override_at: datetime, sequence: int = 0
) -> tuple[Event, Event]:
    """Return a weekly one-on-one with Robert (five weeks) and its third week moved."""
    master = meeting(
        "weekly-1on1",
        FIRST,
        robert(),
        summary="Weekly 1:1",
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates=exdates,
        sequence=sequence,
    )
    moved = meeting(
        "weekly-1on1",
        override_at,
        robert(),
        summary="Weekly 1:1 (moved)",
        location="Boat house",
        recurrence_id=FIRST + 2 * WEEK,
        sequence=sequence,
    )
    return master, moved


def test_a_series_gives_one_encounter_per_occurrence_stable_across_syncs(world: World) -> None:
    world.add(ROBERT)
    third = FIRST + 2 * WEEK + hours(4)
    world.put(*series(exdates=(FIRST + WEEK,), override_at=third))

    world.sync()

    found = world.encounters()
    starts = [e.occurrence.start for e in found]
    # Five weeks, less the excluded second one; the third at its overridden time.
    assert starts == [FIRST, third, FIRST + 3 * WEEK, FIRST + 4 * WEEK]
    assert len({e.id for e in found}) == 4
    assert found[1].occurrence.location == "Boat house"
    assert found[1].occurrence.summary == "Weekly 1:1 (moved)"
    for encounter in found:
        items = world.items_of(encounter)
        assert items["prep"].due == encounter.occurrence.start - timedelta(hours=24)
        assert items["followup"].due == encounter.occurrence.end + timedelta(hours=2)
    ids = {e.id: {k: i.id for k, i in world.items_of(e).items()} for e in found}
    records = world.snapshot()

    # Syncing again, and re-storing the very same series, changes nothing.
    assert world.sync().plan.empty
    world.put(*series(exdates=(FIRST + WEEK,), override_at=third))
    assert world.sync().plan.empty
    assert world.snapshot() == records

    # Move the override again and exclude the fourth week: the third keeps its encounter and
    # items (its identity is its RECURRENCE-ID), the fourth is withdrawn, the rest untouched.
    later = third + hours(2)
    world.put(*series(exdates=(FIRST + WEEK, FIRST + 3 * WEEK), override_at=later, sequence=1))
    world.sync()

    now_found = world.encounters()
    assert [e.occurrence.start for e in now_found] == [FIRST, later, FIRST + 4 * WEEK]
    assert [e.id for e in now_found] == [found[0].id, found[1].id, found[3].id]
    for encounter in now_found:
        assert {k: i.id for k, i in world.items_of(encounter).items()} == ids[encounter.id]
    assert world.items_of(now_found[1])["prep"].due == later - timedelta(hours=24)
    # The fourth was withdrawn before any note of it went out: never seen, it and its items
    # left the store (mendcrm.retention).
    assert [e.id for e in world.encounters(active=False)] == [e.id for e in now_found]
    assert not any(i.encounter_id == found[2].id for i in world.queue())
