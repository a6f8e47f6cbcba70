"""SIGTERM stops the real daemon promptly even while a server drips its answer."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from mendcrm.store import Store
from tests.fixtures.hostile_http import HostileServer
from tests.service.daemon_process import DaemonProcess, status_json

pytestmark = pytest.mark.slow


@pytest.fixture
def drip() -> Iterator[HostileServer]:
    server = HostileServer(kind="drip", content_type="text/calendar").start()
    yield server
    server.stop()


@pytest.mark.timeout(180)
def test_sigterm_mid_request_stops_the_daemon_with_a_clean_store(
    tmp_path: Path, drip: HostileServer
) -> None:
    store = tmp_path / "store.json"
    config = tmp_path / "config.toml"
    # The default deadline (300 s) and idle timeout (30 s): neither ends a 2 s drip in time,
    # so only the stop request can.
    config.write_text(
        f'[store]\npath = "{store}"\n\n[[feeds]]\nname = "slow"\nurl = "{drip.url("/cal.ics")}"\n'
    )
    daemon = DaemonProcess(tmp_path, config)
    try:
        daemon.wait_for_note("READY=1", timeout=60)
        # The first pass is now inside its GET: the server has the request and is dripping.
        assert drip.received.wait(60), "the daemon never sent its request"
        daemon.signal(signal.SIGTERM)
        # A few seconds are enough (the wait is polled every 0.2 s); 20 leaves room for load.
        assert daemon.wait(timeout=20) == 0
        assert "Traceback" not in daemon.stderr
        daemon.wait_for_note("STOPPING=1")
    finally:
        daemon.close()
    final = status_json(config)
    assert final["daemon"]["running"] is False
    assert final["health"]["state"] == "stopped"
    # The abandoned pass wrote nothing: no feed state, and the store reads back whole.
    with Store(store).read() as view:
        assert [r for r in view.all("sync_state") if "feed:" in str(r)] == []
