"""The daemon's loop: a first pass, then sync and delivery on a timetable, sleeping in between.

:class:`Daemon` knows nothing about processes, signals or plugins: it is given the config, the
store, a clock, and two callables — ``sync(config, sources)`` runs one sync pass over the named
sources only (the others are in back-off) and ``deliver(config)`` one delivery round — plus,
optionally, ``reload()`` to re-read the config and ``rest()``, called before each sleep (the
real daemon hands memory back there). The real process wires these up in
:mod:`mendcrm.daemon.runner`; tests pass fakes and a FrozenClock and step through hours of
timetable without sleeping.

Nothing a job raises stops the loop: the error is logged and recorded in the health document, and
a failing source is backed off (:mod:`mendcrm.daemon.backoff`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from mendcrm.clock import Clock
from mendcrm.config.model import Config
from mendcrm.daemon.backoff import SourceBackoff
from mendcrm.daemon.health import update_health
from mendcrm.daemon.redaction import redact
from mendcrm.daemon.scheduling import ClockScheduler
from mendcrm.errors import MendError
from mendcrm.model import to_iso
from mendcrm.plugins import one_line
from mendcrm.store import Store

log = logging.getLogger("mendcrm.daemon")

RETRY_CHECK_SECONDS = 60
"""How often the daemon looks for a backed-off source whose wait is over."""


class SyncSummary(Protocol):
    """What the daemon needs from a sync pass's summary."""

    @property
    def failed_sources(self) -> Collection[str]: ...
    @property
    def errors(self) -> Mapping[str, str]: ...
    @property
    def warnings(self) -> Sequence[str]: ...


class DeliveryOutcome(Protocol):
    delivered: list[str]


SyncFn = Callable[[Config, list[str]], SyncSummary]
DeliverFn = Callable[[Config], DeliveryOutcome]
ReloadFn = Callable[[], Config]


def source_names(config: Config) -> list[str]:
    """Given the config, return the name of every calendar source (``account:X``, ``feed:Y``)."""
    return [f"account:{a.name}" for a in config.accounts] + [f"feed:{f.name}" for f in config.feeds]


