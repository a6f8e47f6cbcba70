"""`mendcrm demo` runs the real pipeline end to end and leaves nothing behind."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.cli import SCRIPT


def _processes_mentioning(text: str) -> list[int]:
    """Return the pids whose command line mentions ``text`` (an orphaned server would)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_demo_report_and_no_process_left(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [str(SCRIPT), "demo"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # The encounters, each with why it matched.
    assert "Upcoming encounters" in out
    assert "Dana Whitfield [cordial] — Quarterly partnership review (meeting)" in out
    # Dana is an attendee of the sample review by address: the strongest rule, confidence 1.
    assert (
        "why: invited to the event (attendee dana.whitfield@northwind.example), confidence 1.00"
        in out
    )
    assert "Martin Keller [strained] — DataOps Europe Summit (conference)" in out
    assert "Priya Raman [rebuilding] — Platform sync with Priya Raman (meeting)" in out
    # The sample programme beside the calendar: he speaks in one session (0.8, the name; the
    # export lists no affiliation), and the conference event carries that evidence. "Martina
    # Keller" speaks too and is not him.
    assert "Martin Keller [strained] — Open data partnerships that last (conference)" in out
    assert (
        'why: speaks there, by the conference programme (speaker "Martin Keller" at DataOps '
        "Europe Summit" in out
    )
    assert "Martina" not in out
    assert "Not encounters:" in out and "an event you declined" in out, out
    # One full prep note, the follow-ups, and where things were written.
    assert "A prep note, in full" in out and "## How to approach it" in out
    assert "Follow-ups queued" in out
    assert out.rstrip().endswith("mendcrm demo --keep (it prints the link)")
    assert "calendar annotations (demo): http://127.0.0.1:" in out
    assert "markdown notes:" in out and "Prep - Dana Whitfield.md" in out
    assert "Traceback" not in proc.stderr
    # Nothing left behind: no server process, no temporary folder.
    assert _processes_mentioning(str(tmp_path)) == []
    assert not list(tmp_path.glob("mendcrm-demo-*"))


_GENEROUS = 120  # seconds: a bound on waiting for an event, never a measure of speed


@dataclass
class KeptDemo:
    """A running `mendcrm demo --keep`, once it has said where its server and config are."""

    proc: subprocess.Popen[str]
    url: str
    config: Path
    page: str = ""


def _start_kept_demo(tmp_path: Path, *, ignore_sigint: bool = False) -> KeptDemo:
    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell does for a background job

    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [str(SCRIPT), "demo", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        preexec_fn=ignore if ignore_sigint else None,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Press Ctrl-C" in line:
            break
    text = "".join(lines)
    server = re.search(r"The server keeps running: (http://127\.0\.0\.1:\d+/)", text)
    config = re.search(r"Config: (\S+config\.toml)", text)
    assert server and config, text + proc.stderr.read() if proc.stderr else text
    page = re.search(
        r"The page \(open it in your browser\): (http://127\.0\.0\.1:\d+/\?token=\S+)", text
    )
    return KeptDemo(proc, server.group(1), Path(config.group(1)), page.group(1) if page else "")


def _gone(tmp_path: Path) -> bool:
    return _processes_mentioning(str(tmp_path)) == []


@pytest.fixture
def kept_demo_cleanup() -> Iterator[list[KeptDemo]]:
    started: list[KeptDemo] = []
    yield started
    for demo in started:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("stop_with", "ignore_sigint"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["ctrl-c", "sigterm", "ctrl-c-in-a-background-job"],
)
def test_demo_keep_serves_until_stopped(
    tmp_path: Path,
    kept_demo_cleanup: list[KeptDemo],
    stop_with: signal.Signals,
    ignore_sigint: bool,
) -> None:
    demo = _start_kept_demo(tmp_path, ignore_sigint=ignore_sigint)
    kept_demo_cleanup.append(demo)
    # The server really is there for a calendar client.
    with urllib.request.urlopen(demo.url, timeout=10) as answer:
        assert answer.status == 200
    # So is the page, on the demo's store: its link opens Today with the sample encounters.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(demo.page, timeout=10) as answer:
        assert answer.status == 200 and "token" not in answer.url
        assert "Encounters in the next 14 days" in answer.read().decode()
    demo.proc.send_signal(stop_with)
    # Waits for the process to end (the event); the bound only keeps a hang from blocking CI.
    assert demo.proc.wait(timeout=_GENEROUS) == 0
    assert demo.proc.stdout is not None
    assert f"stopping the demo server ({stop_with.name})" in demo.proc.stdout.read()
    assert _gone(tmp_path)
    assert not list(tmp_path.glob("mendcrm-demo-*"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_demo_config_syncs_from_a_second_shell(
    tmp_path: Path, kept_demo_cleanup: list[KeptDemo]
) -> None:
    demo = _start_kept_demo(tmp_path)
    kept_demo_cleanup.append(demo)
    assert (demo.config.parent / "password").stat().st_mode & 0o777 == 0o600
    other = subprocess.run(
        [str(SCRIPT), "--config", str(demo.config), "sync"],
        capture_output=True,
        text=True,
        timeout=_GENEROUS,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert other.returncode == 0, other.stderr
    assert "demo" in other.stdout and "Traceback" not in other.stderr
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.proc.wait(timeout=_GENEROUS) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_demo_takes_its_server_with_it(
    tmp_path: Path, kept_demo_cleanup: list[KeptDemo]
) -> None:
    demo = _start_kept_demo(tmp_path)
    kept_demo_cleanup.append(demo)
    children = _processes_mentioning(str(tmp_path))
    assert children  # the Radicale child names the demo folder on its command line
    # A pidfd becomes readable when its process exits: wait on that event, not on the clock.
    watches = [os.pidfd_open(pid) for pid in children if pid != demo.proc.pid]
    demo.proc.kill()
    demo.proc.wait(timeout=_GENEROUS)
    try:
        for fd in watches:
            ready, _, _ = select.select([fd], [], [], _GENEROUS)
            assert ready, "the demo's Radicale outlived a SIGKILLed mendcrm demo"
    finally:
        for fd in watches:
            os.close(fd)
    assert _gone(tmp_path), "the demo's Radicale outlived a SIGKILLed mendcrm demo"
    with pytest.raises(OSError):
        urllib.request.urlopen(demo.url, timeout=5)
