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


def _feed_with(tmp_path: Path, world: World, uid: str) -> Path:
    start = (world.now + timedelta(days=2)).strftime("%Y%m%dT%H0000Z")
    end = (world.now + timedelta(days=2, hours=1)).strftime("%Y%m%dT%H0000Z")
    path = tmp_path / f"{uid}.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:Catch-up\r\nATTENDEE;CN=Robert Hale:mailto:{ROBERT.emails[0]}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    return path


def _synced(out: str) -> list[str]:
    return sorted(s["source"] for s in json.loads(out)["sources"])


def test_sync_source_takes_the_names_in_the_config(live_world: World, tmp_path: Path) -> None:
    world = live_world
    feed = _feed_with(tmp_path, world, "feed-meeting@example.org")
    world.configure(extra=f'[[feeds]]\nname = "team"\npath = "{feed}"\n\n')
    world.add(ROBERT)
    world.put(meeting("dav-meeting", world.now + timedelta(days=3), robert()))

    # A bare feed name syncs exactly that feed.
    assert _synced(world.cli("sync", "--json", "--source", "team").out) == ["feed:team"]
    assert {e.occurrence.source for e in world.encounters()} == {"feed:team"}
    # A bare account name syncs that account and leaves the feed's encounter alone.
    assert _synced(world.cli("sync", "--json", "--source", "work").out) == ["account:work"]
    assert {e.occurrence.source for e in world.encounters()} == {"feed:team", "account:work"}
    # The prefixed form still works, and several may be given.
    both = world.cli("sync", "--json", "--source", "feed:team", "--source", "work").out
    assert _synced(both) == ["account:work", "feed:team"]

    unknown = world.cli("sync", "--source", "nope", ok=False)
    assert unknown.code == 2
    assert "--source 'nope' is not a configured source" in unknown.err
    assert "known: team, work" in unknown.err


def test_sync_prints_each_warning_once(live_world: World) -> None:
    world = live_world
    text = world.config_path.read_text().replace('annotate = "off"', 'annotate = "dedicated"')
    world.config_path.write_text(text)
    world.add(ROBERT)
    world.put(meeting("soon", world.now + timedelta(days=2), robert()))
    # Both names MendCRM tries for its calendar are refused, as by a read-only account.
    world.account.server.fault(403, method="MKCALENDAR", times=3)
    result = world.cli("sync")
    refused = [line for line in result.err.splitlines() if "refuses MendCRM's writes" in line]
    assert len(refused) == 1, result.err
