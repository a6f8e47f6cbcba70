"""The performance issue's targets, judged from one run: each with its figure and MET/MISSED.

Every scenario hands its figures to :class:`Targets` as soon as it has them; at the end the
table lists every target of the issue, in the issue's order, whether this run measured it or
not. Times are ratios within this run (the machine's speed moves between runs); memory is
absolute. A ratio measured at another size than the target names (``--quick``) is shown with
its size and judged all the same, so a quick run still says which way a change went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.tables import Table

NOT_MEASURED = "not measured in this run"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """One row of the issue's table: what is measured and the bound it must stay within."""

    key: str
    what: str
    bound: float
    unit: str  # "×" (a ratio within the run), "MiB" or "s"
    wanted: str


TARGETS = (
    Target("first-floor", "first pass op ÷ raw REPORT op (floor)", 1.8, "×", "≤ 1.8× on both"),
    Target("first-vdir", "first pass wall ÷ vdirsyncer window-only wall", 0.8, "×",
           "≤ 0.8× on both"),
    Target("again-floor", "no-change pass op ÷ raw no-change REPORT op", 1.3, "×", "≤ 1.3×"),
    Target("one-change", "one event changed, pass op ÷ raw no-change REPORT op", 2.0, "×",
           "≤ 2×"),
    Target("first-rss", "peak RSS of a first pass", 60.0, "MiB", "≤ 60 MiB"),
    Target("daemon-rss", "daemon at rest, RSS after 20 passes (page off and on)", 60.0, "MiB",
           "≤ 60 MiB, flat"),
    Target("reads", "upcoming, contact list, prep on the full store ÷ mendcrm --help", 2.5,
           "×", "≤ 2.5× each"),
    Target("detection", "detection, 10,000 occurrences × 2,000 contacts", 0.3, "s",
           "≤ 0.3 s"),
    Target("scale", "first pass op ÷ floor op at the largest size", 1.8, "×", "≤ 1.8×"),
)  # fmt: skip


@dataclass
class Targets:
    """Figures for the issue's targets, gathered from the scenarios of one run."""

    results: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    """Per target key: (label naming where it was measured, figure) pairs."""
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, label: str, value: float | None) -> None:
        if value is not None:
            self.results.setdefault(key, []).append((label, value))

    def add_sync(self, figures: Any) -> None:
        """Given a sync scenario's figures (:class:`bench.sync_scenario.SyncFigures`)."""
        where = f"{figures.kind}, {figures.events:,} events"
        ours, floor = figures.first.get("mendcrm"), figures.first.get("floor")
        if ours is not None and floor is not None and ours.op and floor.op:
            self.add("first-floor", where, ours.op / floor.op)
        window = figures.first.get("vdirsyncer-window")
        if ours is not None and window is not None and window.wall:
            self.add("first-vdir", where, ours.wall / window.wall)
        again, again_floor = figures.again.get("mendcrm"), figures.again.get("floor")
        if again is not None and again_floor is not None and again.op and again_floor.op:
            self.add("again-floor", where, again.op / again_floor.op)
        changed = getattr(figures, "changed", {}).get("mendcrm")
        if changed is not None and again_floor is not None and changed.op and again_floor.op:
            self.add("one-change", where, changed.op / again_floor.op)
        if ours is not None:
            self.add("first-rss", where, ours.peak_rss / MIB)

    def add_scale(self, results: list[Any]) -> None:
        """Given the scale scenario's figures, smallest size first."""
        if results:
            largest = results[-1]
            ours, floor = largest.first.get("mendcrm"), largest.first.get("floor")
            if ours is not None and floor is not None and ours.op and floor.op:
                self.add("scale", f"radicale, {largest.events:,} events", ours.op / floor.op)

    def add_detection(self, figures: dict[str, Any]) -> None:
        size = f"{figures['occurrences']:,} × {figures['contacts']:,}"
        if (figures["occurrences"], figures["contacts"]) == (10_000, 2_000):
            self.add("detection", "build + detect", figures["both_s"])
        else:
            self.notes.append(
                f"detection ran at {size} only ({figures['both_s']:.3f} s build + detect): "
                "the target's size is the full run's"
            )

    def add_startup(self, walls: dict[tuple[str, str], float]) -> None:
        """Given the start-up scenario's walls by (command, store)."""
        base = walls.get(("mendcrm --help", "full"))
        if not base:
            return
        for (label, store), wall in sorted(walls.items()):
            if store == "full" and label != "mendcrm --help":
                self.add("reads", label.removeprefix("mendcrm "), wall / base)

    def add_daemon(self, runs: list[Any]) -> None:
        """Given the daemon scenario's runs (page off, page on)."""
        for f in runs:
            page = "page on" if f.page else "page off"
            self.add("daemon-rss", f"{page}, after {f.passes} passes", f.rss_after_passes / MIB)
            self.add("daemon-rss", f"{page}, end of rest", f.rss_end / MIB)
            growth = (f.rss_end - f.rss_start) / MIB
            if abs(growth) >= 2:
                self.notes.append(f"daemon ({page}): RSS moved {growth:+.1f} MiB at rest: not flat")

    def table(self) -> Table:
        """Return every target of the issue with this run's figures and MET/MISSED."""
        table = Table(
            "Targets of the performance issue (ratios within this run; memory absolute)",
            ["target", "wanted", "this run", "verdict"],
        )
        for target in TARGETS:
            found = self.results.get(target.key)
            if not found:
                table.add(target.what, target.wanted, NOT_MEASURED, "—")
                continue
            figures = "; ".join(f"{_figure(v, target.unit)} ({label})" for label, v in found)
            met = all(v <= target.bound for _, v in found)
            table.add(target.what, target.wanted, figures, "MET" if met else "MISSED")
        table.notes.extend(self.notes)
        table.notes.append(
            "Each row is judged on every figure it lists (both servers, every read command)."
        )
        return table


def _figure(value: float, unit: str) -> str:
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    return f"{value:.3f} s"


__all__ = ["NOT_MEASURED", "TARGETS", "Target", "Targets"]
