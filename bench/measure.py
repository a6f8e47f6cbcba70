"""Measuring one contender run: a fresh child process, its wall time and its peak memory.

Every contender, MendCRM included, runs in its own process for each measurement, so peak
resident memory is comparable (``ru_maxrss`` of that process alone, from ``wait4`` in
:mod:`bench.spawn`) and no run inherits another's caches. In-process contenders also report
``op_seconds``: the operation itself with its modules already imported, which is what a
long-running service pays each time.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.servers import BenchServer, Usage

REPO_ROOT = Path(__file__).resolve().parents[1]
SPAWN = Path(__file__).with_name("spawn.py")


class ContenderFailed(RuntimeError):
    """A contender's process exited with an error; the message carries its stderr tail."""


@dataclass(frozen=True)
class Run:
    """One measured run of one contender."""

    wall: float
    """Seconds from spawning the process to its exit (interpreter start and imports included)."""
    peak_rss: int
    """Peak resident memory of the process, in bytes."""
    op: float | None = None
    """Seconds of the operation alone, for contenders that can time themselves."""
    requests: int = 0
    bytes_down: int = 0
    bytes_up: int = 0
    server_cpu: float = 0.0
    methods: dict[str, int] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    """What the contender printed as JSON on its stdout (counts, tokens …)."""

    def with_usage(self, usage: Usage) -> Run:
        return replace(
            self,
            requests=usage.requests,
            bytes_down=usage.bytes_down,
            bytes_up=usage.bytes_up,
            server_cpu=usage.cpu_seconds,
            methods=usage.methods,
        )


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a contender: the repository importable, nothing else added."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(extra or {})}
    env.pop("PYTHONSTARTUP", None)
    return env


def run_process(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdin: str = "",
    cwd: Path | None = None,
    timeout: float = 1800.0,
) -> tuple[float, int, str]:
    """Given a command, run it to completion and return (wall seconds, peak RSS bytes, stdout);
    raise ContenderFailed if it exits non-zero or runs past ``timeout``.

    The command is started by :mod:`bench.spawn`, a small go-between, so its peak RSS is its
    own and not inherited from this (large) process; see there.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        result = Path(scratch) / "result.json"
        spawner = [sys.executable, "-S", str(SPAWN), str(result), *argv]
        process = subprocess.Popen(
            spawner,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            env=env or child_env(),
            cwd=cwd or REPO_ROOT,
            start_new_session=True,  # so a timeout can stop the command with its go-between
        )
        try:
            process.communicate(stdin.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise ContenderFailed(f"{argv[0]} ran past {timeout:.0f} s") from None
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        figures = json.loads(result.read_text()) if result.exists() else {"status": -1}
        if process.returncode != 0 or figures["status"] != 0:
            tail = err.read().decode(errors="replace").strip().splitlines()[-8:]
            raise ContenderFailed(
                f"{' '.join(argv[:4])} … exited {figures['status']}: " + " | ".join(tail)
            )
    return float(figures["wall"]), int(figures["maxrss_kb"]) * 1024, stdout


def measure(
    server: BenchServer | None,
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdin: str = "",
    cwd: Path | None = None,
) -> Run:
    """Run one contender process against ``server`` and return what it cost, on both sides.

    A contender that prints a JSON object as the last line of its stdout reports its own
    figures there; ``op_seconds`` in it becomes :attr:`Run.op`.
    """
    if server is not None:
        server.reset()
    wall, rss, stdout = run_process(argv, env=env, stdin=stdin, cwd=cwd)
    report: dict[str, Any] = {}
    lines = stdout.strip().splitlines()
    if lines and lines[-1].startswith("{"):
        report = json.loads(lines[-1])
    run = Run(wall=wall, peak_rss=rss, op=report.get("op_seconds"), report=report)
    return run.with_usage(server.usage()) if server is not None else run


def python_argv(module: str, *args: str) -> list[str]:
    """Return the command running ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def median_run(runs: Sequence[Run]) -> Run:
    """Given repeated runs, return one with the median of each figure (counts from the last)."""
    last = runs[-1]
    ops = [r.op for r in runs if r.op is not None]
    return replace(
        last,
        wall=statistics.median(r.wall for r in runs),
        peak_rss=int(statistics.median(r.peak_rss for r in runs)),
        op=statistics.median(ops) if ops else None,
        server_cpu=statistics.median(r.server_cpu for r in runs),
    )


def repeat(times: int, action: Callable[[], Run]) -> Run:
    """Run ``action`` ``times`` times and return the median run."""
    return median_run([action() for _ in range(max(1, times))])


__all__ = [
    "ContenderFailed",
    "Run",
    "child_env",
    "measure",
    "median_run",
    "python_argv",
    "repeat",
    "run_process",
]
