"""The real daemon process: lock, logging, signals, plugins, the pipeline, systemd notification.

:func:`run_daemon` is what ``mendcrm daemon`` calls. It takes the store's lock (or refuses to
start), builds the plugin manager, wires the real sync pass and delivery round into
:class:`~mendcrm.daemon.loop.Daemon`, tells systemd it is ready, and runs until SIGTERM/SIGINT.
SIGHUP re-reads the config: a config that does not load (or a plugin that rejects its settings)
is reported and the running one kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy

from mendcrm.config.model import AccountConfig, Config
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
    config = load()
    runtime = _Runtime(config)
    lock = DaemonLock(store_path)
    lock.acquire()
    store = Store(store_path)
    clock = SignalClock()
    daemon: Daemon

    def check_stop(*args: Any, **kwargs: Any) -> None:
        # Given as the sync pass's progress callback: a stop request abandons the pass at the
        # next step; the open transaction is discarded, so the store stays consistent.
        if daemon.stop_requested:
            raise StopNow()

    def sync(cfg: Config, sources: list[str]) -> Any:
        # Imported on first use: the CalDAV stack is heavy, and a daemon with no sources never
        # needs it.
        run_pass = sync_pass
        if run_pass is None:
            from mendcrm import pipeline

            run_pass = pipeline.sync_pass
        return run_pass(
            cfg,
            store,
            clock=clock,
            plugin_manager=runtime.pm,
            password_for=remembering_password,
            progress=check_stop,
            only=set(sources),
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

    daemon = Daemon(config, store, clock=clock, sync=sync, deliver=deliver, reload=reload)
    allow_requests()
    install_handlers(request_stop, daemon.request_reload, lambda: daemon.stop_requested)
    sd_notify("READY=1\nSTATUS=running")
    try:
        serve_page(config)
        daemon.run()
    except StopNow:
        log.info("stop requested again: abandoned the current step")
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


__all__ = ["remembering_password", "run_daemon"]
