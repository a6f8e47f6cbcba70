"""Issue 11, kind 6, end to end: names read from a real file feed, and ``mendcrm encounter
dismiss`` run as the console script, with the dismissal holding over later sync passes.

The passes run in-process on a frozen clock (:data:`T0`); the commands run in a subprocess, as
a user types them. The feed is an ``.ics`` file read by MendCRM's own file-feed reader.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from mendcrm import repository
from mendcrm.clock import FrozenClock
from mendcrm.config import load_config
from mendcrm.dismissals import REASON_DISMISSED
from mendcrm.model import Contact, Encounter
from mendcrm.pipeline import PassSummary, sync_pass
from mendcrm.store import Store
from tests.e2e.conftest import T0, ZONE
from tests.e2e.ics import Event, Person, calendar
from tests.fixtures.cli import Cli

MARTIN = Contact(
    id="c-martin",
    name="Martin Keller",
    aliases=("Martin",),
    stage="strained",
    stage_since=T0 - timedelta(days=30),
)

LUNCH = Event("lunch@example.org", T0 + timedelta(days=2), summary="Lunch with Martin")
COFFEE = Event(
    "coffee@example.org",
    T0 + timedelta(days=1),
    summary="Coffee with Martin Keller",
    rrule="FREQ=WEEKLY;COUNT=10",
)
SCHMIDT = Event(
    "schmidt@example.org",
    T0 + timedelta(days=3),
    summary="Lunch with Martin Schmidt",
    attendees=(Person("ms@other.example", "Martin Schmidt"),),
)
HOLIDAY = Event(
    "mlk@example.org", (T0 + timedelta(days=4)).date(), summary="Martin Luther King Day"
)


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.feed = tmp_path / "team.ics"
        self.store_path = tmp_path / "store.json"
        self.config_path = tmp_path / "config.toml"
        self.config_path.write_text(
            "[me]\n"
            'name = "Sam Me"\n'
            'emails = ["me@example.org"]\n'
            f'timezone = "{ZONE}"\n\n'
            "[store]\n"
            f"path = {json.dumps(str(self.store_path))}\n\n"
            "[sync]\n"
            "lookahead_days = 30\n\n"
            "[[feeds]]\n"
            'name = "team"\n'
            f"path = {json.dumps(str(self.feed))}\n"
        )
        self.store = Store(self.store_path)
        with self.store.transaction() as tx:
            repository.save(tx, "contacts", MARTIN)
        self.cli = Cli(self.config_path)
        self.write_feed("")

    def write_feed(self, note: str) -> None:
        events = [LUNCH, COFFEE, SCHMIDT, HOLIDAY]
        if note:  # a changed description makes the file feed read and parse the file again
            events = [Event(**{**e.__dict__, "description": note}) for e in events]
        self.feed.write_text(calendar(*events))

    def sync(self, at: timedelta) -> PassSummary:
        config = load_config(self.config_path)
        return sync_pass(config, self.store, clock=FrozenClock(T0 + at))

    def encounters(self) -> list[Encounter]:
        with self.store.read() as view:
            return repository.encounters(view)

    def open_items(self) -> set[str | None]:
        with self.store.read() as view:
            return {i.encounter_id for i in repository.queue(view) if i.state in ("pending", "due")}


def test_names_from_a_file_feed_and_dismissals_that_hold_over_later_passes(
    tmp_path: Path,
) -> None:
    setup = Setup(tmp_path)
    first = setup.sync(timedelta(0))
    assert first.errors == {}
    found = {(e.occurrence.uid, e.match.by, e.match.confidence) for e in first.plan.detected}
    # Read through the real file reader: "Lunch with Martin" rests on the alias alone (0.4);
    # the weekly coffee names him in full (0.7), five instances in the 30-day window (days
    # 1, 8, 15, 22, 29); "Martin Schmidt" (summary and CN) and "Martin Luther King Day" are
    # other people or a day, and give nothing.
    assert found == {
        ("lunch@example.org", "name-word", 0.4),
        ("coffee@example.org", "name-in-summary", 0.7),
    }
    coffee = sorted(
        (e for e in first.plan.detected if e.occurrence.uid == "coffee@example.org"),
        key=lambda e: e.occurrence.start,
    )
    assert len(coffee) == 5
    [lunch] = [e for e in first.plan.detected if e.occurrence.uid == "lunch@example.org"]

    # One instance, by an id prefix, through the console script.
    done = setup.cli("encounter", "dismiss", lunch.id[:8])
    assert lunch.id in done.out and "dismissed" in done.out
    # The whole coffee series, from one of its instances.
    setup.cli("encounter", "dismiss", coffee[2].id, "--series")
    # The two named stay beside their dismissals; the other four instances of the series were
    # withdrawn unseen (no note delivered, no outcome) and left the store (mendcrm.retention).
    withdrawn = ("withdrawn", REASON_DISMISSED)
    kept = {lunch.id: withdrawn, coffee[2].id: withdrawn}
    assert {e.id: (e.state, e.withdrawn_reason) for e in setup.encounters()} == kept
    assert setup.open_items() == set()

    listed = json.loads(setup.cli("encounter", "dismissed", "--json").out)
    assert sorted((d["scope"], d["encounter_id"]) for d in listed) == sorted(
        [("encounter", lunch.id), ("series", coffee[2].id)]
    )
    assert {d["contact"]["name"] for d in listed} == {"Martin Keller"}

    # Later passes: the file re-read, then two weeks on, when instances never seen before
    # (days 36 and 43) enter the window. Nothing comes back.
    setup.write_feed("agenda attached")
    for at in (timedelta(minutes=15), timedelta(days=14)):
        later = setup.sync(at)
        assert later.errors == {}
        assert later.plan.detected == () and later.plan.changed == ()
        assert {e.id: (e.state, e.withdrawn_reason) for e in setup.encounters()} == kept
        assert setup.open_items() == set()
    upcoming = json.loads(setup.cli("upcoming", "--days", "3660", "--json").out)
    assert upcoming == []


def test_dismiss_errors_are_one_line(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    setup.sync(timedelta(0))
    missing = setup.cli("encounter", "dismiss", "nope", ok=False)
    assert missing.code == 1
    [line] = missing.err.strip().splitlines()
    assert line.startswith("mendcrm: error: no encounter 'nope'") and "mendcrm upcoming" in line
    # Ambiguous prefixes are tested in tests/core/test_dismissals.py (ids here hold tmp paths).
    bare = setup.cli("encounter", "dismiss", ok=False)
    assert bare.code == 2 and "Missing argument 'ID'" in bare.err
    assert "Traceback" not in missing.err + bare.err
