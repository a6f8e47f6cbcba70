"""How commands print: JSON for tools, aligned plain text for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
"""The ``--json`` flag of every listing command (its value arrives as ``as_json``)."""

days_option = click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=None,
    help="How far ahead (default: the look-ahead).",
)
"""The ``--days`` option of the commands that look ahead."""


def emit_json(data: Any) -> None:
    """Given JSON-serialisable data, print it indented with a stable key order."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    """Given rows of cells and their headers, print them as aligned columns."""
    if not rows:
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    click.echo(line.rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def shorten(text: str, width: int) -> str:
    """Given a text, return it on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


__all__ = ["days_option", "emit_json", "json_option", "shorten", "table"]
