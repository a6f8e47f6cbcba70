"""What every kind of calendar shares during a sync: reading objects into stored entries, moving
the horizon forward, and the suspicion rule for a calendar that suddenly empties.

Pure apart from the optional progress callback: fetched octets in, entries and warnings out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from mendcrm.events.prefilter import proven_outside
from mendcrm.events.readcontext import ReadContext
from mendcrm.events.reader import ObjectReading, read_object
from mendcrm.events.window import Span
from mendcrm.events.zones import zone_name
from mendcrm.model import to_iso
from mendcrm.sources.results import CalendarReport
from mendcrm.sources.state import (
    STATE_FORMAT,
    Entry,
    epoch,
    horizon_of,
    make_entry,
    prune_entry,
    unpack_text,
)

SUSPICIOUS_MIN_OBJECTS = 10
"""A calendar that held at least this many objects and is suddenly empty is not believed at once."""

Progress = Callable[[str, int], None]


PRUNE_EVERY = timedelta(days=1)
"""How far the stored span's start may trail the window before old objects are pruned."""


@dataclass(frozen=True, slots=True)
class SyncEnv:
    """The settings every calendar sync in one pass shares."""

    now: datetime
    window: Span
    margin: timedelta
    zone: tzinfo
    my_emails: frozenset[str]
    max_occurrences: int
    max_object_bytes: int
    timeout: float
    progress: Progress | None = None
    request_deadline: float = 300.0
    """``[sync] request_deadline_seconds``: the most one HTTP request may take in all."""

    @property
    def reader_key(self) -> str:
        """What the stored occurrences depend on besides the calendar data; when it changes
        (another time zone, other addresses, other limits) a calendar is read afresh."""
        emails = ",".join(sorted(self.my_emails))
        # "a2": addresses are read by mendcrm.addresses (EMAIL parameter, percent-encoding), so
        # occurrences stored by the older reading are read afresh once.
        return f"{zone_name(self.zone)}|{emails}|{self.max_occurrences}|{self.max_object_bytes}|a2"

    def horizon(self, previous: Span | None) -> tuple[Span, bool]:
        """Given the horizon stored last time, return the one to cover now and whether it grew.

        The horizon reaches ``margin`` past the window's end, so most passes find the window
        inside what is stored; only when the window passes its end is it pushed forward again.
        """
        if previous is not None and previous.end >= self.window.end:
            # The start trails the clock; moving it only once a day keeps a no-change pass from
            # rewriting the state (and so the store) while pruning stays daily.
            lag = self.window.start - previous.start
            start = previous.start if timedelta(0) <= lag < PRUNE_EVERY else self.window.start
            return Span(start, previous.end), False
        return Span(self.window.start, self.window.end + self.margin), True


