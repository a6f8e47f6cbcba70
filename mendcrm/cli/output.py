"""How commands print: JSON for tools, aligned plain text for people — and the one boundary
every byte to the terminal passes.

Text from invitations, contacts and servers reaches many commands' output. Rather than clean it
in each command, :func:`guard_terminal` wraps ``sys.stdout`` and ``sys.stderr`` once per run in a
:class:`TerminalGuard`, which shows control characters as visible escapes
(:func:`mendcrm.controls.for_terminal`): whatever a command, a log line or a click error prints,
no ESC, OSC, BEL or C1 CSI reaches the terminal. JSON output contains no such character to begin
with (:func:`mendcrm.controls.json_dumps`), so it passes the guard unchanged. Sequences MendCRM
means (the progress line's ``\\r\\033[K``) go through :func:`write_control`.
"""

from __future__ import annotations

import codecs
import io
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import click

from mendcrm.controls import for_terminal, json_dumps

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
"""The ``--json`` flag of every listing command (its value arrives as ``as_json``)."""

days_option = click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=None,
    help="How far ahead (default: the look-ahead).",
)
"""The ``--days`` option of the commands that look ahead."""


class TerminalGuard:
    """A text stream that writes to the stream it wraps with control characters neutralised.

    It has no ``buffer``: nothing (click included) can reach the bytes underneath and bypass it.
    """

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(for_terminal(text))
        return len(text)

    def write_control(self, sequence: str) -> None:
        """Given a control sequence MendCRM itself means, write it as it is."""
        self.wrapped.write(sequence)

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.wrapped.flush()

    def isatty(self) -> bool:
        return self.wrapped.isatty()

    def fileno(self) -> int:
        return self.wrapped.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return getattr(self.wrapped, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:
        return getattr(self.wrapped, "errors", None)

    @property
    def closed(self) -> bool:
        return bool(getattr(self.wrapped, "closed", False))


def guard_terminal() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in a :class:`TerminalGuard` (idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, TerminalGuard):
            setattr(sys, name, TerminalGuard(_not_ascii(stream)))


def _not_ascii(stream: TextIO) -> TextIO:
    # click re-wraps an ASCII stream's bytes as UTF-8 itself; behind the guard it cannot reach
    # them (no ``buffer``), so do the same here.
    encoding = getattr(stream, "encoding", None) or "ascii"
    buffer = getattr(stream, "buffer", None)
    if buffer is None or codecs.lookup(encoding).name != "ascii":
        return stream
    stream.flush()
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="replace", line_buffering=True)


def write_control(stream: TextIO, sequence: str) -> None:
    """Given a stream and a control sequence MendCRM means (not text from elsewhere), write it
    past the :class:`TerminalGuard`, if the stream has one."""
    if isinstance(stream, TerminalGuard):
        stream.write_control(sequence)
    else:
        stream.write(sequence)


def emit_json(data: Any) -> None:
    """Given JSON-serialisable data, print it indented with a stable key order; characters a
    terminal would act on are written as ``\\uXXXX`` (:func:`mendcrm.controls.json_dumps`)."""
    click.echo(json_dumps(data, indent=2))


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    """Given rows of cells and their headers, print them as aligned columns."""
    if not rows:
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]
    click.echo("\n".join(lines))  # one write: thousands of echo calls cost a read command 10 ms


def shorten(text: str, width: int) -> str:
    """Given a text, return it on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


__all__ = [
    "TerminalGuard",
    "days_option",
    "emit_json",
    "guard_terminal",
    "json_option",
    "shorten",
    "table",
    "write_control",
]
