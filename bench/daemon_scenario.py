"""Scenario 6: the daemon at rest, with the 5,000-event calendar configured, page off and on.

``mendcrm daemon`` runs as a user runs it (the console script, a config file, the password from
``password_command``) against the counting Radicale, once with the page off and once with it on
(``[ui] enabled``, its front page loaded once after the first pass). Each pass runs in a forked
child of the daemon, so the daemon is sampled with its child every 0.1 s from ``/proc`` while
passes run: its footprint (its own RSS plus the child's private pages) and the child's own peak
(``VmHWM``). It is asked for :data:`PASSES` passes in all (SIGUSR1 syncs now; the health record
counts them); once it rests, its RSS is taken, then it is sampled once a second for the rest
period: resident memory and CPU time (``utime + stime``, ended children included). The sync
interval is its minimum, one minute (the default is 15), so the rest period includes no-change
re-syncs and delivery rounds: an upper bound on what the daemon costs when nothing happens.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench.generate import generate_calendar
from bench.measure import run_process
from bench.servers import PASSWORD, USER, running
from bench.store_scenario import cli_env, mendcrm_command
from bench.sync_scenario import contacts_for, write_base_store
from bench.tables import Table, mib, seconds

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 600.0
PASSES = 20
"""Passes the daemon runs (the first included) before the rest period."""
SETTLE_SECONDS = 2.0
"""After the last pass: time for its health write and the rest before sleeping."""


@dataclass
class DaemonFigures:
    events: int
    period: float
    page: bool
    first_pass_seconds: float
    peak_first_pass: int
    """The daemon's footprint during its first pass at its highest (its RSS plus what its
    pass child holds alone), bytes."""
    peak_child: int
    """The largest ``VmHWM`` of a pass child seen, bytes."""
    peak_parent: int
    """The daemon process's own ``VmHWM`` by the end, bytes."""
    passes: int
    rss_after_passes: int
    """The daemon's RSS once it rests after the last pass (no pass child running), bytes."""
    rss_start: int
    rss_end: int
    rss_max: int
    footprint_max: int
    """The largest footprint at rest, a pass child's private memory included, bytes."""
    cpu_seconds: float
    requests: int
    syncs: int
    baseline_rss: int
    samples: list[int] = field(default_factory=list)


