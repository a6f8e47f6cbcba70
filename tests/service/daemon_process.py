"""Running the real ``mendcrm daemon`` as a child process, readiness via its sd_notify socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "mendcrm"


def env_for(config: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MENDCRM_CONFIG"] = str(config)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.pop("JOURNAL_STREAM", None)
    env.update(extra)
    return env


class DaemonProcess:
    """One ``mendcrm daemon`` child with its own notify socket; stderr goes to a file."""

    def __init__(self, folder: Path, config: Path, *args: str) -> None:
        self.socket_path = folder / f"n{time.monotonic_ns() % 10**9}.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.socket_path))
        self.log_path = folder / f"{self.socket_path.stem}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [str(SCRIPT), *args, "daemon"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=env_for(config, NOTIFY_SOCKET=str(self.socket_path)),
        )
        self.notes: list[str] = []

    def wait_for_note(self, wanted: str, timeout: float = 30) -> None:
        self.sock.settimeout(timeout)
        while wanted not in self.notes:
            self.notes.extend(self.sock.recv(4096).decode().splitlines())

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    @property
    def stderr(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.sock.close()
        self.log.close()


def poll(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def status_json(config: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(SCRIPT), "status", "--json"],
        capture_output=True,
        text=True,
        env=env_for(config),
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout))


__all__ = ["DaemonProcess", "env_for", "poll", "signal", "status_json"]
