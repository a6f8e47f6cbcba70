"""``mendcrm daemon``, ``mendcrm status`` and ``mendcrm service install|uninstall``."""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from typing import Any

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import emit_json


@click.command()
@pass_app
def daemon(app: AppContext) -> None:
    """Run MendCRM in the foreground as a background service (sync, deliver, repeat).

    Stop it with SIGTERM or Ctrl-C; SIGHUP re-reads the config. Logs go to stderr.
    """
    from mendcrm.config import load_config
    from mendcrm.daemon.runner import run_daemon
    from mendcrm.logs import configure_logging

    # A service logs what it does at info level; --verbose adds the debug detail.
    configure_logging(app.verbose, level=logging.DEBUG if app.verbose else logging.INFO)
    code = run_daemon(lambda: load_config(app.config_option), app.store_path)
    raise SystemExit(code)


def status_data(app: AppContext) -> dict[str, Any]:
    """Given the app context, return everything ``status`` shows, as JSON-ready data."""
    from mendcrm.daemon.health import read_health
    from mendcrm.daemon.lock import running_daemon_pid
    from mendcrm.delivery import plugin_health

    pid = running_daemon_pid(app.store_path)
    health: dict[str, Any] = {}
    plugins: dict[str, Any] = {}
    removals: list[dict[str, Any]] = []
    if app.store_path.exists():
        from mendcrm.forgetting import pending_removals

        health = read_health(app.store)
        plugins = plugin_health(app.store).get("plugins", {})
        with app.store.read() as view:
            removals = [
                {"since": p.at.isoformat(), "attempts": p.attempts, "last_error": p.last_error}
                for p in pending_removals(view)
            ]
    health.pop("id", None)
    return {
        "store": str(app.store_path),
        "daemon": {
            "running": pid is not None,
            "pid": (pid or health.get("pid")) if pid is not None else None,
        },
        "health": health,
        "plugins": plugins,
        "pending_removals": removals,
    }


def _when(value: str | None, zone: tzinfo | None = None) -> str:
    """Given a stored ISO time, return it in the user's zone (``[me] timezone``), or "never"."""
    if not value:
        return "never"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for other tools.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show whether the daemon runs, its last syncs and errors, and what it delivered."""
    data = status_data(app)
    if as_json:
        emit_json(data)
        return
    health = data["health"]
    from mendcrm.render import user_zone

    zone = user_zone(app.config.me)

    def when(value: str | None) -> str:
        return _when(value, zone)

    if data["daemon"]["running"]:
        pid = data["daemon"]["pid"]
        click.echo(
            f"daemon: running{f' (pid {pid})' if pid else ''}, "
            f"since {when(health.get('started_at'))}"
        )
    else:
        stopped = health.get("stopped_at")
        click.echo("daemon: not running" + (f" (stopped {when(stopped)})" if stopped else ""))
    click.echo(f"store: {data['store']}")
    for removal in data["pending_removals"]:
        # No name: the person was forgotten; only that something of theirs is still out there.
        click.echo(
            f"a forgotten contact's traces are still being removed (since "
            f"{when(removal['since'])}, {removal['attempts']} attempts, retried every sync): "
            f"{removal['last_error'] or 'not tried yet'}"
        )
    if not health:
        click.echo("no sync has run on this store yet: try `mendcrm sync`")
        return
    click.echo(
        f"last sync: {when(health.get('last_sync_at'))}; "
        f"last fully successful: {when(health.get('last_successful_sync_at'))}"
    )
    if data["daemon"]["running"]:
        click.echo(
            f"next sync: {when(health.get('next_sync_at'))}; "
            f"next delivery: {when(health.get('next_delivery_at'))}"
        )
    click.echo(f"items delivered: {health.get('items_delivered', 0)}")
    for source, state in sorted(health.get("sources", {}).items()):
        if state.get("failures"):
            click.echo(
                f"  {source}: failing ({state['failures']} in a row, retry "
                f"{when(state.get('next_attempt_at'))}): {state.get('last_error', '')}"
            )
        else:
            click.echo(f"  {source}: ok, last success {when(state.get('last_success_at'))}")
    for name, record in sorted(data["plugins"].items()):
        if record.get("failures"):
            click.echo(f"  plugin {name}: failing: {record.get('last_error', '')}")
    if health.get("last_error"):
        click.echo(f"last error ({when(health.get('last_error_at'))}): {health['last_error']}")


@click.group()
def service() -> None:
    """Install or remove MendCRM as a user service (systemd, or launchd on macOS)."""


@service.command("install")
@pass_app
def service_install(app: AppContext) -> None:
    """Write the service file and print how to enable it."""
    from mendcrm.config import config_path
    from mendcrm.service import install

    path, chosen = config_path(app.config_option)
    written, existed = install(path if chosen else None)
    click.echo(f"{'updated' if existed else 'wrote'} {written.path}")
    click.echo("to enable and start it:")
    for step in written.next_steps:
        click.echo(f"  {step}")


@service.command("uninstall")
def service_uninstall() -> None:
    """Remove the service file (stop the service as printed)."""
    from mendcrm.service import uninstall

    path, removed, steps = uninstall()
    click.echo(f"removed {path}" if removed else f"no service file at {path}")
    click.echo("to stop a running service:")
    for step in steps:
        click.echo(f"  {step}")


def register(group: click.Group) -> None:
    """Given the ``mendcrm`` group, add ``daemon``, ``status`` and ``service`` to it."""
    for command in (daemon, status, service):
        group.add_command(command)


__all__ = ["daemon", "register", "service", "status", "status_data"]
