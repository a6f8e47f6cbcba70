"""How commands print: JSON for tools, aligned plain text for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


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


__all__ = ["emit_json", "shorten", "table"]
