"""The first-party plugins: markdown notes, desktop notifications and the export files."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from mendcrm.clock import FrozenClock
from mendcrm.config.model import MeConfig
from mendcrm.delivery import deliver_due
from mendcrm.model import QueueItem, replace
from mendcrm.plugins import make_plugin_manager
from mendcrm.store import Store
from tests.plugins.conftest import NOW, make_config, sample_item, seed

Queue = Callable[[], dict[str, QueueItem]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def update_item(store: Store, item_id: str, **changes: object) -> None:
    with store.transaction() as tx:
        item = QueueItem.from_record(tx.get("queue", item_id) or {})
        tx.put("queue", replace(item, **changes).to_record())


# -- markdown_notes --


def test_markdown_note_written_updated_and_never_overwritten_once_edited(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    notes = tmp_path / "vault"
    seed(store, sample_item(1))
    config = make_config(("markdown_notes",), {"markdown_notes": {"folder": str(notes)}})
    pm = make_plugin_manager(config)
    clock = FrozenClock(NOW)
    deliver_due(store, config, pm, clock=clock)
    receipt = Path(queue_of()["q1"].deliveries["markdown_notes"])
    local = sample_item(1).due.astimezone()
    assert receipt.parent == notes
    assert receipt.name == f"{local:%Y-%m-%d %H%M} Prep - Ana Lima.md"
    text = receipt.read_text()
    assert text.startswith('---\ntitle: "Prep: coffee with Ana Lima (1)"\n')
    assert 'contact: "Ana Lima"' in text and 'tags: ["mendcrm", "prep"]' in text
    assert 'location: "Café Central"' in text and "Be cordial. Item 1." in text
    assert mode(receipt) == 0o600

    # The note changes (re-rendered after the event moved): the file follows.
    update_item(store, "q1", body="## Ana Lima\n\nNew guidance.\n")
    deliver_due(store, config, pm, clock=clock)
    assert "New guidance." in receipt.read_text()

    # The user edits the file; the next change goes beside it, the edit is kept.
    receipt.write_text(receipt.read_text() + "\nMy own thoughts.\n")
    update_item(store, "q1", body="## Ana Lima\n\nThird version.\n")
    deliver_due(store, config, pm, clock=clock)
    assert "My own thoughts." in receipt.read_text() and "Third version." not in receipt.read_text()
    beside = notes / f"{local:%Y-%m-%d %H%M} Prep - Ana Lima (MendCRM update).md"
    assert "Third version." in beside.read_text()
    # Nothing changed: nothing is rewritten.
    before = beside.stat().st_mtime_ns
    deliver_due(store, config, pm, clock=clock)
    assert beside.stat().st_mtime_ns == before


def test_markdown_file_names_use_the_users_zone_not_the_systems(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    notes = tmp_path / "vault"
    seed(store, sample_item(1))  # due 08:55 UTC on 2 March
    config = make_config(
        ("markdown_notes",),
        {"markdown_notes": {"folder": str(notes)}},
        me=MeConfig(timezone="Pacific/Kiritimati"),
    )  # UTC+14, never the system's
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    receipt = Path(queue_of()["q1"].deliveries["markdown_notes"])
    assert receipt.name == "2026-03-02 2255 Prep - Ana Lima.md"


def test_markdown_requires_a_folder() -> None:
    from mendcrm.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^\[plugins.markdown_notes\] folder is missing"):
        make_plugin_manager(make_config(("markdown_notes",)))


# -- desktop_notify --


@pytest.fixture
def fake_notify_send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``notify-send`` on PATH that records its arguments: the real interface, a fake desktop."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "notify.log"
    script = bin_dir / "notify-send"
    script.write_text(
        f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {log}\necho --- >> {log}\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_desktop_notification_is_discreet_by_default(
    fake_notify_send: Path, store: Store, queue_of: Queue
) -> None:
    item = replace(sample_item(1), body="Stage: strained. History: the reorg fight.")
    seed(store, item)
    config = make_config(("desktop_notify",))
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    sent = fake_notify_send.read_text()
    assert "--app-name=MendCRM" in sent and "Ana Lima" in sent
    assert "prep note is ready" in sent
    assert "strained" not in sent and "reorg" not in sent
    assert queue_of()["q1"].deliveries == {"desktop_notify": "notified via notify-send"}


def test_desktop_notification_full_detail(fake_notify_send: Path, store: Store) -> None:
    seed(store, replace(sample_item(1), body="History: the reorg fight."))
    config = make_config(("desktop_notify",), {"desktop_notify": {"detail": "full"}})
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert "reorg" in fake_notify_send.read_text()


def test_no_notifier_says_so_once_and_stays_quiet(
    tmp_path: Path,
    store: Store,
    queue_of: Queue,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    seed(store, sample_item(1), sample_item(2))
    config = make_config(("desktop_notify",))
    pm = make_plugin_manager(config)
    clock = FrozenClock(NOW)
    deliver_due(store, config, pm, clock=clock)
    clock.advance(timedelta(minutes=1))
    deliver_due(store, config, pm, clock=clock)
    warnings = [r for r in caplog.records if "no notification tool" in r.getMessage()]
    assert len(warnings) == 1
    assert {q.state for q in queue_of().values()} == {"due"}
    assert all(q.attempts == 0 for q in queue_of().values())


def test_desktop_detail_is_validated() -> None:
    from mendcrm.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^\[plugins.desktop_notify\] detail must be"):
        make_plugin_manager(make_config(("desktop_notify",), {"desktop_notify": {"detail": "x"}}))


# -- export --


def test_export_writes_ics_and_json_atomically_and_only_on_change(
    tmp_path: Path, store: Store
) -> None:
    out = tmp_path / "export"
    seed(store, sample_item(1), sample_item(2, due=NOW + timedelta(days=1), kind="followup"))
    config = make_config(("export",), {"export": {"folder": str(out)}})
    pm = make_plugin_manager(config)
    clock = FrozenClock(NOW)
    deliver_due(store, config, pm, clock=clock)
    ics, js = out / "mendcrm.ics", out / "mendcrm-queue.json"
    assert mode(ics) == 0o600 and mode(js) == 0o600
    calendar = Calendar.from_ical(ics.read_bytes())
    todos = {str(t["uid"]): t for t in calendar.walk("VTODO")}
    assert set(todos) == {"q1@mendcrm", "q2@mendcrm"}
    assert todos["q1@mendcrm"].decoded("due") == sample_item(1).due
    events = calendar.walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Coffee"]
    data = json.loads(js.read_text())
    assert [i["id"] for i in data["items"]] == ["q1", "q2"]
    assert data["items"][0]["contact_name"] == "Ana Lima"

    stamp = (ics.stat().st_mtime_ns, js.stat().st_mtime_ns)
    clock.advance(timedelta(minutes=1))
    deliver_due(store, config, pm, clock=clock)
    assert (ics.stat().st_mtime_ns, js.stat().st_mtime_ns) == stamp
    update_item(store, "q2", state="withdrawn")
    deliver_due(store, config, pm, clock=clock)
    todos = {str(t["uid"]): t for t in Calendar.from_ical(ics.read_bytes()).walk("VTODO")}
    assert str(todos["q2@mendcrm"]["status"]) == "CANCELLED"
    assert not list(out.glob(".*.tmp"))
