"""The first-party plugins: markdown notes, desktop notifications and the export files."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
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

BERLIN_DAY = MeConfig(timezone="Europe/Berlin")
"""Day 08:00–21:00 on Berlin's clock (CET, UTC+1, in March 2026): NOW (09:00 UTC) is 10:00."""


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
    config = make_config(("desktop_notify",), me=BERLIN_DAY)
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    sent = fake_notify_send.read_text()
    assert "--app-name=MendCRM" in sent and "Ana Lima" in sent
    assert "prep note is ready" in sent
    assert "strained" not in sent and "reorg" not in sent
    assert queue_of()["q1"].deliveries == {"desktop_notify": "notified via notify-send"}


def test_desktop_notification_full_detail(fake_notify_send: Path, store: Store) -> None:
    seed(store, replace(sample_item(1), body="History: the reorg fight."))
    config = make_config(("desktop_notify",), {"desktop_notify": {"detail": "full"}}, me=BERLIN_DAY)
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
    config = make_config(("desktop_notify",), me=BERLIN_DAY)
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


def _notified(log: Path) -> bool:
    return log.exists() and "Ana Lima" in log.read_text()


def test_desktop_holds_a_night_time_note_until_the_morning(
    fake_notify_send: Path, tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    # A follow-up due at 22:10 Berlin (21:10 UTC) on Mon 2 March, offered from 22:15. The day
    # starts at 08:00 Berlin = 07:00 UTC on Tue 3 March (CET is UTC+1): worked out by hand.
    night = datetime(2026, 3, 2, 21, 15, tzinfo=UTC)
    seed(store, sample_item(1, kind="followup", due=night - timedelta(minutes=5)))
    settings = {"markdown_notes": {"folder": str(tmp_path / "vault")}}
    config = make_config(("markdown_notes", "desktop_notify"), settings, me=BERLIN_DAY)
    pm = make_plugin_manager(config)
    clock = FrozenClock(night)
    deliver_due(store, config, pm, clock=clock)
    # The note itself is delivered at once (a file waits quietly); the notification is held.
    assert set(queue_of()["q1"].deliveries) == {"markdown_notes"}
    assert not _notified(fake_notify_send)

    clock.advance(datetime(2026, 3, 3, 6, 59, tzinfo=UTC) - night)  # 07:59 Berlin
    deliver_due(store, config, pm, clock=clock)
    assert not _notified(fake_notify_send)
    assert queue_of()["q1"].attempts == 0  # holding is "not yet", never a failure

    clock.advance(timedelta(minutes=1))  # 08:00 Berlin: day_starts, inside the day
    deliver_due(store, config, pm, clock=clock)
    assert _notified(fake_notify_send)
    assert set(queue_of()["q1"].deliveries) == {"markdown_notes", "desktop_notify"}


@pytest.mark.parametrize(
    ("meeting", "shown_at_night"),
    [
        # Meeting Tue 3 March 06:00 Berlin (05:00 UTC), before 08:00: holding the prep note
        # until morning would show it after the meeting began, so it is shown at once.
        (datetime(2026, 3, 3, 5, 0, tzinfo=UTC), True),
        # Meeting at 08:00 Berlin exactly: the morning is not before it either; shown at once.
        (datetime(2026, 3, 3, 7, 0, tzinfo=UTC), True),
        # Meeting at 10:00 Berlin (09:00 UTC): the morning comes first, so it waits.
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), False),
    ],
)
def test_a_prep_note_is_not_held_past_its_meeting(
    fake_notify_send: Path, store: Store, meeting: datetime, shown_at_night: bool
) -> None:
    night = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 Berlin
    seed(store, sample_item(1, due=night), now=meeting - timedelta(days=1))  # Ana's coffee
    config = make_config(("desktop_notify",), me=BERLIN_DAY)
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(night))
    assert _notified(fake_notify_send) is shown_at_night


def test_desktop_follows_a_customised_day(fake_notify_send: Path, store: Store) -> None:
    # Day 06:30–23:30 Berlin: 06:29 Berlin (05:29 UTC) is night, 06:30 is day.
    me = MeConfig(timezone="Europe/Berlin", day_starts=time(6, 30), day_ends=time(23, 30))
    early = datetime(2026, 3, 3, 5, 29, tzinfo=UTC)
    seed(store, sample_item(1, kind="followup", due=early - timedelta(hours=1)))
    config = make_config(("desktop_notify",), me=me)
    pm = make_plugin_manager(config)
    clock = FrozenClock(early)
    deliver_due(store, config, pm, clock=clock)
    assert not _notified(fake_notify_send)
    clock.advance(timedelta(minutes=1))
    deliver_due(store, config, pm, clock=clock)
    assert _notified(fake_notify_send)


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


def test_markdown_forgets_a_contacts_notes_edited_ones_and_updates_too(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    notes = tmp_path / "vault"
    seed(store, sample_item(1), sample_item(2))
    config = make_config(("markdown_notes",), {"markdown_notes": {"folder": str(notes)}})
    pm = make_plugin_manager(config)
    clock = FrozenClock(NOW)
    deliver_due(store, config, pm, clock=clock)
    first = Path(queue_of()["q1"].deliveries["markdown_notes"])
    other = Path(queue_of()["q2"].deliveries["markdown_notes"])
    # Edited by the user, then changed: an update is written beside it.
    first.write_text(first.read_text() + "\nMy own thoughts.\n")
    update_item(store, "q1", body="## Ana Lima\n\nThird version.\n")
    deliver_due(store, config, pm, clock=clock)
    assert len(list(notes.glob("*.md"))) == 3
    pm.hook.contact_forgotten(contact_id="c-ana", item_ids=["q1"], config=config)
    assert sorted(p.name for p in notes.glob("*.md")) == [other.name]
    state = json.loads((notes / ".mendcrm-notes.json").read_text())
    assert sorted(state) == ["q2"]
    # Again (a retry): nothing left to do, no error.
    pm.hook.contact_forgotten(contact_id="c-ana", item_ids=["q1"], config=config)
