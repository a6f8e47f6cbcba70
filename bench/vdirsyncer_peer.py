"""vdirsyncer as a peer: mirroring the same calendar to a folder, configured as its docs show.

One pair: a ``caldav`` storage on the server root (vdirsyncer discovers the calendar) and a
``filesystem`` storage (one .ics per event, the vdir khal reads), ``collections = ["from a"]``.
``vdirsyncer discover`` runs once (measured apart), then ``vdirsyncer sync`` is the first
mirror, and a second ``sync`` with nothing changed is the no-change run. Each is its own process,
with its own config and status folder in a temporary directory, so nothing of the user's leaks
in. The windowed variant sets ``start_date``/``end_date`` to MendCRM's window: vdirsyncer then
asks the server for that time range only (calendar-query), the fairest match for MendCRM's task.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime
from pathlib import Path

from bench.measure import Run, child_env, measure
from bench.servers import BenchServer


def vdirsyncer_executable() -> str:
    """Return the vdirsyncer command installed beside this interpreter (the bench extra)."""
    beside = Path(sys.executable).with_name("vdirsyncer")
    found = str(beside) if beside.exists() else shutil.which("vdirsyncer")
    if not found:
        raise RuntimeError("vdirsyncer is not installed: pip install -e '.[bench]'")
    return found


def write_config(
    folder: Path,
    server: BenchServer,
    username: str,
    password: str,
    window: tuple[datetime, datetime] | None = None,
) -> Path:
    """Write a vdirsyncer config (and its folders) under ``folder``; return the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "calendars").mkdir(exist_ok=True)
    time_range = ""
    if window is not None:
        start, end = window

        def expression(value: datetime) -> str:
            # vdirsyncer evaluates these as Python expressions with datetime in scope.
            return (
                f"datetime({value.year}, {value.month}, {value.day}, {value.hour}, {value.minute})"
            )

        time_range = f'start_date = "{expression(start)}"\nend_date = "{expression(end)}"\n'
    text = f"""[general]
status_path = "{folder / "status"}/"

[pair bench]
a = "bench_remote"
b = "bench_local"
collections = ["from a"]

[storage bench_remote]
type = "caldav"
url = "{server.url}"
username = "{username}"
password = "{password}"
{time_range}
[storage bench_local]
type = "filesystem"
path = "{folder / "calendars"}/"
fileext = ".ics"
"""
    config = folder / "config"
    config.write_text(text)
    return config


def vdirsyncer_runs(
    server: BenchServer,
    folder: Path,
    username: str,
    password: str,
    window: tuple[datetime, datetime] | None = None,
) -> tuple[Run, Run, Run, int]:
    """Discover, mirror, and sync again unchanged in a fresh folder; return the three runs and
    the number of .ics files mirrored."""
    if folder.exists():
        shutil.rmtree(folder)
    config = write_config(folder, server, username, password, window)
    command = [vdirsyncer_executable(), "--verbosity", "WARNING", "--config", str(config)]
    env = child_env({"HOME": str(folder)})
    # "y": create the local collection when discover asks.
    discover = measure(server, [*command, "discover"], env=env, stdin="y\n" * 4, cwd=folder)
    first = measure(server, [*command, "sync"], env=env, cwd=folder)
    again = measure(server, [*command, "sync"], env=env, cwd=folder)
    mirrored = sum(1 for _ in (folder / "calendars").rglob("*.ics"))
    return discover, first, again, mirrored


__all__ = ["vdirsyncer_executable", "vdirsyncer_runs", "write_config"]