@dataclass(slots=True)
class CalendarWork:
    """One calendar being synced: its stored objects as they change, and its report."""

    key: str
    source: str
    url: str
    name: str
    env: SyncEnv
    old: Mapping[str, Any] | None
    report: CalendarReport = field(init=False)
    horizon: Span = field(init=False)
    grew: bool = field(init=False)
    objects: dict[str, Entry] = field(init=False)
    deleted: int = 0

    def __post_init__(self) -> None:
        if self.old is not None and not self._reusable(self.old):
            self.old = None
        self.report = CalendarReport(source=self.source, calendar=self.url, name=self.name)
        previous = horizon_of(self.old)
        self.horizon, self.grew = self.env.horizon(previous)
        self.objects = {}
        for href, entry in ((self.old or {}).get("objects") or {}).items():
            kept = prune_entry(entry, self.horizon)
            if kept is not None:
                self.objects[href] = kept

    def _reusable(self, old: Mapping[str, Any]) -> bool:
        """Whether the stored objects can be built on: same format and reader settings, and the
        clock has not gone back before the stored horizon (it would leave a gap)."""
        if old.get("format") != STATE_FORMAT or old.get("reader") != self.env.reader_key:
            return False
        previous = horizon_of(old)
        return previous is None or previous.start <= self.env.window.start

    @property
    def first(self) -> bool:
        return not self.old or not self.old.get("horizon")

    def read_context(self) -> ReadContext:
        return ReadContext(
            source=self.source,
            calendar=self.url,
            calendar_name=self.name,
            zone=self.env.zone,
            my_emails=self.env.my_emails,
            max_occurrences=self.env.max_occurrences,
            max_object_bytes=self.env.max_object_bytes,
        )

    def load(
        self, href: str, etag: str, data: bytes, *, in_range: bool = False, **extra: Any
    ) -> None:
        """Given one fetched object's raw octets, read it into the stored objects (or drop it if
        it has nothing in the horizon); count it and pass its warnings to the report.

        An object its raw text proves outside the horizon is not parsed: the reader would find
        nothing in it (:mod:`mendcrm.events.prefilter`), so it is dropped the same way. One a
        time-range query returned (``in_range``) is not tested: the server found it overlapping
        the horizon, so the test could only cost time (the reader decides either way)."""
        self.report.fetched += 1
        if (
            not in_range
            and len(data) <= self.env.max_object_bytes
            and proven_outside(data, self.horizon)
        ):
            self.report.filtered += 1
            reading = ObjectReading()
        else:
            reading = read_object(data, self.horizon, self.read_context(), href=href, etag=etag)
        self.report.warnings.extend(reading.warnings)
        existed = href in self.objects
        if reading.occurrences or reading.warnings:
            # A broken object is kept as an empty entry so it is not fetched again until it changes.
            raw = reading.text if reading.recurring and reading.occurrences else None
            self.objects[href] = make_entry(etag, reading.occurrences, raw, **extra)
            self.report.changed += 1
        elif existed:
            del self.objects[href]
            self.report.changed += 1
        if self.env.progress is not None:
            self.env.progress(f"{self.source} {self.name}".strip(), self.report.fetched)

    def skip(self, href: str, etag: str, warning: str) -> None:
        """Record an object that could not be fetched: its one warning goes to the report, and
        it is kept as an empty entry under its ETag, so it is asked for again once it changes."""
        self.report.warnings.append(warning)
        if etag:
            self.objects[href] = make_entry(etag, [], None)
        else:
            self.objects.pop(href, None)

    def remove(self, href: str) -> None:
        if self.objects.pop(href, None) is not None:
            self.deleted += 1
            self.report.deleted += 1

    def reexpand_series(self) -> None:
        """Expand every stored series again over the (grown) horizon, from its stored text."""
        for href, entry in list(self.objects.items()):
            packed = entry.get("r")
            if not packed:
                continue
            extra = {k: v for k, v in entry.items() if k not in ("e", "p", "x", "r")}
            # The stored text is what the reader decoded before: valid UTF-8 once encoded again.
            data = unpack_text(packed).encode("utf-8")
            reading = read_object(
                data, self.horizon, self.read_context(), href=href, etag=entry["e"]
            )
            if reading.occurrences:
                self.objects[href] = make_entry(
                    entry["e"], reading.occurrences, reading.text, **extra
                )
            else:
                del self.objects[href]

    def document(self, method: str, **fields: Any) -> dict[str, Any]:
        """Return the new state document for this calendar (after the suspicion check)."""
        doc: dict[str, Any] = {
            "id": self.key,
            "kind": "calendar",
            "source": self.source,
            "calendar": self.url,
            "name": self.name,
            "method": method,
            "format": STATE_FORMAT,
            "reader": self.env.reader_key,
            "horizon": [epoch(self.horizon.start), epoch(self.horizon.end)],
            "objects": self.objects,
            "suspect": None,
            **fields,
        }
        return self._suspicion_checked(doc)

    def _suspicion_checked(self, doc: dict[str, Any]) -> dict[str, Any]:
        before = len((self.old or {}).get("objects") or {})
        if self.objects or self.deleted == 0 or before < SUSPICIOUS_MIN_OBJECTS:
            return doc
        assert self.old is not None
        if self.old.get("suspect"):
            self.report.warnings.append(
                f"{self.source} ({self.name}): calendar still empty after {before} objects were "
                "removed; accepting it now"
            )
            return doc
        # Keep the last good objects (and the old token, so the same answer comes again next
        # time): a flaky server must not wipe the user's queue in one pass.
        self.report.suspicious = True
        self.report.warnings.append(
            f"{self.source} ({self.name}): the server suddenly reports the calendar empty where "
            f"there were {before} objects; keeping them until the next sync confirms it"
        )
        return {**self.old, "suspect": to_iso(self.env.now)}


__all__ = ["SUSPICIOUS_MIN_OBJECTS", "CalendarWork", "Progress", "SyncEnv"]
