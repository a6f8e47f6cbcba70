"""The command line end to end: the real ``mendcrm`` script against a real CalDAV server.

The script runs on the real clock, so the calendar is built relative to now and the tests assert
relations (a prep note is due 24 h before the start), never absolute times. What needs time to
pass runs the same commands in process on the frozen clock (:func:`invoke`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner

from mendcrm.cli.context import AppContext
from mendcrm.cli.queue_commands import prep
from mendcrm.playbook import load_playbook
from tests.e2e.conftest import ANA, ROBERT, T0, ZONE, World, ana, hours, meeting, only, robert
from tests.e2e.ics import Event

pytestmark = pytest.mark.caldav

LEAD = timedelta(hours=24)
DELAY = timedelta(hours=2)
BERLIN = ZoneInfo(ZONE)


def soon(world: World, delta: timedelta) -> datetime:
    """Return now + ``delta``, on a whole minute (calendars store whole seconds)."""
    return (world.now + delta).replace(second=0, microsecond=0)


def local(moment: datetime) -> str:
    """Return ``moment`` as the plain listings show it, in the configured zone."""
    return f"{moment.astimezone(BERLIN):%a %d %b %H:%M}"


def run_json(world: World, *args: str) -> Any:
    return json.loads(world.cli(*args, "--json").out)


def utc(text: str) -> datetime:
    """Parse a documented timestamp: ISO 8601, in UTC, with an explicit offset."""
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


def test_sync_and_the_listing_commands_give_the_documented_fields(
    live_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = live_world
    # The machine's zone is not the user's: people read times in the configured [me] timezone.
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    world.add(ROBERT)
    start = soon(world, timedelta(days=2))
    world.put(meeting("partner-sync", start, robert(), location="Room 4"))
    world.put(Event("dentist", start + hours(5), summary="Dentist"))

    first = run_json(world, "sync")
    calendar = only(first["calendars"])
    assert {
        "fetched",
        "changed",
        "deleted",
        "occurrences",
        "warnings",
        "requests",
        "seconds",
    } <= set(calendar)
    assert (calendar["fetched"], calendar["changed"], calendar["deleted"]) == (2, 2, 0)
    assert calendar["occurrences"] == 2 and calendar["warnings"] == []
    assert calendar["requests"] >= 1 and isinstance(calendar["seconds"], float)
    assert first["encounters"]["detected"] == 1 and first["errors"] == {}
    again = run_json(world, "sync")
    calendar = only(again["calendars"])
    assert (calendar["fetched"], calendar["changed"], calendar["deleted"]) == (0, 0, 0)
    assert calendar["occurrences"] == 2 and calendar["method"] == "unchanged"
    assert only(again["sources"])["requests"] == 1  # one calendar, one request
    assert again["encounters"] == {"detected": 0, "changed": 0, "withdrawn": 0}

    ahead = only(run_json(world, "upcoming"))
    assert ahead["contact"] == {"id": ROBERT.id, "name": "Robert Hale"}
    assert ahead["kind"] == "meeting"
    event = ahead["event"]
    assert {k: event[k] for k in ("summary", "uid", "calendar", "location")} == {
        "summary": "Partner sync",
        "uid": "partner-sync",
        "calendar": "Work",
        "location": "Room 4",
    }
    assert (utc(event["start"]), utc(event["end"])) == (start, start + hours(1))
    assert ahead["match"]["by"] == "attendee-email"
    assert "robert.hale@acme.example" in ahead["match"]["evidence"]
    assert ahead["match"]["confidence"] == 1.0
    assert utc(ahead["prep_due"]) == start - LEAD
    assert utc(ahead["followup_due"]) == start + hours(1) + DELAY

    item_keys = {"id", "kind", "encounter_id", "contact", "due", "state", "body"}
    prep = only(run_json(world, "prep"))
    assert item_keys <= set(prep)
    assert (prep["kind"], prep["encounter_id"], prep["state"]) == ("prep", ahead["id"], "pending")
    assert prep["contact"]["name"] == "Robert Hale"
    assert utc(prep["due"]) == start - LEAD
    assert prep["body"].startswith("# Before you meet Robert Hale")
    followup = only(run_json(world, "followups"))
    assert item_keys <= set(followup)
    assert (followup["kind"], followup["encounter_id"]) == ("followup", ahead["id"])
    assert utc(followup["due"]) == start + hours(1) + DELAY
    assert f"followup done {followup['id']}" in followup["body"]
    # One note in full, by a prefix of its id; its header in the user's zone, as in the note.
    full = world.cli("prep", prep["id"][:6]).out
    assert full.startswith(f"[due {local(start - LEAD)}]  id {prep['id']}")
    assert "## How to approach it" in full
    # A follow-up of a meeting still ahead is counted, and listed with --all.
    assert "after meetings still ahead:" in world.cli("followups").out
    assert f"{local(start + hours(1) + DELAY)}  Robert Hale" in world.cli("followups", "--all").out

    seen = run_json(world, "events")
    assert [(o["uid"], o["summary"]) for o in seen] == [
        ("partner-sync", "Partner sync"),
        ("dentist", "Dentist"),
    ]
    assert utc(seen[0]["start"]) == start and seen[0]["calendar_name"] == "Work"

    # A bare --when is in the user's zone too.
    earlier = (start - timedelta(days=10)).astimezone(BERLIN).replace(hour=15, minute=0)
    world.cli(
        "log",
        "Robert Hale",
        "--outcome",
        "neutral",
        "--note",
        "Said hello at the fair",
        "--when",
        earlier.replace(tzinfo=None).isoformat(),
    )
    assert only(world.interactions(ROBERT.id)).when == earlier
    shown = world.cli("contact", "show", "robert hale").out
    assert "upcoming encounters:" in shown
    assert f"{local(start)}  Partner sync" in shown and ahead["id"] in shown
    assert "interactions:" in shown
    assert f"{earlier:%Y-%m-%d}  conversation neutral  Said hello at the fair" in shown


def test_outcomes_move_the_stage_and_the_next_prep_note_reflects_it(live_world: World) -> None:
    world = live_world
    world.add(ROBERT, ANA)
    # The first meeting is over (its follow-up is due); the second is ahead.
    first, second = soon(world, -timedelta(hours=4)), soon(world, timedelta(days=6))
    world.put(meeting("first", first, robert(), summary="Steering group"))
    world.put(meeting("second", second, robert(), summary="Quarterly review"))
    world.put(meeting("lunch", soon(world, timedelta(days=4)), ana(), summary="Partner lunch"))
    world.cli("sync")
    encounters = {e.occurrence.uid: e.id for e in world.encounters()}
    followups = {f.encounter_id: f.id for f in world.queue("followup")}
    playbook = load_playbook(None)
    strained, cordial = playbook.stage("strained"), playbook.stage("cordial")

    def second_prep() -> str:
        notes = run_json(world, "prep")
        return str(only(n for n in notes if n["encounter_id"] == encounters["second"])["body"])

    body = second_prep()
    assert "Where things stand: strained" in body and strained.prep[0] in body

    # Three calm encounters move a strained contact to cordial (the playbook's rule).
    done = world.cli(
        "followup",
        "done",
        followups[encounters["first"]],
        "--outcome",
        "positive",
        "--note",
        "Talked about sailing",
    ).out
    assert "stage stays strained" in done
    assert "stays strained" in world.cli("log", "Robert Hale", "--outcome", "positive").out
    moved = world.cli(
        "log", "robert hale", "--outcome", "neutral", "--note", "Nodded at the all-hands"
    ).out
    assert "strained → cordial" in moved
    assert world.contact(ROBERT.id).stage == "cordial"
    history = world.interactions(ROBERT.id)
    assert [(i.outcome, i.stage_after) for i in sorted(history, key=lambda i: i.when)] == [
        ("positive", "strained"),
        ("positive", "strained"),
        ("neutral", "cordial"),
    ]
    assert (
        only(i for i in history if i.note == "Talked about sailing").encounter_id
        == (encounters["first"])
    )

    world.cli("sync")
    body = second_prep()
    assert "Where things stand: cordial" in body
    assert cordial.prep[0] in body and strained.prep[0] not in body
    recent = body.split("## Recent contact", 1)[1]
    assert recent.index("neutral (Nodded at the all-hands)") < recent.index("Talked about sailing")

    shown = world.cli("contact", "show", "Robert Hale").out
    assert "cordial (flagged)" in shown
    assert "Quarterly review" in shown and "interactions:" in shown
    assert "neutral  [strained → cordial]  Nodded at the all-hands" in shown

    # A clear refusal lets the contact go: her encounter and notes are withdrawn.
    lunch = followups[encounters["lunch"]]
    assert "cordial → let-go" in world.cli("followup", "done", lunch, "--refused").out
    assert world.contact(ANA.id).stage == "let-go"
    assert only(world.interactions(ANA.id)).kind == "refused"
    world.cli("sync")
    assert {e["contact"]["id"] for e in run_json(world, "upcoming")} == {ROBERT.id}
    ana_items = [i for i in world.queue() if i.contact_id == ANA.id and i.kind == "prep"]
    assert [i.state for i in ana_items] == ["withdrawn"]


def test_prep_leaves_out_notes_for_encounters_that_are_over(world: World) -> None:
    """In process, on the frozen clock: the command's own time is the world's."""
    world.add(ROBERT)
    world.put(meeting("over", T0 + hours(3), robert(), summary="Steering group"))
    world.put(meeting("ahead", T0 + hours(50), robert(), summary="Quarterly review"))
    world.sync()
    assert {i.state for i in world.queue("prep")} == {"due", "pending"}
    world.advance(hours(6))
    world.sync()
    over, ahead = world.encounters(active=False)

    notes = json.loads(invoke(world, prep, "--json"))
    assert [n["encounter_id"] for n in notes] == [ahead.id]
    assert "Quarterly review" in invoke(world, prep)
    # The old note is still there, by its id.
    assert "Steering group" in invoke(world, prep, world.items_of(over)["prep"].id)


def invoke(world: World, command: click.Command, *args: str) -> str:
    """Run one command in process with the world's clock; return what it printed."""
    app = AppContext(config_option=world.config_path, clock=world.clock)
    result = CliRunner().invoke(command, list(args), obj=app, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
