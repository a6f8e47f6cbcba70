"""MendCRM's benchmarks, measured against the tools a user would otherwise use, in one run.

    python -m bench [--quick] [--only SCENARIO ...] [--seed N] [--period SECONDS] [--save FILE]

Scenarios (all by default, in this order):

- ``sync``: a 5,000-event calendar on Radicale and on Xandikos; MendCRM's first pass and
  no-change re-sync against vdirsyncer, a caldav-library script and the raw REPORT;
- ``scale``: the same on Radicale at 500, 5,000 and 20,000 events;
- ``detection``: 10,000 occurrences × 2,000 flagged contacts against a naive scan;
- ``store``: MendCRM's store against stock TinyDB; ``upcoming --json``; batched writes;
- ``startup``: the command line's start-up and what it imports;
- ``daemon``: the daemon's 20 passes, then at rest for ``--period`` seconds (default 300),
  page off and on.

``--quick`` shrinks every scenario (1,000 events, 60 s at rest) to finish in a few minutes.
Data comes from ``--seed``; servers run on loopback in temporary folders. Progress goes to
stderr, tables to stdout (and to ``--save``).
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.tables import Table
from bench.targets import Targets

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("sync", "scale", "detection", "store", "startup", "daemon")


@dataclass(frozen=True)
class Plan:
    """How big each scenario is: the full run or ``--quick``."""

    sync_events: int
    sync_repeats: int
    scale_sizes: tuple[int, ...]
    scale_repeats: int
    caldav_script_max_events: int
    detection: tuple[int, int, int]
    """occurrences, contacts, occurrences the naive peer scans."""
    store_batches: tuple[int, ...]
    startup_runs: int
    daemon_events: int
    period: float


FULL = Plan(
    sync_events=5_000,
    sync_repeats=3,
    scale_sizes=(500, 5_000, 20_000),
    scale_repeats=2,
    caldav_script_max_events=5_000,
    detection=(10_000, 2_000, 300),
    store_batches=(1_000, 5_000, 20_000),
    startup_runs=9,
    daemon_events=5_000,
    period=300.0,
)
QUICK = Plan(
    sync_events=1_000,
    sync_repeats=2,
    scale_sizes=(200, 1_000, 2_000),
    scale_repeats=1,
    caldav_script_max_events=1_000,
    detection=(5_000, 1_000, 100),
    store_batches=(1_000, 5_000),
    startup_runs=5,
    daemon_events=1_000,
    period=60.0,
)


def machine() -> list[str]:
    """Return lines describing this machine and this run."""
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kib = int(info.readline().split()[1])
            memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}){memory}; "
        f"{platform.system()} {platform.release()}",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
        f"load average at start (1, 5, 15 min): {load}",
    ]


def run(args: argparse.Namespace, emit: Callable[[str], None]) -> Targets:
    """Run the chosen scenarios, emitting each table as soon as it is measured; return the
    issue's targets with this run's figures."""
    targets = Targets()
    plan = QUICK if args.quick else FULL
    period = args.period if args.period is not None else plan.period
    chosen = args.only or list(SCENARIOS)
    seed = args.seed

    def log(message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def show(table: Table) -> None:
        emit(table.render() + "\n")

    # Bytecode up to date first, so no contender's first run pays for compiling the sources.
    compileall.compile_dir(REPO_ROOT / "mendcrm", quiet=1)
    compileall.compile_dir(REPO_ROOT / "bench", quiet=1)
    with tempfile.TemporaryDirectory(prefix="mendcrm-bench-") as tmp:
        folder = Path(tmp)
        if "sync" in chosen or "scale" in chosen:
            from bench.sync_scenario import PEERS, SyncFigures, run_sync, scale_table, sync_table

            sync_results: dict[tuple[str, int], SyncFigures] = {}

            def sync_at(kind: str, events: int, repeats: int) -> SyncFigures:
                key = (kind, events)
                if key not in sync_results:
                    limits = {"caldav": 1 if events >= 5_000 else repeats}
                    peers = [
                        p for p in PEERS if p != "caldav" or events <= plan.caldav_script_max_events
                    ]
                    sync_results[key] = run_sync(
                        kind, events, seed=seed, folder=folder, repeats=repeats, peers=peers,
                        peer_repeats=limits, log=log,
                    )  # fmt: skip
                return sync_results[key]

            if "sync" in chosen:
                for kind in ("radicale", "xandikos"):
                    figures = sync_at(kind, plan.sync_events, plan.sync_repeats)
                    targets.add_sync(figures)
                    show(sync_table(figures))
            if "scale" in chosen:
                results = [sync_at("radicale", n, plan.scale_repeats) for n in plan.scale_sizes]
                targets.add_scale(results)
                show(scale_table(results))
        if "detection" in chosen:
            from bench.detection_scenario import detection_table, run_detection

            log("detection")
            occurrences, contacts, sample = plan.detection
            found = run_detection(occurrences, contacts, sample, seed)
            targets.add_detection(found)
            show(detection_table(found))
        if "store" in chosen:
            from bench.store_scenario import run_store, store_tables

            figures = run_store(
                seed=seed, folder=folder, repeats=3, batch_sizes=plan.store_batches, log=log
            )
            for table in store_tables(figures):
                show(table)
        if "startup" in chosen:
            from bench.startup_scenario import run_startup, startup_table

            started = run_startup(seed=seed, folder=folder, runs=plan.startup_runs, log=log)
            targets.add_startup(started.walls)
            show(startup_table(started))
        if "daemon" in chosen:
            from bench.daemon_scenario import daemon_table, run_daemon

            daemons = [
                run_daemon(
                    events=plan.daemon_events, seed=seed, folder=folder, period=period,
                    page=page, log=log,
                )
                for page in (False, True)
            ]  # fmt: skip
            targets.add_daemon(daemons)
            show(daemon_table(daemons))
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 60 s at rest")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="SCENARIO",
                        help=f"run only these: {', '.join(SCENARIOS)}")  # fmt: skip
    parser.add_argument("--seed", type=int, default=20260501, help="seed of all generated data")
    parser.add_argument(
        "--period", type=float, default=None,
        help="seconds the daemon is watched at rest (default 300, quick 60)",
    )  # fmt: skip
    parser.add_argument("--save", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    lines: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    emit("\n".join(["MendCRM bench" + (" (--quick)" if args.quick else ""), *machine()]) + "\n")
    targets = run(args, emit)
    emit(targets.table().render() + "\n")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    emit(f"total {time.perf_counter() - started:.0f} s; load average at the end: {load}")
    if args.save is not None:
        args.save.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