def _status(pid: int) -> tuple[int, int]:
    """Return (VmRSS, VmHWM) of a live process in bytes; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rss, hwm


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            return [int(c) for c in found.read().split()]
    except FileNotFoundError:
        return []


def _private(pid: int) -> int:
    """Return the bytes a process holds alone (``Private_Clean + Private_Dirty``): what a
    forked child adds to its parent's footprint; 0 once it is gone."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def _cpu(pid: int) -> float:
    """CPU seconds of a process and of its children that ended (utime+stime+cutime+cstime)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


class Sampler:
    """Samples a daemon and its pass children: its RSS, its footprint (its RSS plus what its
    children hold alone: a forked child shares its parent's pages until it writes them), and
    the largest footprint and child ``VmHWM`` seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_total = 0
        self.peak_child = 0

    def sample(self) -> tuple[int, int]:
        """Return (the daemon's own RSS, its footprint with its children), remembering peaks."""
        own = _status(self.pid)[0]
        total = own
        for child in _children(self.pid):
            total += _private(child)
            self.peak_child = max(self.peak_child, _status(child)[1])
        self.peak_total = max(self.peak_total, total)
        return own, total

    def at_rest(self, settle: float) -> int:
        """Wait until no pass child runs for ``settle`` seconds (the daemon then has rested
        before sleeping); return the daemon's RSS."""
        while True:
            while _children(self.pid):
                self.sample()
                time.sleep(0.1)
            time.sleep(settle)
            if not _children(self.pid):
                return self.sample()[0]


def write_config(home: Path, server_url: str, *, page_port: int | None = None) -> Path:
    """Write the daemon's config: one account, its password from a command, no annotations,
    and the page on ``page_port`` if given."""
    password_command = [sys.executable, "-c", f"print({PASSWORD!r})"]
    listed = ", ".join(f'"{part}"' for part in password_command)
    ui = f"\n[ui]\nenabled = true\nport = {page_port}\n" if page_port is not None else ""
    config = home / "config.toml"
    config.write_text(
        f"""[me]
emails = ["me@example.com"]
timezone = "Europe/Berlin"

[store]
path = "{home / "data" / "store.json"}"

[sync]
interval_minutes = 1
{ui}
[[accounts]]
name = "bench"
url = "{server_url}"
username = "{USER}"
password_command = [{listed}]
annotate = "off"
"""
    )
    return config


def _reached(count: int, health: dict[str, Any]) -> bool:
    return int(health.get("passes_since_start") or 0) >= count


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _open_page(env: dict[str, str], work: Path) -> None:
    """Ask ``mendcrm ui --url`` for the page's link and load it once, as a user would."""
    url = subprocess.run(
        [mendcrm_command(), "ui", "--url"], env=env, cwd=work, capture_output=True, text=True,
        check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    # The link's token becomes a session cookie on the redirect, as in a browser.
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with browser.open(url, timeout=60) as answer:
        answer.read()


def run_daemon(
    *,
    events: int,
    seed: int,
    folder: Path,
    period: float,
    page: bool = False,
    passes: int = PASSES,
    log: Callable[[str], None] = lambda _: None,
) -> DaemonFigures:
    """Start the daemon on a calendar of ``events``, run ``passes`` passes, let it rest
    ``period`` seconds, measure."""
    from mendcrm.daemon.health import read_health
    from mendcrm.store import Store

    objects = generate_calendar(events, seed=seed)
    work = folder / ("daemon-page" if page else "daemon")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    store_path = work / "data" / "store.json"
    write_base_store(store_path, contacts_for(objects, seed))
    _, baseline_rss, _ = run_process([sys.executable, "-c", "pass"])
    label = "page on" if page else "page off"
    log(f"daemon ({label}): {events:,} events, loading the server")
    with running("radicale", work, objects) as server:
        write_config(work, server.url, page_port=_free_port() if page else None)
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
        sampler = Sampler(process.pid)
        store = Store(store_path)

        def wait_for(done: Callable[[dict[str, Any]], bool], what: str) -> None:
            deadline = time.perf_counter() + START_TIMEOUT
            while not done(read_health(store)):
                if process.poll() is not None:
                    raise RuntimeError(f"the daemon exited; see {work / 'daemon.log'}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the daemon's {what} did not finish in time")
                sampler.sample()
                time.sleep(0.1)

        try:
            wait_for(lambda h: bool(h.get("next_sync_at")), "first pass")
            first_pass = time.perf_counter() - began
            peak_first = sampler.peak_total
            sampler.peak_total = 0
            log(f"daemon ({label}): first pass done in {first_pass:.1f} s; {passes} passes")
            if page:
                # Looked at once, as a user would after the first sync; what the view leaves
                # is handed back when the daemon next rests (before its next sleep).
                _open_page(env, work)
            for count in range(2, passes + 1):
                process.send_signal(signal.SIGUSR1)
                wait_for(partial(_reached, count), "pass")
            rss_after = sampler.at_rest(SETTLE_SECONDS)
            log(f"daemon ({label}): {passes} passes done; resting {period:.0f} s")
            server.reset()
            rss0, cpu0 = sampler.sample()[0], _cpu(process.pid)
            samples = [rss0]
            footprints = [rss0]
            rest_began = time.perf_counter()
            while time.perf_counter() - rest_began < period:
                time.sleep(1.0)
                own, total = sampler.sample()
                samples.append(own)
                footprints.append(total)
            rss1, cpu1 = sampler.sample()[0], _cpu(process.pid)
            peak_parent = _status(process.pid)[1]
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
        page=page,
        first_pass_seconds=first_pass,
        peak_first_pass=peak_first,
        peak_child=sampler.peak_child,
        peak_parent=peak_parent,
        passes=passes,
        rss_after_passes=rss_after,
        rss_start=rss0,
        rss_end=rss1,
        rss_max=max([*samples, rss1]),
        footprint_max=max(footprints),
        cpu_seconds=cpu1 - cpu0,
        requests=usage.requests,
        syncs=usage.methods.get("PROPFIND", 0),
        baseline_rss=baseline_rss,
        samples=samples,
    )


def daemon_table(runs: list[DaemonFigures]) -> Table:
    """Given the daemon's runs (page off, page on), return one table with a column per run."""
    first = runs[0]
    table = Table(
        f"The daemon at rest: {first.events:,}-event calendar, sync every minute, "
        f"{first.passes} passes, then {first.period:.0f} s sampled once a second",
        ["figure", *("page on" if f.page else "page off" for f in runs)],
    )

    def row(label: str, value: Callable[[DaemonFigures], str]) -> None:
        table.add(label, *(value(f) for f in runs))

    row("start to first pass committed, s", lambda f: seconds(f.first_pass_seconds))
    row("first pass: the daemon's footprint at its peak, MiB", lambda f: mib(f.peak_first_pass))
    row("peak of a pass child (VmHWM), MiB", lambda f: mib(f.peak_child))
    row("daemon's own peak (VmHWM), MiB", lambda f: mib(f.peak_parent))
    row(f"RSS after {first.passes} passes, MiB", lambda f: mib(f.rss_after_passes))
    row("RSS at rest: start / max / end, MiB",
        lambda f: f"{mib(f.rss_start)} / {mib(f.rss_max)} / {mib(f.rss_end)}")  # fmt: skip
    row("footprint at rest, max (a pass child included), MiB", lambda f: mib(f.footprint_max))
    row("CPU used at rest, s", lambda f: seconds(f.cpu_seconds))
    row("CPU at rest, % of one core", lambda f: f"{100 * f.cpu_seconds / f.period:.2f}")
    row("requests to the server at rest", lambda f: f"{f.requests} ({f.syncs} no-change syncs)")
    row("the bare interpreter (python -c pass), peak RSS MiB", lambda f: mib(f.baseline_rss))
    for f in runs:
        growth = f.rss_end - f.rss_start
        table.notes.append(
            f"{'page on' if f.page else 'page off'}: RSS {growth / 1024 / 1024:+.1f} MiB over the "
            f"rest period ({'flat' if abs(growth) < 2 * 1024 * 1024 else 'check for a leak'})."
        )
    table.notes.append(
        "RSS is the daemon process's own, taken when no pass runs (each pass runs in a forked "
        "child that exits with it); the footprint adds what a running pass child holds alone "
        "(its private pages: it shares the rest with the daemon). No peer runs as a service "
        "(vdirsyncer and the caldav script are run by hand or by cron), so the figures stand "
        "alone; the bare interpreter gives the scale."
    )
    return table


__all__ = ["PASSES", "DaemonFigures", "daemon_table", "run_daemon"]
