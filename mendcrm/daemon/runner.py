"""The real daemon process: lock, logging, signals, plugins, the pipeline, systemd notification.

:func:`run_daemon` is what ``mendcrm daemon`` calls. It takes the store's lock (or refuses to
start), builds the plugin manager, wires the real sync pass and delivery round into
:class:`~mendcrm.daemon.loop.Daemon`, tells systemd it is ready, and runs until SIGTERM/SIGINT.
SIGHUP re-reads the config: a config that does not load (or a plugin that rejects its settings)
is reported and the running one kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy

from mendcrm.clock import Clock
from mendcrm.config.model import AccountConfig, Config
from mendcrm.daemon.child_pass import (
    DEFERRED_HOOKS,
    STOP_GRACE_SECONDS,
    ChildResult,
    Waiter,
    as_plan,
    has_hooks,
    remember_all,
    result_of,
    run_in_child,
    without_hooks,
)
from mendcrm.daemon.heap import one_heap, release_memory
from mendcrm.daemon.lock import DaemonLock
from mendcrm.daemon.loop import Daemon
from mendcrm.daemon.redaction import install_redaction, remember_secret
from mendcrm.daemon.sdnotify import sd_notify
from mendcrm.daemon.signals import SignalClock, StopNow, install_handlers
from mendcrm.delivery import DeliveryReport, PluginCaller, deliver_due
from mendcrm.errors import ConfigError
from mendcrm.plugins import make_plugin_manager
from mendcrm.sources.request_bounds import Stopped, allow_requests, stop_requests
from mendcrm.store import Store

log = logging.getLogger("mendcrm.daemon")


class _Runtime:
    """The parts rebuilt on reload: the config, its plugin manager and the plugin caller."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pm: pluggy.PluginManager = make_plugin_manager(config)
        self.caller = PluginCaller(config.plugins.timeout_seconds)


def remembering_password(account: AccountConfig) -> str:
    """Given an account, return its password (keyring or command), masked in all logs from now."""
    from mendcrm.secrets import get_password

    password = get_password(account)
    remember_secret(password, username=account.username)
    return password