class Daemon:
    """The timetable and its jobs. Call :meth:`run`; stop it with :meth:`request_stop`."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock,
        sync: SyncFn,
        deliver: DeliverFn,
        reload: ReloadFn | None = None,
        rest: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._sync = sync
        self._deliver = deliver
        self._reload = reload
        self._rest = rest
        self.scheduler = ClockScheduler(clock)
        self.backoff = SourceBackoff(timedelta(minutes=config.daemon.max_backoff_minutes))
        self.stop_requested = False
        self.reload_requested = False
        self.sync_requested = False
        self.delivered_total = 0
        self.passes = 0

    # -- control (safe to call from a signal handler: they only set flags) --

    def request_stop(self) -> None:
        self.stop_requested = True

    def request_reload(self) -> None:
        self.reload_requested = True

    def request_sync(self) -> None:
        """Sync now (SIGUSR1), as the timetable's sync job would; the timetable stays."""
        self.sync_requested = True

    # -- the loop --

    def run(self, *, until: datetime | None = None) -> None:
        """Run the first pass, then the timetable until a stop is requested (or ``until``)."""
        started = self.clock.now()
        self._health(
            {
                "pid": os.getpid(),
                "started_at": to_iso(started),
                "state": "running",
                "stopped_at": None,
                "items_delivered_since_start": 0,
            }
        )
        log.info(
            "daemon started: sync every %d min, delivery every %d s",
            self.config.sync.interval_minutes,
            self.config.daemon.deliver_interval_seconds,
        )
        try:
            self.sync_job()
            if not self.stop_requested:
                self.deliver_job()
            self._schedule()
            while not self.stop_requested:
                if self.reload_requested:
                    self._do_reload()
                if self.sync_requested:
                    self.sync_requested = False
                    self.sync_job()
                    continue
                now = self.clock.now()
                if until is not None and now >= until:
                    break
                self.scheduler.run_pending()
                if self.stop_requested or self.reload_requested or self.sync_requested:
                    continue
                wait = self.scheduler.idle_seconds or 0.0
                if until is not None:
                    wait = min(wait, (until - self.clock.now()).total_seconds())
                if wait > 0:
                    if self._rest is not None:
                        self._rest()  # e.g. hand memory back before a long sleep
                    self.clock.sleep(wait)
        finally:
            self._health({"state": "stopped", "stopped_at": to_iso(self.clock.now())}, quiet=True)
            log.info("daemon stopped")

    def _schedule(self) -> None:
        self.scheduler.clear()
        self.scheduler.every(self.config.sync.interval_minutes).minutes.do(self.sync_job).tag(
            "sync"
        )
        self.scheduler.every(RETRY_CHECK_SECONDS).seconds.do(self.retry_job).tag("retry")
        self.scheduler.every(self.config.daemon.deliver_interval_seconds).seconds.do(
            self.deliver_job
        ).tag("deliver")
        self._health(self._next_runs())

    def _next_runs(self) -> dict[str, Any]:
        fields = {"sync": "next_sync_at", "deliver": "next_delivery_at"}
        nxt = {field: self.scheduler.next_run_of(tag) for tag, field in fields.items()}
        return {field: to_iso(when) if when else None for field, when in nxt.items()}

    def _do_reload(self) -> None:
        self.reload_requested = False
        if self._reload is None:
            return
        try:
            new = self._reload()
        except MendError as exc:
            message = redact(str(exc))
            log.error("config reload failed, keeping the running config: %s", message)
            self._health(
                {"last_error": f"reload: {message}", "last_error_at": to_iso(self.clock.now())},
                quiet=True,
            )
            return
        except Exception as exc:
            log.error(
                "config reload failed, keeping the running config: %s",
                redact(f"{type(exc).__name__}: {one_line(str(exc))}"),
            )
            return
        self.config = new
        self.backoff.cap = timedelta(minutes=new.daemon.max_backoff_minutes)
        self.backoff.forget_except(source_names(new))
        self._schedule()
        self._health({"reloaded_at": to_iso(self.clock.now())}, quiet=True)
        log.info("config reloaded")

    # -- jobs --

    def sync_job(self) -> None:
        """Sync every source whose back-off allows it now."""
        self._sync_sources(retries_only=False)

    def retry_job(self) -> None:
        """Sync the sources whose back-off has run out (and new ones) between regular syncs."""
        self._sync_sources(retries_only=True)

    def _sync_sources(self, *, retries_only: bool) -> None:
        now = self.clock.now()
        sources = self.backoff.due(source_names(self.config), now, retries_only=retries_only)
        if not sources:
            return
        log.debug("syncing %s", ", ".join(sources))
        changes: dict[str, Any] = {"last_sync_at": to_iso(now)}
        try:
            summary = self._sync(self.config, sources)
        except MendError as exc:
            self._fail_all(sources, now, redact(str(exc)), changes)
        except Exception as exc:
            log.debug("sync pass crashed", exc_info=True)
            self._fail_all(
                sources, now, redact(f"{type(exc).__name__}: {one_line(str(exc))}"), changes
            )
        else:
            self.passes += 1
            changes["passes_since_start"] = self.passes
            for warning in summary.warnings:
                log.warning("%s", redact(one_line(warning)))
            for source in sources:
                if source in summary.failed_sources:
                    error = redact(one_line(summary.errors.get(source, "sync failed")))
                    state = self.backoff.failed(source, now, error)
                    log.warning(
                        "sync of %s failed (%d in a row, next try %s): %s",
                        source,
                        state.failures,
                        to_iso(state.next_attempt) if state.next_attempt else "-",
                        error,
                    )
                    changes["last_error"] = f"{source}: {error}"
                    changes["last_error_at"] = to_iso(now)
                else:
                    self.backoff.succeeded(source, now)
            if not summary.failed_sources:
                changes["last_successful_sync_at"] = to_iso(now)
        changes["sources"] = {s: st.to_dict() for s, st in self.backoff.states.items()}
        changes.update(self._next_runs())
        self._health(changes)

    def _fail_all(
        self, sources: list[str], now: datetime, error: str, changes: dict[str, Any]
    ) -> None:
        log.error("sync pass failed: %s", error)
        for source in sources:
            self.backoff.failed(source, now, error)
        changes["last_error"] = f"sync: {error}"
        changes["last_error_at"] = to_iso(now)

    def deliver_job(self) -> None:
        """Deliver due queue items through the plugins."""
        now = self.clock.now()
        changes: dict[str, Any] = {"last_delivery_at": to_iso(now)}
        try:
            report = self._deliver(self.config)
        except Exception as exc:
            error = redact(f"{type(exc).__name__}: {one_line(str(exc))}")
            log.error("delivery round failed: %s", error)
            changes.update(last_error=f"delivery: {error}", last_error_at=to_iso(now))
        else:
            if report.delivered:
                self.delivered_total += len(report.delivered)
                log.info("delivered %d item(s)", len(report.delivered))
                changes["items_delivered_since_start"] = self.delivered_total
                changes["items_delivered"] = self._stored_total() + len(report.delivered)
        changes.update(self._next_runs())
        self._health(changes)

    # -- health --

    def _stored_total(self) -> int:
        try:
            with self.store.read() as view:
                doc = view.get("meta", "health") or {}
            return int(doc.get("items_delivered", 0))
        except Exception:
            return 0

    def _health(self, changes: dict[str, Any], *, quiet: bool = False) -> None:
        changes = {**changes, "updated_at": to_iso(self.clock.now())}
        try:
            update_health(self.store, changes)
        except Exception as exc:
            if not quiet:
                log.error("could not record health: %s", redact(one_line(str(exc))))


__all__ = [
    "RETRY_CHECK_SECONDS",
    "Daemon",
    "DeliverFn",
    "ReloadFn",
    "SyncFn",
    "source_names",
]
