"""``[ui] enabled = true``: the daemon serves the page in a thread, keeps its own signals
(SIGHUP reloads and moves the page, SIGTERM stops both cleanly) and never logs the token."""

from __future__ import annotations

import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.plugins.smtp_server import free_port
from tests.service.daemon_process import SCRIPT, DaemonProcess, env_for, poll
from tests.web.conftest import seed

pytestmark = pytest.mark.slow


def _config(path: Path, store: Path, port: int, enabled: bool = True) -> Path:
    path.write_text(
        f'[store]\npath = "{store}"\n\n'
        "[daemon]\ndeliver_interval_seconds = 1\n\n"
        f"[ui]\nenabled = {'true' if enabled else 'false'}\nport = {port}\n"
    )
    return path


def _answer(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_the_daemon_serves_the_page_and_keeps_its_signals(tmp_path: Path) -> None:
    store = tmp_path / "store.json"
    seed(store)
    port, moved = free_port(), free_port()
    config = _config(tmp_path / "config.toml", store, port)
    daemon = DaemonProcess(tmp_path, config)
    try:
        daemon.wait_for_note("READY=1")
        poll(lambda: _answer(f"http://127.0.0.1:{port}/") == 401, what="the page")
        url = subprocess.run(
            [str(SCRIPT), "ui", "--url"],
            capture_output=True,
            text=True,
            env=env_for(config),
            timeout=60,
            check=True,
        ).stdout.strip()
        token = (tmp_path / "ui-token").read_text().strip()
        assert url == f"http://127.0.0.1:{port}/?token={token}"
        # The token opens it (303 to the page, then 200 with the cookie).
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(url, timeout=5) as answer:
            assert answer.status == 200 and answer.url == f"http://127.0.0.1:{port}/"
        # SIGHUP: still the daemon's; the new config moves the page.
        _config(config, store, moved)
        daemon.signal(signal.SIGHUP)
        poll(lambda: "config reloaded" in daemon.stderr, what="reload")
        poll(lambda: _answer(f"http://127.0.0.1:{moved}/") == 401, what="the moved page")
        assert _answer(f"http://127.0.0.1:{port}/") == 0  # the old address is closed
        assert daemon.proc.poll() is None
        # SIGTERM: the daemon stops cleanly, the page with it.
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
        assert _answer(f"http://127.0.0.1:{moved}/") == 0
        assert token not in daemon.stderr
        assert f"serving the page on 127.0.0.1:{port}" in daemon.stderr
    finally:
        daemon.close()
