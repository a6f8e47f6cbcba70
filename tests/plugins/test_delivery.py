"""Delivery: at-least-once and recorded, back-off for failures, time limits, isolation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from mendcrm.clock import FrozenClock
from mendcrm.delivery import PluginCaller, deliver_due, plugin_health, retry_delay
from mendcrm.model import QueueItem, replace
from mendcrm.plugins import make_plugin_manager
from mendcrm.store import Store
from tests.plugins.conftest import NOW, make_config, sample_item, seed

Queue = Callable[[], dict[str, QueueItem]]


def journal(tmp_path: Path) -> dict[str, dict[str, str]]:
    return {"journal_line": {"file": str(tmp_path / "journal.txt")}}


def test_a_due_item_is_delivered_and_the_receipt_recorded(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    seed(store, sample_item(1), sample_item(2, due=NOW + timedelta(hours=1)))
    config = make_config(("journal_line",), journal(tmp_path))
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert report.delivered == ["q1"]
    q = queue_of()
    assert q["q1"].state == "delivered" and q["q1"].delivered_at == NOW
    assert q["q1"].deliveries == {"journal_line": str(tmp_path / "journal.txt")}
    assert q["q2"].state == "pending"  # not due yet
    assert (tmp_path / "journal.txt").read_text().count("\n") == 1
    # A second round delivers nothing again.
    again = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert again.delivered == [] and again.offered == 0
    assert (tmp_path / "journal.txt").read_text().count("\n") == 1
    assert plugin_health(store)["plugins"]["journal_line"]["delivered"] == 1


def test_with_no_delivery_plugin_items_stay_due(store: Store, queue_of: Queue) -> None:
    seed(store, sample_item(1))
    config = make_config()
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert report.no_plugins and report.delivered == []
    assert queue_of()["q1"].state == "due"


def test_a_raising_plugin_does_not_stop_the_others_and_is_retried_with_back_off(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    seed(store, sample_item(1))
    config = make_config(("broken", "journal_line"), journal(tmp_path))
    pm = make_plugin_manager(config)
    broken = pm.get_plugin("broken")
    clock = FrozenClock(NOW)
    report = deliver_due(store, config, pm, clock=clock)
    assert report.delivered == ["q1"]
    assert report.failures == [("q1", "broken", "RuntimeError: broken plugin refuses q1")]
    item = queue_of()["q1"]
    assert item.state == "delivered" and set(item.deliveries) == {"journal_line"}
    assert item.attempts == 1 and item.last_error.startswith("broken: RuntimeError")
    assert item.retry_after == NOW + retry_delay(1, config) == NOW + timedelta(minutes=1)

    # Before the back-off runs out nothing is called; after, only the failing plugin is.
    clock.advance(timedelta(seconds=30))
    deliver_due(store, config, pm, clock=clock)
    assert broken.calls == ["q1"]
    clock.advance(timedelta(seconds=31))
    deliver_due(store, config, pm, clock=clock)
    assert broken.calls == ["q1", "q1"]
    assert (tmp_path / "journal.txt").read_text().count("\n") == 1  # journal_line not re-called
    item = queue_of()["q1"]
    assert item.attempts == 2 and item.retry_after == clock.now() + timedelta(minutes=2)
    health = plugin_health(store)["plugins"]["broken"]
    assert health["failures"] == 2 and "refuses" in health["last_error"]


def test_back_off_is_exponential_and_capped() -> None:
    config = make_config()
    delays = [retry_delay(n, config).total_seconds() / 60 for n in range(1, 10)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_recovering_plugin_clears_the_error(store: Store, queue_of: Queue) -> None:
    seed(store, sample_item(1))
    config = make_config(("broken",), {"broken": {"mode": "sometimes"}})
    pm = make_plugin_manager(config)
    clock = FrozenClock(NOW)
    assert deliver_due(store, config, pm, clock=clock).delivered == []
    assert queue_of()["q1"].state == "due"  # nothing succeeded: not delivered
    clock.advance(timedelta(minutes=2))
    assert deliver_due(store, config, pm, clock=clock).delivered == ["q1"]
    item = queue_of()["q1"]
    assert item.deliveries == {"broken": "ok"} and item.attempts == 0 and not item.last_error
    assert plugin_health(store)["plugins"]["broken"]["failures"] == 0


def test_a_hanging_plugin_is_cut_off_and_the_others_deliver(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    seed(store, sample_item(1), sample_item(2))
    # The hanging plugin waits on an event, so the cut-off costs its full timeout; it is long
    # enough that the healthy journal_line never meets it under load.
    config = make_config(
        ("broken", "journal_line"), {**journal(tmp_path), "broken": {"mode": "hang"}}, timeout=3
    )
    pm = make_plugin_manager(config)
    broken = pm.get_plugin("broken")
    caller = PluginCaller(config.plugins.timeout_seconds)
    try:
        report = deliver_due(store, config, pm, clock=FrozenClock(NOW), caller=caller)
        assert sorted(report.delivered) == ["q1", "q2"]
        errors = {(i, p): e for i, p, e in report.failures}
        assert errors[("q1", "broken")] == "timed out after 3 s"
        # The stuck call is not piled on: q2 was not handed to the still-running plugin.
        assert errors[("q2", "broken")].startswith("an earlier call is still running")
        assert broken.calls == ["q1"]
        assert queue_of()["q2"].attempts == 1
    finally:
        broken.release.set()


def test_receipts_survive_a_concurrent_change_to_the_item(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    # The CLI (or a sync) may change the item while a plugin runs: the receipt merges in.
    seed(store, sample_item(1))
    config = make_config(("journal_line",), journal(tmp_path))
    pm = make_plugin_manager(config)
    impl = pm.hook.deliver.get_hookimpls()[0]
    original = impl.function

    def edit_then_deliver(item: QueueItem, contact: object, config: object) -> str:
        with store.transaction() as tx:
            current = QueueItem.from_record(tx.get("queue", "q1") or {})
            tx.put("queue", replace(current, body="edited meanwhile").to_record())
        return str(original(item, contact, config))

    object.__setattr__(impl, "function", edit_then_deliver)
    deliver_due(store, config, pm, clock=FrozenClock(NOW))
    item = queue_of()["q1"]
    assert item.body == "edited meanwhile" and item.state == "delivered"
    assert "journal_line" in item.deliveries
