"""What reading one calendar object needs besides its text: where it came from, the user's setup.

:class:`ReadContext` is what a source hands :func:`mendcrm.events.reader.read_object`;
:class:`Where` is what reading one UID's events carries along (the context, the span, the
object's href and etag, the warnings so far). Both are separate from the reader so the code
that turns components into occurrences (:mod:`mendcrm.events.occurrences`) can use them
without importing the reader back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

from mendcrm.events.contentlines import Described
from mendcrm.events.window import Span

_LINE_BREAKS = {
    ord(c): c.encode("unicode_escape").decode("ascii")
    for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
}
"""The characters :meth:`str.splitlines` ends a line at → their backslash escapes."""


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What the reader needs to know besides the text: where it came from and the user's setup."""

    source: str
    calendar: str
    calendar_name: str = ""
    zone: tzinfo = UTC
    my_emails: frozenset[str] = frozenset()
    max_occurrences: int = 500
    max_object_bytes: int = 1_000_000

    def warning(self, href: str, uid: str | None, what: str) -> str:
        """Return a one-line warning naming the source, calendar, href and UID.

        One line whatever the object holds: a UID is TEXT (RFC 5545 §3.8.4.7), so ``\\n`` in
        it is unescaped to a line break; every character :meth:`str.splitlines` breaks at is
        written as its escape instead."""
        where = self.calendar_name or self.calendar
        line = f"{self.source} ({where}): {href or '-'} UID {uid or '?'}: {what}"
        return line.translate(_LINE_BREAKS)


@dataclass(frozen=True, slots=True)
class Where:
    """What reading one UID's events needs besides the events themselves."""

    uid: str
    span: Span
    ctx: ReadContext
    href: str
    etag: str
    warnings: list[str]
    details: dict[int, Described | None]

    def warn(self, what: str) -> None:
        # Once per event: a series repeats its components' faults in every instance.
        line = self.ctx.warning(self.href, self.uid, what)
        if line not in self.warnings:
            self.warnings.append(line)


__all__ = ["ReadContext", "Where"]
