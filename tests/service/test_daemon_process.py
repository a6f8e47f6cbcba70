"""The real ``mendcrm daemon`` process: one per store, signals, restart after kill -9, secrets."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mendcrm import repository
from mendcrm.model import QueueItem
from mendcrm.store import Store
from tests.plugins.conftest import EXAMPLES, sample_item, seed
from tests.plugins.smtp_server import Inbox, free_port
from tests.service.daemon_process import SCRIPT, DaemonProcess, env_for, poll, status_json

pytestmark = pytest.mark.slow


def real_now() -> datetime:
    """The daemon under test runs on the real clock, so its data must be current."""
    return datetime.now(UTC)


def write_config(path: Path, store: Path, *, extra: str = "") -> Path:
    path.write_text(
        f'[store]\npath = "{store}"\n\n'
        "[daemon]\ndeliver_interval_seconds = 1\nmax_backoff_minutes = 1\n\n"
        f'[plugins]\ntimeout_seconds = 5\npaths = ["{EXAMPLES}"]\n' + extra
    )
    return path


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.close()


def test_one_daemon_per_store_reload_and_clean_stop(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    store = tmp_path / "store.json"
    journal = tmp_path / "journal.txt"
    config = write_config(tmp_path / "config.toml", store)
    first = DaemonProcess(tmp_path, config)
    daemons.append(first)
    first.wait_for_note("READY=1")
    status = status_json(config)
    assert status["daemon"] == {"running": True, "pid": first.proc.pid}

    second = subprocess.run(
        [str(SCRIPT), "daemon"],
        capture_output=True,
        text=True,
        env=env_for(config),
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "another mendcrm daemon is already running" in second.stderr
    assert f"pid {first.proc.pid}" in second.stderr and "Traceback" not in second.stderr

    # An invalid new config is reported and the running one kept.
    config.write_text(config.read_text() + "\n[sync]\ninterval_minutes = -3\n")
    first.signal(signal.SIGHUP)
    poll(lambda: "config reload failed" in first.stderr, what="reload failure")
    assert first.proc.poll() is None
    assert "interval_minutes" in first.stderr

    # A valid one takes effect: the example plugin now delivers a due item.
    write_config(
        config,
        store,
        extra=f'enabled = ["journal_line"]\n\n[plugins.journal_line]\nfile = "{journal}"\n',
    )
    seed(Store(store), sample_item(1, due=real_now()), now=real_now())
    first.signal(signal.SIGHUP)
    poll(lambda: journal.exists() and "Ana Lima" in journal.read_text(), what="delivery")
    assert "config reloaded" in first.stderr

    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    first.wait_for_note("STOPPING=1")
    final = status_json(config)
    assert final["daemon"]["running"] is False
    assert final["health"]["state"] == "stopped" and final["health"]["items_delivered"] == 1


def test_restart_right_after_kill_9(tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    config = write_config(tmp_path / "config.toml", tmp_path / "store.json")
    first = DaemonProcess(tmp_path, config)
    daemons.append(first)
    first.wait_for_note("READY=1")
    first.signal(signal.SIGKILL)
    first.wait()
    second = DaemonProcess(tmp_path, config)
    daemons.append(second)
    second.wait_for_note("READY=1")
    assert status_json(config)["daemon"]["pid"] == second.proc.pid
    second.signal(signal.SIGINT)
    assert second.wait() == 0


def test_no_secret_in_any_log_line(tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    """A sentinel SMTP password through a whole --verbose daemon run: failures, then success."""
    sentinel = "SENTINEL-pw-4f7c2e91"
    keyring.set_password("mendcrm", "smtp:me@example.org@127.0.0.1", sentinel)
    keyring.set_password("mendcrm", "work", sentinel)
    attempts: list[str] = []

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        attempts.append(mechanism)
        ok = isinstance(data, LoginPassword) and data.password.decode() == sentinel
        # refuse the first login (smtplib tries PLAIN, then LOGIN, in one login() call)
        success = ok and len(attempts) > 2
        return AuthResult(success=success, handled=False)

    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, auth_require_tls=False, authenticator=authenticate
    )
    controller.start()
    try:
        store = tmp_path / "store.json"
        seed(Store(store), sample_item(1, due=real_now()), now=real_now())
        config = write_config(
            tmp_path / "config.toml",
            store,
            extra=(
                'enabled = ["email"]\n\n'
                f'[plugins.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "plain"\n'
                'username = "me@example.org"\nfrom = "me@example.org"\nto = ["me@example.org"]\n\n'
                # A calendar account whose password is the sentinel too, on a port nobody serves.
                f'[[accounts]]\nname = "work"\nurl = "http://127.0.0.1:{free_port()}/dav/"\n'
                'username = "ana"\n'
            ),
        )
        daemon = DaemonProcess(tmp_path, config, "--verbose")
        daemons.append(daemon)
        daemon.wait_for_note("READY=1")

        def delivered() -> bool:
            with Store(store).read() as view:
                item = repository.queue_item(view, "q1")
            return item is not None and item.state == "delivered"

        try:
            poll(delivered, what="delivery after a refused login")
        except AssertionError:
            raise AssertionError(daemon.stderr[-3000:]) from None
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        controller.stop()
    log = daemon.stderr
    assert "could not deliver q1" in log  # the refused login was logged …
    assert "plugin email delivered q1" in log
    assert sentinel not in log  # … and the password in no line, at debug level too
    with Store(store).read() as view:
        item = QueueItem.from_record(view.get("queue", "q1") or {})
        assert sentinel not in str(view.all("meta"))
    assert sentinel not in item.last_error
    assert len(inbox.messages) == 1
