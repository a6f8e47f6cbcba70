"""Read commands import only what they use: start-up is most of their time on a small store."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mendcrm import repository
from mendcrm.model import QueueItem
from mendcrm.store import Store
from tests.core.builders import T0, attendee, contact, find, occurrence

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys
import time_machine
from mendcrm.cli.main import main
with time_machine.travel("2025-03-03T08:00:00+00:00", tick=False):  # the builders' T0
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
heavy = ("jinja2", "caldav", "niquests", "icalendar", "recurring_ical_events",
         "mendcrm.detection", "mendcrm.playbook", "mendcrm.retention")
print("LOADED:" + ",".join(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # upcoming and contact list print summaries: no template, so no Jinja2 (20 ms); nor
        # name folding (detection), the playbook or retention, which only changes need.
        (["upcoming"], ""),
        (["upcoming", "--json"], ""),
        (["contact", "list"], ""),
    ],
)
def test_read_commands_import_no_template_or_calendar_stack(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "store.json"}"\n')
    # One encounter two days ahead, with its prep note: upcoming has something to print.
    robert = contact(emails=("robert@acme.example",))
    [met] = find(occurrence(attendees=(attendee("robert@acme.example"),)), [robert])
    item = QueueItem(id="q1", kind="prep", contact_id=robert.id, due=T0, encounter_id=met.id)
    with Store(tmp_path / "store.json").transaction() as tx:
        repository.save(tx, "contacts", robert)
        repository.save(tx, "encounters", met)
        repository.save(tx, "queue", item)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / ".config"),
        "XDG_DATA_HOME": str(tmp_path / ".local"),
        "XDG_STATE_HOME": str(tmp_path / ".state"),
        "MENDCRM_CONFIG": str(config),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=60
    )
    [loaded] = [line for line in done.stdout.splitlines() if line.startswith("LOADED:")]
    assert loaded == "LOADED:" + expected, done.stderr
    assert "Robert Hale" in done.stdout  # the encounter was shown


def test_the_probe_sees_jinja2_where_a_template_is_rendered(tmp_path: Path) -> None:
    # The same probe on a command that renders (the built-in templates, via `prep ID`'s
    # renderer): Jinja2 is then loaded, so the probe can tell.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = "import sys; from mendcrm.render import Renderer; from mendcrm.playbook import "
    code += "load_playbook; from datetime import UTC; Renderer(load_playbook(None), UTC); "
    code += "print('LOADED:' + ('jinja2' if 'jinja2' in sys.modules else ''))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "LOADED:jinja2", done.stderr


GC_PROBE = """
import gc, sys
from mendcrm.cli import context
from mendcrm.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("GC:", gc.isenabled(), gc.get_freeze_count() > 0, context.one_command_process)
"""


def test_a_read_command_freezes_what_it_decoded_only_as_the_console_script(
    tmp_path: Path,
) -> None:
    # As the console script (main(): one command, then exit) the decoded records are frozen out
    # of the cycle collector and the collector runs again afterwards; the flag is reset after.
    (tmp_path / "config.toml").write_text(f'[store]\npath = "{tmp_path / "store.json"}"\n')
    with Store(tmp_path / "store.json").transaction() as tx:
        repository.save(tx, "contacts", contact(emails=("robert@acme.example",)))
    env = {**os.environ, "PYTHONPATH": str(REPO), "MENDCRM_CONFIG": str(tmp_path / "config.toml")}
    done = subprocess.run(
        [sys.executable, "-c", GC_PROBE, "contact", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Robert Hale" in done.stdout, done.stderr
    assert done.stdout.splitlines()[-1] == "GC: True True False"


def test_a_read_command_inside_a_longer_process_freezes_nothing(tmp_path: Path) -> None:
    # Run in this (pytest) process, as a program embedding the CLI would: nothing is frozen,
    # since frozen objects that later form a cycle would never be collected here.
    from mendcrm.cli.context import AppContext

    with Store(tmp_path / "store.json").transaction() as tx:
        repository.save(tx, "contacts", contact())
    app = AppContext()
    app.__dict__["store"] = Store(tmp_path / "store.json")  # the cached_property, set directly
    frozen = gc.get_freeze_count()
    with app.read_store(("contacts",)) as view:
        assert [c.name for c in repository.contacts(view)] == ["Robert Hale"]
    assert gc.get_freeze_count() == frozen and gc.isenabled()
