"""`mendcrm demo` runs the real pipeline end to end and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
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
    assert "their e-mail on the invitation" in out or "attendee" in out
    assert "Martin Keller [strained] — DataOps Europe Summit (conference)" in out
    assert "Priya Raman [rebuilding] — Platform sync with Priya Raman (meeting)" in out
    assert "Not encounters:" in out and "an event you declined" in out, out
    # One full prep note, the follow-ups, and where things were written.
    assert "A prep note, in full" in out and "## How to approach it" in out
    assert "Follow-ups queued" in out
    assert "calendar annotations (demo): http://127.0.0.1:" in out
    assert "markdown notes:" in out and "Prep - Dana Whitfield.md" in out
    assert "Traceback" not in proc.stderr
    # Nothing left behind: no server process, no temporary folder.
    assert _processes_mentioning(str(tmp_path)) == []
    assert not list(tmp_path.glob("mendcrm-demo-*"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_demo_keep_serves_until_interrupted(tmp_path: Path) -> None:
    import re
    import signal
    import urllib.request

    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [str(SCRIPT), "demo", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(lines)
        found = re.search(
            r"The server keeps running: (http://127\.0\.0\.1:\d+/)\s+user (\S+)", text
        )
        assert found, text
        # The server really is there for a calendar client.
        with urllib.request.urlopen(found.group(1), timeout=10) as answer:
            assert answer.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _processes_mentioning(str(tmp_path)) == []
    assert not list(tmp_path.glob("mendcrm-demo-*"))
