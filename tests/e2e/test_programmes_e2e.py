"""Conference programmes end to end, through the real ``mendcrm`` script and a real CalDAV server.

The programme is the real pretalx export (``tests/fixtures/programmes/pretalx``, written by
``make fixtures``) with its two days, 2027-03-11 and 2027-03-12, moved to 10 and 11 days from
now (the script runs on the real clock): every time in it is "+00:00" (Europe/Lisbon in
winter), so a talk at "10:00:00+00:00" on day one is day one 10:00 UTC. Robert Hale speaks in
"Cost allocation that engineers trust" (day one 10:00–10:30, Auditorium) and the panel (day two
16:00–17:00, Auditorium); v2 moves the first to day two 14:00–14:30, Room 2. Roberta Hale and
Kwame Osei-Bonsu speak too and are nobody's contacts.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mendcrm.model import replace
from tests.e2e.conftest import ROBERT, ZONE, World, only
from tests.e2e.ics import Event

pytestmark = pytest.mark.caldav

PRETALX = Path(__file__).resolve().parents[1] / "fixtures" / "programmes" / "pretalx"
BERLIN = ZoneInfo(ZONE)
COST = "Cost allocation that engineers trust"
PANEL = "Panel: the next ten years of FinOps"


def _days(world: World) -> tuple[date, date]:
    first = (world.now + timedelta(days=10)).date()
    return first, first + timedelta(days=1)


def _programme(world: World, version: str, path: Path) -> None:
    """Write the pretalx export ``version`` with its days moved to :func:`_days`."""
    first, second = _days(world)
    text = (PRETALX / version / "schedule.json").read_text(encoding="utf-8")
    text = text.replace("2027-03-13", str(second + timedelta(days=1)))
    text = text.replace("2027-03-11", str(first)).replace("2027-03-12", str(second))
    path.write_text(text, encoding="utf-8")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def _upcoming(world: World) -> list[dict[str, Any]]:
    return list(json.loads(world.cli("upcoming", "--days", "60", "--json").out))


def _configure(world: World, path: Path) -> None:
    world.configure(extra=f'[[programmes]]\nname = "finops"\npath = {json.dumps(str(path))}\n\n')


def test_a_programme_beside_the_conference_on_your_calendar(
    live_world: World, tmp_path: Path
) -> None:
    world = live_world
    # His affinity names the conference: before the programme, the calendar event is a 0.5
    # guess (conference-affinity); with it, the same encounter carries the evidence.
    world.add(replace(ROBERT, affinity=("FinOps",)))
    first, second = _days(world)
    world.put(Event("finops-trip", first, second + timedelta(days=1), summary="FinOps Summit"))
    world.cli("sync")
    guess = only(_upcoming(world))
    assert (guess["match"]["by"], guess["match"]["confidence"]) == ("conference-affinity", 0.5)

    path = tmp_path / "finops.json"
    _programme(world, "v1", path)
    _configure(world, path)
    world.cli("sync")
    found = _upcoming(world)
    parent = only(e for e in found if e["event"]["source"] == "account:work")
    sessions = [e for e in found if e["event"]["source"] == "programme:finops"]

    assert parent["id"] == guess["id"]  # the calendar event's encounter keeps its id
    assert parent["match"]["by"] == "programme-speaker" and parent["on_your_calendar"] is True
    assert COST in parent["match"]["evidence"] and PANEL in parent["match"]["evidence"]
    assert parent["match"]["confidence"] == 0.8  # the name; pretalx lists no affiliation
    got = [
        (e["event"]["summary"], e["event"]["start"], e["event"]["end"], e["event"]["location"])
        for e in sessions
    ]
    assert got == [
        (COST, _at(first, 10).isoformat(), _at(first, 10, 30).isoformat(), "Auditorium"),
        (PANEL, _at(second, 16).isoformat(), _at(second, 17).isoformat(), "Auditorium"),
    ]
    for e in sessions:
        assert e["kind"] == "conference" and e["match"]["by"] == "programme-speaker"
        assert e["match"]["evidence"] == 'speaker "Robert Hale"'
        assert e["parent_id"] == parent["id"] and e["on_your_calendar"] is True
        assert e["prep_due"] is None and e["followup_due"] is None  # the parent's notes
    # One prep note, due the evening before the first day at [prep] conference_evening_hour
    # (default 19) on the user's wall clock (Europe/Berlin), listing both sessions.
    prep = only(world.queue("prep"))
    assert prep.encounter_id == parent["id"]
    eve = datetime.combine(first - timedelta(days=1), time(19), BERLIN).astimezone(UTC)
    assert prep.due == eve
    assert COST in prep.body and PANEL in prep.body and "Auditorium" in prep.body
    assert "Why showback fails" in prep.body  # the abstract's start, as an opener
    assert only(world.queue("followup")).encounter_id == parent["id"]
    assert world.queue("heads-up") == []

    # v2 moves "Cost allocation…" to day two 14:00 UTC in Room 2: the same encounter moves.
    cost_id = next(e["id"] for e in sessions if e["event"]["summary"] == COST)
    _programme(world, "v2", path)
    world.cli("sync")
    moved = only(e for e in _upcoming(world) if e["id"] == cost_id)
    assert (moved["event"]["start"], moved["event"]["location"]) == (
        _at(second, 14).isoformat(),
        "Room 2",
    )
    prep = only(i for i in world.queue("prep") if i.state != "withdrawn")
    assert "Room 2" in prep.body
    assert len([e for e in world.encounters() if e.occurrence.source == "programme:finops"]) == 2


def test_not_on_your_calendar_is_one_heads_up(live_world: World, tmp_path: Path) -> None:
    world = live_world
    world.add(ROBERT)
    path = tmp_path / "finops.json"
    _programme(world, "v1", path)
    _configure(world, path)
    world.cli("sync")
    sessions = _upcoming(world)
    assert [e["on_your_calendar"] for e in sessions] == [False, False]
    assert all(e["parent_id"] is None and e["prep_due"] is None for e in sessions)
    assert world.queue("prep") == [] and world.queue("followup") == []
    heads_up = only(world.queue("heads-up"))
    first, _ = _days(world)
    assert heads_up.title == f"Robert Hale speaks at FinOps Summit 2027 on {first.day} {first:%B}"
    assert heads_up.state == "due" and COST in heads_up.body and PANEL in heads_up.body

    world.cli("sync")  # idempotent: still one
    assert len(world.queue("heads-up")) == 1

    # Attending without a calendar event: the heads-up is withdrawn, a prep note is planned.
    world.configure(
        extra=f'[[programmes]]\nname = "finops"\npath = {json.dumps(str(path))}\nattend = true\n\n'
    )
    world.cli("sync")
    assert only(world.queue("heads-up")).state == "withdrawn"
    prep = only(world.queue("prep"))
    assert COST in prep.body and PANEL in prep.body
