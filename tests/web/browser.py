"""A real browser for the page's tests: Debian's ``chromium`` driven by Playwright.

Nothing is downloaded: Playwright launches the system's ``/usr/bin/chromium`` (``.ci/run``
installs it with apt). Without it the browser tests are skipped with one line saying how to
install it, except under ``CI=true``, where a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("MENDCRM_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",  # as root (CI) chromium refuses to start sandboxed
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW = "install it with: apt-get install -y chromium (and pip install playwright)"


def browser_missing() -> str:
    """Return why the browser tests cannot run here, or '' if they can."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no chromium at {CHROMIUM}: {HOW}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"playwright is not installed: {HOW}"
    return ""


def need_browser() -> None:
    """Skip (or, under CI=true, fail) when there is no browser."""
    why = browser_missing()
    if not why:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs the browser tests: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One chromium for the whole session; each test opens its own context (cookies apart)."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """``mendcrm ui`` running in its own process on a store; ``url`` carries the token."""

    process: subprocess.Popen[str]
    url: str
    port: int
    store: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(
    config: Path, store: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> Server:
    """Start ``mendcrm ui --no-open [args]`` on a free port; return once it printed its URL (it
    does so once it listens). Raise AssertionError with its output if it does not."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mendcrm",
            "--config",
            str(config),
            "ui",
            "--no-open",
            "--port",
            str(port),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("MendCRM page: "):
        process.kill()
        raise AssertionError(f"mendcrm ui did not start: {line}{process.stdout.read()}")
    # The line is printed once the server listens (mendcrm.web.command): reading it is the event.
    url = line.split(": ", 1)[1].strip()
    return Server(process, url, port, store)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


__all__ = ["ARGS", "CHROMIUM", "Server", "browser", "need_browser", "start_server", "stop_server"]
