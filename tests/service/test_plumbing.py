"""The daemon's plumbing: the store lock, sd_notify, secret redaction, the service files."""

from __future__ import annotations

import logging
import os
import plistlib
import socket
import sys
from pathlib import Path

import pytest

from mendcrm.daemon.lock import DaemonLock, DaemonRunningError, running_daemon_pid
from mendcrm.daemon.redaction import RedactingFilter, redact, remember_secret
from mendcrm.daemon.sdnotify import sd_notify
from mendcrm.service import (
    daemon_argv,
    install,
    launchd_plist,
    systemd_unit,
    systemd_unit_path,
    uninstall,
)


def test_one_lock_per_store(tmp_path: Path) -> None:
    store = tmp_path / "data" / "store.json"
    assert running_daemon_pid(store) is None
    first = DaemonLock(store)
    first.acquire()
    assert running_daemon_pid(store) == os.getpid()
    with pytest.raises(DaemonRunningError, match=rf"already running .*\(pid {os.getpid()}\)"):
        DaemonLock(store).acquire()
    first.release()
    assert running_daemon_pid(store) is None
    again = DaemonLock(store)
    again.acquire()
    again.release()
    assert oct((tmp_path / "data" / "store.json.daemon.lock").stat().st_mode & 0o777) == "0o600"


def test_sd_notify_sends_a_datagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sd_notify("READY=1") is False  # no NOTIFY_SOCKET: nothing to do
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert sd_notify("READY=1")
        assert server.recv(100) == b"READY=1"


def test_remembered_secrets_never_reach_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    sentinel = "Sentinel-Pa55-9f3b"
    remember_secret(sentinel, username="ana")
    logger = logging.getLogger("mendcrm.test.redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="mendcrm.test.redaction"):
        logger.debug("login with %s", sentinel)
        try:
            raise ValueError(f"server said no to {sentinel}")
        except ValueError:
            logger.debug("failed", exc_info=True)
    assert sentinel not in caplog.text and "***" in caplog.text
    import base64

    token = base64.b64encode(f"ana:{sentinel}".encode()).decode()
    assert redact(f"Authorization: Basic {token}") == "Authorization: Basic ***"


def test_systemd_unit_content() -> None:
    argv = ["/opt/mend crm/bin/mendcrm", "--config", "/home/a/100%/config.toml", "daemon"]
    unit = systemd_unit(argv)
    lines = unit.splitlines()
    assert "Type=notify" in lines and "Restart=on-failure" in lines
    assert "WantedBy=default.target" in lines
    assert (
        'ExecStart="/opt/mend crm/bin/mendcrm" --config /home/a/100%%/config.toml daemon' in lines
    )
    assert "ExecReload=/bin/kill -HUP $MAINPID" in lines


def test_daemon_argv_uses_this_installation(tmp_path: Path) -> None:
    argv = daemon_argv(Path("relative.toml"))
    assert Path(argv[0]).is_absolute()
    assert Path(argv[0]).parent == Path(sys.executable).absolute().parent
    assert argv[-3:] == ["--config", str(Path("relative.toml").absolute()), "daemon"]
    assert daemon_argv(None)[-1] == "daemon" and "--config" not in daemon_argv(None)


def test_launchd_plist_content(tmp_path: Path) -> None:
    plist = plistlib.loads(launchd_plist(["/x/mendcrm", "daemon"], tmp_path / "log").encode())
    assert plist["ProgramArguments"] == ["/x/mendcrm", "daemon"]
    assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["RunAtLoad"] is True


def test_install_and_uninstall_write_and_remove_the_unit(isolated_env: Path) -> None:
    service, existed = install(Path("/etc/mendcrm.toml"), platform="linux")
    assert not existed and service.path == systemd_unit_path()
    assert service.path.is_relative_to(isolated_env)
    assert "--config /etc/mendcrm.toml daemon" in service.path.read_text()
    assert any("enable --now mendcrm.service" in step for step in service.next_steps)
    _, existed = install(None, platform="linux")
    assert existed
    wants = service.path.parent / "default.target.wants"
    wants.mkdir()
    (wants / "mendcrm.service").symlink_to(service.path)
    path, removed, _ = uninstall(platform="linux")
    assert removed and not path.exists() and not (wants / "mendcrm.service").is_symlink()
    assert uninstall(platform="linux")[1] is False


def test_install_on_macos_writes_a_launch_agent(isolated_env: Path) -> None:
    service, _ = install(None, platform="darwin")
    assert service.path == isolated_env / "Library" / "LaunchAgents" / "mendcrm.daemon.plist"
    assert plistlib.loads(service.path.read_bytes())["Label"] == "mendcrm.daemon"


def test_install_writes_the_unit_0600_and_leaves_nothing_behind_on_failure(
    isolated_env: Path,
) -> None:
    path = systemd_unit_path()
    path.parent.mkdir(parents=True)
    path.write_text("[Unit]\n")
    path.chmod(0o644)
    _, existed = install(None, platform="linux")
    assert existed and "ExecStart=" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600  # the user's own service manager reads it
    path.unlink()
    path.mkdir()  # the final rename cannot replace a folder: the write fails half-way
    with pytest.raises(OSError):
        install(None, platform="linux")
    assert [p.name for p in path.parent.iterdir()] == [path.name]
