"""Scenario 6: the daemon at rest, with the 5,000-event calendar configured.

``mendcrm daemon`` runs as a user runs it (the console script, a config file, the password from
``password_command``) against the counting Radicale. Once its first pass is in the store (the
health record names the next sync), it is sampled once a second for the rest period: resident
memory (``VmRSS``) and CPU time (``utime + stime``) from ``/proc``. The sync interval is set to
its minimum, one minute (the default is 15), so the rest period includes no-change re-syncs and
delivery rounds: an upper bound on what the daemon costs when nothing happens.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.generate import generate_calendar
from bench.measure import run_process
from bench.servers import PASSWORD, USER, running
from bench.store_scenario import cli_env, mendcrm_command
from bench.sync_scenario import contacts_for, write_base_store
from bench.tables import Table, mib, seconds

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 600.0


@dataclass
class DaemonFigures:
    events: int
    period: float
    first_pass_seconds: float
    peak_rss_first_pass: int
    rss_start: int
    rss_end: int
    rss_max: int
    cpu_seconds: float
    requests: int
    syncs: int
    baseline_rss: int


def _rss_and_cpu(pid: int) -> tuple[int, int, float]:
    """Return (VmRSS bytes, VmHWM bytes, CPU seconds) of a live process, from /proc."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return rss, hwm, cpu


def write_config(home: Path, server_url: str) -> Path:
    """Write the daemon's config: one account, its password from a command, no annotations."""
    password_command = [sys.executable, "-c", f"print({PASSWORD!r})"]
    listed = ", ".join(f'"{part}"' for part in password_command)
    config = home / "config.toml"
    config.write_text(
        f"""[me]
emails = ["me@example.com"]
timezone = "Europe/Berlin"

[store]
path = "{home / "data" / "store.json"}"

[sync]
interval_minutes = 1

[[accounts]]
name = "bench"
url = "{server_url}"
username = "{USER}"
password_command = [{listed}]
annotate = "off"
"""
    )
    return config


def run_daemon(
    *,
    events: int,
    seed: int,
    folder: Path,
    period: float,
    log: Callable[[str], None] = lambda _: None,
) -> DaemonFigures:
    """Start the daemon on a calendar of ``events``, let it rest ``period`` seconds, measure."""
    from mendcrm.daemon.health import read_health
    from mendcrm.store import Store

    objects = generate_calendar(events, seed=seed)
    work = folder / "daemon"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    store_path = work / "data" / "store.json"
    write_base_store(store_path, contacts_for(objects, seed))
    _, baseline_rss, _ = run_process([sys.executable, "-c", "pass"])
    log(f"daemon: {events:,} events, loading the server")
    with running("radicale", work, objects) as server:
        write_config(work, server.url)
        env = cli_env(work)
        began = time.perf_counter()
        process = subprocess.Popen(
            [mendcrm_command(), "daemon"],
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(work / "daemon.log", "wb"),  # noqa: SIM115 - closed with the process
        )
        try:
            store = Store(store_path)
            while not read_health(store).get("next_sync_at"):
                if process.poll() is not None:
                    raise RuntimeError(f"the daemon exited; see {work / 'daemon.log'}")
                if time.perf_counter() - began > START_TIMEOUT:
                    raise RuntimeError("the daemon's first pass did not finish in time")
                time.sleep(0.2)
            first_pass = time.perf_counter() - began
            log(f"daemon: first pass done in {first_pass:.1f} s; resting {period:.0f} s")
            server.reset()
            rss0, hwm0, cpu0 = _rss_and_cpu(process.pid)
            samples = [rss0]
            rest_began = time.perf_counter()
            while time.perf_counter() - rest_began < period:
                time.sleep(1.0)
                samples.append(_rss_and_cpu(process.pid)[0])
            rss1, _, cpu1 = _rss_and_cpu(process.pid)
            usage = server.usage()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
    return DaemonFigures(
        events=events,
        period=period,
        first_pass_seconds=first_pass,
        peak_rss_first_pass=hwm0,
        rss_start=rss0,
        rss_end=rss1,
        rss_max=max([*samples, rss1]),
        cpu_seconds=cpu1 - cpu0,
        requests=usage.requests,
        syncs=usage.methods.get("PROPFIND", 0),
        baseline_rss=baseline_rss,
    )


def daemon_table(f: DaemonFigures) -> Table:
    table = Table(
        f"The daemon at rest: {f.events:,}-event calendar, sync every minute, "
        f"{f.period:.0f} s sampled once a second",
        ["figure", "value"],
    )
    table.add("start to first pass committed, s", seconds(f.first_pass_seconds))
    table.add("peak RSS during start and first pass, MiB", mib(f.peak_rss_first_pass))
    table.add("RSS at rest: start / max / end, MiB",
              f"{mib(f.rss_start)} / {mib(f.rss_max)} / {mib(f.rss_end)}")  # fmt: skip
    table.add("CPU used at rest, s", seconds(f.cpu_seconds))
    table.add("CPU at rest, % of one core", f"{100 * f.cpu_seconds / f.period:.2f}")
    table.add("requests to the server at rest", f"{f.requests} ({f.syncs} no-change syncs)")
    table.add("the bare interpreter (python -c pass), peak RSS MiB", mib(f.baseline_rss))
    growth = f.rss_end - f.rss_start
    table.notes.append(
        f"RSS grew {growth / 1024 / 1024:+.1f} MiB over the rest period "
        f"({'flat' if abs(growth) < 2 * 1024 * 1024 else 'check for a leak'}). No peer runs as "
        "a service (vdirsyncer and the caldav script are run by hand or by cron), so the"
        " figures stand alone; the bare interpreter gives the scale."
    )
    return table


__all__ = ["DaemonFigures", "daemon_table", "run_daemon"]