def child_sync(
    store: Store,
    clock: Clock,
    plugins: Callable[[], pluggy.PluginManager],
    *,
    wait: Waiter,
    stopping: Callable[[], bool],
    sync_pass: Callable[..., Any] | None = None,
    grace: float = STOP_GRACE_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> Callable[[Config, list[str]], ChildResult]:
    """Given the daemon's store, clock and current plugin manager, return its ``sync`` job:
    one pass over the given sources in a forked child (:mod:`mendcrm.daemon.child_pass`).

    The plugins' encounter hooks run here, in the daemon, after the child committed; their
    prep-note sections are rendered in the child. ``wait`` and ``stopping`` are as for
    :func:`run_in_child`; ``sync_pass`` defaults to :func:`mendcrm.pipeline.sync_pass`; a pass
    may run ``[daemon] max_pass_minutes`` by ``monotonic`` before it is stopped.
    """

    def sync(config: Config, sources: list[str]) -> ChildResult:
        pm = plugins()
        hooks_here = has_hooks(pm, DEFERRED_HOOKS)
        result = run_in_child(
            lambda stopping_here: _pass_in_child(
                config,
                store.path,
                clock,
                pm,
                sources,
                stopping_here,
                sync_pass,
                keep_plan=hooks_here,
            ),
            wait=wait,
            stopping=stopping,
            grace=grace,
            limit=config.daemon.max_pass_minutes * 60.0,
            monotonic=monotonic,
        )
        remember_all(result.secrets)
        report = result.report
        log.info(
            "pass: %d occurrence(s), %d encounter(s) detected, %d queue change(s) in %.1f s",
            report.get("occurrences", 0),
            report.get("encounters", {}).get("detected", 0),
            report.get("queue_changes", 0),
            report.get("seconds", 0.0),
        )
        if hooks_here:
            from mendcrm.pipeline import announce

            announce(pm, store, as_plan(result), config)
        return result

    return sync


def _pass_in_child(
    config: Config,
    store_path: Path,
    clock: Clock,
    pm: pluggy.PluginManager,
    sources: list[str],
    stopping: Callable[[], bool],
    sync_pass: Callable[..., Any] | None,
    *,
    keep_plan: bool,
) -> ChildResult:
    """In the pass's child: run one pass over ``sources`` and return what the daemon needs."""
    fetched: list[tuple[str, str]] = []

    def password_for(account: AccountConfig) -> str:
        password = remembering_password(account)
        fetched.append((password, account.username))
        return password

    def check_stop(*args: Any, **kwargs: Any) -> None:
        # The pass's progress callback: a stop request abandons the pass at the next step;
        # the open transaction is discarded, so the store stays consistent.
        if stopping():
            raise StopNow()

    run_pass = sync_pass
    if run_pass is None:
        from mendcrm import pipeline

        run_pass = pipeline.sync_pass
    summary = run_pass(
        config,
        Store(store_path),  # its own: the parent's may be locked by another thread
        clock=clock,
        plugin_manager=without_hooks(pm, DEFERRED_HOOKS),
        password_for=password_for,
        progress=check_stop,
        only=set(sources),
    )
    result = result_of(summary, fetched)
    if not keep_plan:  # nobody in the parent listens: do not send the encounters back
        result.detected = result.withdrawn = ()
        result.changed = ()
    return result


def run_daemon(
    load: Callable[[], Config],
    store_path: Path,
    *,
    sync_pass: Callable[..., Any] | None = None,
) -> int:
    """Given a config loader and the store's path, run the daemon until stopped; return 0.

    Raise DaemonRunningError if another daemon holds the store, ConfigError/MendError if the
    config or an enabled plugin is unusable at start. ``sync_pass`` defaults to
    :func:`mendcrm.pipeline.sync_pass`.
    """
    install_redaction()
    one_heap()  # before any thread starts (the page's)
    config = load()
    runtime = _Runtime(config)
    lock = DaemonLock(store_path)
    lock.acquire()
    store = Store(store_path)
    clock = SignalClock()
    daemon: Daemon

    sync = child_sync(
        store,
        clock,
        lambda: runtime.pm,
        wait=clock.wait_for,
        stopping=lambda: daemon.stop_requested,
        sync_pass=sync_pass,
    )

    def deliver(cfg: Config) -> DeliveryReport:
        return deliver_due(
            store,
            cfg,
            runtime.pm,
            clock=clock,
            caller=runtime.caller,
            should_stop=lambda: daemon.stop_requested,
        )

    def reload() -> Config:
        new = load()
        if (new.store.path or store_path) != store_path and new.store.path is not None:
            raise ConfigError(
                f"[store] path changed to {new.store.path}; the daemon keeps {store_path}",
                hint="restart the daemon to switch stores",
            )
        fresh = _Runtime(new)
        runtime.config, runtime.pm, runtime.caller = fresh.config, fresh.pm, fresh.caller
        serve_page(new)
        return new

    def request_stop() -> None:
        # A request in flight (however slowly its server answers) ends within a fraction of a
        # second: its caller waits on it polling this flag (mendcrm.sources.request_bounds).
        daemon.request_stop()
        stop_requests()

    page: Any = None

    def serve_page(cfg: Config) -> None:
        # Imported only when asked for: a daemon without the page never loads the web stack.
        nonlocal page
        if page is None and not cfg.ui.enabled:
            return
        if page is None:
            from mendcrm.web.embedded import EmbeddedPage

            page = EmbeddedPage(store, clock, remembering_password)
        page.apply(cfg)

    daemon = Daemon(
        config,
        store,
        clock=clock,
        sync=sync,
        deliver=deliver,
        reload=reload,
        rest=lambda: release_memory(store),
    )
    allow_requests()
    install_handlers(
        request_stop, daemon.request_reload, lambda: daemon.stop_requested, daemon.request_sync
    )
    sd_notify("READY=1\nSTATUS=running")
    try:
        serve_page(config)
        daemon.run()
    except StopNow:
        log.info("stop requested: abandoned the current step")
    except Stopped:
        log.info("stop requested: abandoned the request in flight")
    finally:
        allow_requests()
        sd_notify("STOPPING=1")
        if page is not None:
            page.stop()
        lock.release()
        clock.close()
    return 0


__all__ = ["child_sync", "remembering_password", "run_daemon"]
