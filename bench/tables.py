"""Plain-text tables for the terminal and the README: a title, aligned columns, notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Table:
    """One scenario's table. Cells are already formatted strings; numbers align right."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append(cells)

    def render(self) -> str:
        """Return the table as aligned text (first column left, the others right)."""
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))

        def line(cells: Sequence[str]) -> str:
            parts = [
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(cells)
            ]
            return "  ".join(parts).rstrip()

        out = [self.title, line(self.columns), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in self.rows]
        out += [f"  {note}" for note in self.notes]
        return "\n".join(out)


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 10:
        return f"{value:.3f}"
    return f"{value:.1f}"


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:.1f}"


def size(value: float) -> str:
    """Bytes as KiB or MiB, whichever reads better."""
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / 1024 / 1024:.2f} MiB"


def ratio(value: float | None, base: float | None) -> str:
    """Return ``value / base`` as ``N.N×`` (how many times MendCRM's figure the peer's is)."""
    if value is None or base is None or base <= 0:
        return "—"
    r = value / base
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


__all__ = ["Table", "mib", "ratio", "seconds", "size"]
