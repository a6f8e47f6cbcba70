"""Scenario 5: start-up of the command line, and what it imports.

``mendcrm --help``, ``mendcrm upcoming`` and ``mendcrm contact list`` run as a user runs them
(the console script, a fresh process each time), on an empty store and on the full store of
scenario 4; the median of several runs is reported. A run under ``python -X importtime`` gives
the import time and the list of modules: commands that read the store must not load the
network or calendar stack. The bare interpreter and ``vdirsyncer --help`` give the scale.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import run_process
from bench.store_scenario import cli_env, mendcrm_command, store_records, write_mendcrm
from bench.tables import Table, mib, ratio, seconds
from bench.vdirsyncer_peer import vdirsyncer_executable

COMMANDS: dict[str, list[str]] = {
    "mendcrm --help": ["--help"],
    "mendcrm upcoming": ["upcoming"],
    "mendcrm contact list": ["contact", "list"],
    "mendcrm prep": ["prep"],
}
HEAVY = ("caldav", "niquests", "requests", "urllib3", "lxml", "icalendar", "recurring_ical_events")
"""The network and calendar stack: a command that only reads the store must not import these."""
TARGET_SECONDS = 0.3


@dataclass
class StartupFigures:
    runs: int
    walls: dict[tuple[str, str], float] = field(default_factory=dict)
    """(command, store) → median wall seconds."""
    rss: dict[tuple[str, str], int] = field(default_factory=dict)
    import_ms: dict[str, float] = field(default_factory=dict)
    heavy: dict[str, list[str]] = field(default_factory=dict)
    peers: dict[str, tuple[float, int]] = field(default_factory=dict)


def import_profile(argv: list[str], env: dict[str, str]) -> tuple[float, list[str]]:
    """Run a Python command under ``-X importtime``; return (total import ms, modules)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    total, modules = 0, []
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)", line)
        if found:
            total += int(found.group(1))
            modules.append(found.group(3))
    return total / 1000, modules


def run_startup(
    *, seed: int, folder: Path, runs: int, log: Callable[[str], None] = lambda _: None
) -> StartupFigures:
    """Measure every command on an empty and on a full store; return the figures."""
    from datetime import UTC, datetime

    figures = StartupFigures(runs=runs)
    empty, full = folder / "startup-empty", folder / "startup-full"
    for home in (empty, full):
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(f'[store]\npath = "{home / "data" / "store.json"}"\n')
    log("start-up: writing the full store")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    write_mendcrm(full / "data" / "store.json", store_records(seed, today))
    script = mendcrm_command()
    for label, args in COMMANDS.items():
        log(f"start-up: {label}")
        for store, home in (("empty", empty), ("full", full)):
            env = cli_env(home)
            samples = [run_process([script, *args], env=env) for _ in range(runs)]
            figures.walls[(label, store)] = statistics.median(s[0] for s in samples)
            figures.rss[(label, store)] = int(statistics.median(s[1] for s in samples))
        import_ms, modules = import_profile([script, *args], cli_env(empty))
        figures.import_ms[label] = import_ms
        figures.heavy[label] = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    peers = {
        "python -c pass (the interpreter alone)": [sys.executable, "-c", "pass"],
        "vdirsyncer --help": [vdirsyncer_executable(), "--help"],
    }
    for label, argv in peers.items():
        samples = [run_process(argv, env=cli_env(empty)) for _ in range(runs)]
        figures.peers[label] = (
            statistics.median(s[0] for s in samples),
            int(statistics.median(s[1] for s in samples)),
        )
    return figures


def startup_table(figures: StartupFigures) -> Table:
    table = Table(
        f"Start-up: the command as a user runs it, median of {figures.runs} runs",
        ["command", "wall s, empty store", "wall s, full store", "÷ vdirsyncer --help",
         "peak RSS MiB", "import ms", "network/calendar stack imported"],
    )  # fmt: skip
    vdir = figures.peers.get("vdirsyncer --help", (0.0, 0))[0]
    for label in COMMANDS:
        empty, full = figures.walls[(label, "empty")], figures.walls[(label, "full")]
        table.add(
            label,
            seconds(empty),
            seconds(full),
            ratio(empty, vdir),
            mib(figures.rss[(label, "full")]),
            f"{figures.import_ms[label]:.0f}",
            ", ".join(figures.heavy[label]) or "none",
        )
    for label, (wall, rss) in figures.peers.items():
        table.add(label, seconds(wall), "", "", mib(rss), "", "")
    reads = [label for label in COMMANDS if label != "mendcrm --help"]
    for store in ("empty", "full"):
        worst = max(figures.walls[(label, store)] for label in [*reads, "mendcrm --help"])
        verdict = "MET" if worst < TARGET_SECONDS else f"MISSED by {worst - TARGET_SECONDS:.3f} s"
        table.notes.append(
            f"target < {TARGET_SECONDS} s for read commands, {store} store: {verdict} "
            f"(slowest {seconds(worst)} s)"
        )
    stack = [label for label in COMMANDS if figures.heavy[label]]
    table.notes.append(
        "no network/calendar stack in these commands: "
        + ("MET" if not stack else "MISSED (" + ", ".join(stack) + ")")
        + f" (checked: {', '.join(HEAVY)})"
    )
    table.notes.append(
        "The full store is scenario 4's (2,000 contacts, 10,000 interactions, 2,500 encounters,"
        " 5,000 queue items, 8 MB); `contact list` prints all 2,000 contacts."
    )
    return table


__all__ = ["StartupFigures", "import_profile", "run_startup", "startup_table"]
