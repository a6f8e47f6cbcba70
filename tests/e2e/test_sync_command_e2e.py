"""`mendcrm sync` is one whole pass: it delivers what is due and records its health."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tests.e2e.conftest import ROBERT, World, meeting, robert


def test_sync_delivers_due_notes_and_status_reports_it(live_world: World, tmp_path: Path) -> None:
    world = live_world
    notes = tmp_path / "notes"
    world.configure(
        extra=f'[plugins]\nenabled = ["markdown_notes"]\n\n'
        f'[plugins.markdown_notes]\nfolder = "{notes}"\n\n'
    )
    world.add(ROBERT)
    start = (world.now + timedelta(hours=3)).replace(second=0, microsecond=0)
    world.put(meeting("soon", start, robert()))  # its prep note is due at once

    held = json.loads(world.cli("sync", "--json", "--no-deliver").out)
    assert held["due"] == 1 and held["delivered"] == []
    assert not notes.exists()

    summary = json.loads(world.cli("sync", "--json").out)
    assert len(summary["delivered"]) == 1
    assert len(list(notes.glob("*.md"))) == 1
    assert all("calendars" not in source for source in summary["sources"])
    assert len(summary["calendars"]) == 1

    status = json.loads(world.cli("status", "--json").out)
    assert status["daemon"]["running"] is False
    source = status["health"]["sources"]["account:work"]
    assert source["last_error"] == "" and source["last_success_at"]
    assert status["health"]["last_successful_sync_at"]
