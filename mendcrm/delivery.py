"""Delivering due queue items through the enabled plugins: at-least-once, recorded, isolated.

One round (:func:`deliver_due`):

1. read a snapshot of the queue and pick the items to offer: open items whose due time has come
   (``pending`` ones become ``due`` on the way), and recently delivered items that a plugin has
   not yet taken (it failed, timed out, or said "not yet" — a daily digest);
2. offer each item to every delivering plugin that has no receipt for it yet, one plugin at a
   time, each in a worker thread with a time limit, with no store lock held;
3. record the outcome in one short transaction per item: the receipts merge into
   ``item.deliveries``; the item becomes ``delivered`` once any plugin has succeeded; a failure
   bumps ``attempts`` and sets ``retry_after`` (exponential back-off, capped) and ``last_error``.

So an item is delivered at least once: it is marked only after a plugin returned a receipt, and a
crash between a plugin's success and the write means a repeat, never a loss. A plugin with a
receipt is not called again for that item when another plugin is retried.

The time limit trade-off: a hung plugin call cannot be killed inside a thread, so the round stops
waiting for it and moves on; the thread is abandoned (a daemon thread, so it never blocks exit)
and that plugin is skipped — counted as a failure — until the stuck call returns. A worker
process could be killed, but every call would pay for a process start and the plugin's arguments
and state would have to cross a process boundary; for plugins that write a file or send a message
a stuck thread is the smaller cost. If an abandoned call later succeeds, its receipt is lost and
the item is offered again: a possible repeat, as at-least-once allows.

With no delivering plugin enabled, due items simply stay ``due`` and show in ``mendcrm prep``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pluggy

from mendcrm import repository
from mendcrm.clock import Clock
from mendcrm.config.model import Config
from mendcrm.daemon.redaction import redact
from mendcrm.model import OPEN_QUEUE_STATES, Encounter, QueueItem, replace, to_iso
from mendcrm.plugins import PLUGIN_HEALTH_ID, call_impl, one_line
from mendcrm.store import Store

log = logging.getLogger(__name__)

REDELIVERY_WINDOW = timedelta(days=2)
"""How long after an item was first delivered the plugins that have not taken it keep being
offered it (long enough for a daily digest; short enough that enabling a new plugin does not
replay the whole history)."""


@dataclass(frozen=True)
class CallResult:
    """What one plugin did with one item: a receipt, nothing ("not yet"), or an error."""

    plugin: str
    receipt: str = ""
    error: str = ""

    @property
    def delivered(self) -> bool:
        return bool(self.receipt)


class PluginCaller:
    """Calls plugin hooks in worker threads and stops waiting after a time limit.

    Keep one per plugin manager across rounds: it remembers which plugins still have a stuck
    call running, and does not start another one for them.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self._stuck: dict[str, threading.Thread] = {}

    def call(self, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> CallResult:
        """Given one implementation of ``deliver`` and its arguments, return what came of it."""
        name = impl.plugin_name
        stuck = self._stuck.get(name)
        if stuck is not None:
            if stuck.is_alive():
                return CallResult(name, error="an earlier call is still running (timed out)")
            del self._stuck[name]
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = call_impl(impl, kwargs)
            except BaseException as exc:  # a plugin's SystemExit must not end the daemon either
                box["error"] = f"{type(exc).__name__}: {one_line(str(exc))}"

        thread = threading.Thread(target=work, name=f"mendcrm-plugin-{name}", daemon=True)
        thread.start()
        thread.join(self.timeout_seconds)
        if thread.is_alive():
            self._stuck[name] = thread
            return CallResult(name, error=f"timed out after {self.timeout_seconds:g} s")
        if "error" in box:
            return CallResult(name, error=redact(box["error"]))
        value = box.get("value")
        if not value:
            return CallResult(name)
        receipt = value if isinstance(value, str) else "delivered" if value is True else str(value)
        return CallResult(name, receipt=one_line(redact(receipt), 500))


@dataclass
class DeliveryReport:
    """What one round did, for the daemon's health record and the tests."""

    offered: int = 0
    delivered: list[str] = field(default_factory=list)
    """Ids of items that became ``delivered`` in this round."""
    receipts: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    """(item id, plugin, error) for each failed call."""
    no_plugins: bool = False


def retry_delay(attempts: int, config: Config) -> timedelta:
    """Given how many rounds have failed for an item, return how long to wait before the next."""
    base = max(1, config.daemon.deliver_interval_seconds)
    cap = config.daemon.max_backoff_minutes * 60
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def needs_delivery(item: QueueItem, plugins: list[str], now: datetime) -> list[str]:
    """Given an item, the delivering plugins and the time, return the plugins to offer it to now."""
    if item.retry_after is not None and item.retry_after > now:
        return []
    if item.state in OPEN_QUEUE_STATES:
        if item.due > now:
            return []
    elif item.state == "delivered":
        if item.delivered_at is None or now - item.delivered_at > REDELIVERY_WINDOW:
            return []
    else:
        return []
    return [name for name in plugins if name not in item.deliveries]


def deliver_due(
    store: Store,
    config: Config,
    pm: pluggy.PluginManager,
    *,
    clock: Clock,
    caller: PluginCaller | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Given the store, config and plugin manager, deliver what is due; return what happened.

    Never raises for a plugin's failure; raises StoreError only if the store itself fails.
    ``should_stop`` is asked between items, so a shutdown does not wait for the whole round.
    """
    caller = caller or PluginCaller(config.plugins.timeout_seconds)
    now = clock.now()
    impls = list(reversed(pm.hook.deliver.get_hookimpls()))  # registration order
    report = DeliveryReport(no_plugins=not impls)

    with store.read() as view:
        items = repository.queue(view)
    _mark_due(store, [i for i in items if i.state == "pending" and i.due <= now])
    health: dict[str, dict[str, Any]] = {}
    if impls:
        _offer(store, config, impls, items, now, caller, should_stop, report, health)
    _snapshot(store, config, pm, now, caller, health, should_stop)
    if health:
        _save_health(store, health)
    return report


def _offer(
    store: Store,
    config: Config,
    impls: list[pluggy.HookImpl],
    items: list[QueueItem],
    now: datetime,
    caller: PluginCaller,
    should_stop: Callable[[], bool],
    report: DeliveryReport,
    health: dict[str, dict[str, Any]],
) -> None:
    names = [impl.plugin_name for impl in impls]

    offers = [(item, needs_delivery(item, names, now)) for item in items]
    offers = [(item, wanted) for item, wanted in offers if wanted]
    batches = {name: tuple(i for i, wanted in offers if name in wanted) for name in names}
    for item, wanted in offers:
        if should_stop():
            break
        report.offered += 1
        contact, encounter = _context(store, item)
        results = []
        for impl in impls:
            if impl.plugin_name in wanted:
                kwargs = {
                    "item": item,
                    "contact": contact,
                    "encounter": encounter,
                    "config": config,
                    "now": now,
                    "batch": batches[impl.plugin_name],
                }
                result = caller.call(impl, kwargs)
                results.append(result)
                _note_health(health, result, now)
                if result.error:
                    log.warning(
                        "plugin %s could not deliver %s: %s", result.plugin, item.id, result.error
                    )
                    report.failures.append((item.id, result.plugin, result.error))
                elif result.delivered:
                    log.info("plugin %s delivered %s", result.plugin, item.id)
        if _record(store, item.id, results, now, config):
            report.delivered.append(item.id)
        report.receipts += sum(1 for r in results if r.delivered)


def _snapshot(
    store: Store,
    config: Config,
    pm: pluggy.PluginManager,
    now: datetime,
    caller: PluginCaller,
    health: dict[str, dict[str, Any]],
    should_stop: Callable[[], bool],
) -> None:
    impls = list(reversed(pm.hook.queue_snapshot.get_hookimpls()))
    if not impls or should_stop():
        return
    with store.read() as view:
        kwargs = {
            "items": repository.queue(view),
            "contacts": {c.id: c for c in repository.contacts(view)},
            "encounters": {e.id: e for e in repository.encounters(view)},
            "config": config,
            "now": now,
        }
    for impl in impls:
        result = caller.call(impl, kwargs)
        _note_health(health, result, now)
        if result.error:
            log.warning(
                "plugin %s could not update its copy of the queue: %s", result.plugin, result.error
            )


def _mark_due(store: Store, items: list[QueueItem]) -> None:
    if not items:
        return
    with store.transaction() as tx:
        for item in items:
            current = repository.queue_item(tx, item.id)
            if current is not None and current.state == "pending":
                repository.save(tx, "queue", replace(current, state="due"))


def _context(store: Store, item: QueueItem) -> tuple[Any, Encounter | None]:
    with store.read() as view:
        contact = repository.contact(view, item.contact_id)
        record = view.get("encounters", item.encounter_id) if item.encounter_id else None
    return contact, Encounter.from_record(record) if record else None


def _record(
    store: Store, item_id: str, results: list[CallResult], now: datetime, config: Config
) -> bool:
    """Merge one item's results into its current record; return whether it became delivered."""
    receipts = {r.plugin: r.receipt for r in results if r.delivered}
    errors = [f"{r.plugin}: {r.error}" for r in results if r.error]
    if not receipts and not errors:
        return False
    with store.transaction() as tx:
        current = repository.queue_item(tx, item_id)
        if current is None:
            return False  # removed meanwhile; nothing to record against
        changes: dict[str, Any] = {"deliveries": {**current.deliveries, **receipts}}
        became = False
        if receipts and current.state in OPEN_QUEUE_STATES:
            changes.update(state="delivered", delivered_at=now)
            became = True
        if errors:
            attempts = current.attempts + 1
            changes.update(
                attempts=attempts,
                last_error="; ".join(errors),
                retry_after=now + retry_delay(attempts, config),
            )
        else:
            changes.update(attempts=0, last_error="", retry_after=None)
        repository.save(tx, "queue", replace(current, **changes))
    return became


def _note_health(health: dict[str, dict[str, Any]], result: CallResult, now: datetime) -> None:
    entry = health.setdefault(result.plugin, {"delivered": 0, "failed": 0})
    if result.error:
        entry["failed"] += 1
        entry["last_error"] = result.error
        entry["last_error_at"] = to_iso(now)
    elif result.delivered:
        entry["delivered"] += 1
        entry["last_success_at"] = to_iso(now)


def _save_health(store: Store, round_health: dict[str, dict[str, Any]]) -> None:
    with store.transaction() as tx:
        doc = tx.get("meta", PLUGIN_HEALTH_ID) or {"id": PLUGIN_HEALTH_ID, "plugins": {}}
        plugins = dict(doc.get("plugins", {}))
        for name, entry in round_health.items():
            old = dict(plugins.get(name, {}))
            old["delivered"] = int(old.get("delivered", 0)) + entry["delivered"]
            if entry["failed"]:
                old["failures"] = int(old.get("failures", 0)) + entry["failed"]
                old["last_error"] = entry["last_error"]
                old["last_error_at"] = entry["last_error_at"]
            else:
                old["failures"] = 0  # consecutive failures: a success clears the alarm
            if "last_success_at" in entry:
                old["last_success_at"] = entry["last_success_at"]
            plugins[name] = old
        tx.put("meta", {**doc, "plugins": plugins})


def plugin_health(store: Store) -> dict[str, Any]:
    """Given the store, return the plugin-health document (``{"plugins": {NAME: {...}}}``)."""
    with store.read() as view:
        return view.get("meta", PLUGIN_HEALTH_ID) or {"plugins": {}}


__all__ = [
    "REDELIVERY_WINDOW",
    "CallResult",
    "DeliveryReport",
    "PluginCaller",
    "deliver_due",
    "needs_delivery",
    "plugin_health",
    "retry_delay",
]
