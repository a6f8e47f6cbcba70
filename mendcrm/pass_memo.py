"""The pass memo: when a pass may skip detection and planning, because they would change nothing.

What detection and planning decide is a function of two things:

- **the inputs**: the calendars' sync state (every stored object's occurrences), the contacts,
  interactions, dismissals, encounters and queue in the store, the config, the playbook and the
  templates, the plugins, the user's addresses, the sources that failed, MendCRM's version;
- **the time**, which enters only through thresholds: an occurrence entering or leaving the
  window, an encounter starting, ending or ageing out of move pairing, a nudge period ending or
  a meeting coming within a cadence, a closed item's retention running out, and (as a margin
  for anything tied to the user's calendar day) local midnight; and through marking due, which
  the memo's ``next_due`` keeps apart.

After each full pass the memo records a digest of the inputs, the time it was taken and the
first threshold ahead. A later pass whose inputs give the same digest, at a time from then to
before that threshold, would plan nothing: it only marks due what has fallen due. Changed
objects, and contacts whose planning inputs alone changed, are planned alone
(:mod:`mendcrm.changed_pass`, :mod:`mendcrm.contact_changes`); so are the meetings and contacts
of the thresholds the clock crossed, which the memo keeps for the next day with what they
concern (:mod:`mendcrm.time_thresholds`). Anything else — a contact added or renamed, a note
snoozed, the config or a template changed, a plugin added, the clock jumping back or past the
thresholds the memo kept (a long suspend; DST is only a threshold if an event sits there) —
recomputes everything. A plugin's extra prep-note sections are rendered again only then.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import PurePath
from typing import Any, Protocol

from mendcrm.events.window import Span
from mendcrm.model import (
    CLOSED_QUEUE_STATES,
    Encounter,
    QueueItem,
    from_iso,
    to_iso,
)
from mendcrm.planning import HISTORY_WINDOW
from mendcrm.store import Transaction
from mendcrm.store.layout import table_text

MEMO_ID = "pass_memo"
"""The memo's record in the store's ``meta`` table."""

_INSTANT = timedelta(microseconds=1)

PLANNING_TABLES = ("contacts", "dismissals", "encounters", "interactions", "queue")
"""The store tables detection and planning read."""


class Tables(Protocol):
    """What the memo reads: a store transaction, or a read view (for a check without the lock)."""

    def get(self, table: str, record_id: str) -> dict[str, Any] | None: ...

    def digest(self, names: Iterable[str]) -> str: ...


def canonical(value: Any) -> Any:
    """Given a config-like value (dataclasses, mappings, sets, paths, times), return it as plain
    JSON data that is the same in every process: sets sorted, mappings keyed by text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, PurePath | datetime | date | time | timedelta):
        return f"{type(value).__name__}:{value}"
    return f"{type(value).__name__}:{value!r}"


def context_digest(**parts: Any) -> str:
    """Given the non-store inputs of a pass (config, playbook, template texts, plugins, …),
    return their SHA-256 hex digest; equal inputs give equal digests in any process."""
    text = json.dumps(canonical(parts), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_digest(
    tables: str,
    context: str,
    state: Mapping[str, Mapping[str, Any]],
    extra: Iterable[Mapping[str, Any] | None] = (),
) -> str:
    """Given the digest of the planning tables (``tx.digest(PLANNING_TABLES)``), the pass's
    context digest, the sync state documents it reads (annotation documents left out by the
    caller) and other records it reads, return the digest of every input of detection and
    planning."""
    found = hashlib.sha256(context.encode("ascii"))
    found.update(tables.encode("ascii"))
    # In key order: the stored table and the sync stage's result list documents differently.
    found.update(table_text({key: state[key] for key in sorted(state)}))
    for record in extra:
        found.update(table_text({"record": record or {}}))
    return found.hexdigest()


def render_digest(tx: Tables, context: str) -> str:
    """Given the pass's transaction and context digest, return the digest of what every note's
    text depends on besides its own contact and encounter: the context (templates, playbook,
    config, plugins, zone) and the contacts and interactions tables."""
    found = hashlib.sha256(context.encode("ascii"))
    found.update(tx.digest(("contacts", "interactions")).encode("ascii"))
    return found.hexdigest()


@dataclass(frozen=True, slots=True)
class PassMemo:
    """What the last full pass saw: its inputs' digest, when it ran, and until when (exclusive)
    the time alone changes nothing; ``next_due`` is the earliest due time of a pending item."""

    inputs: str
    computed_at: datetime
    valid_until: datetime | None
    next_due: datetime | None
    rendered_from: str = ""
    """The digest of what the notes' texts were last rendered from (:func:`render_digest`)."""
    rest: str = ""
    """The inputs' digest with the contacts and interactions tables left out
    (:func:`mendcrm.contact_changes.rest_digest`): with the next two, it tells which contacts
    alone changed since."""
    index: str = ""
    """The digest of what detection reads of the contacts (:mod:`mendcrm.contact_changes`)."""
    people: Mapping[str, str] = field(default_factory=dict)
    """A short digest per contact id of its record and its interactions."""
    timeline: tuple[tuple[datetime, str, str], ...] = ()
    """The thresholds before :attr:`keyed_until`, each with what it concerns: (moment, kind,
    key), kind ``uid`` (a meeting's UID), ``contact`` (a contact id) or ``time`` (nothing to
    plan again: :mod:`mendcrm.time_thresholds`)."""
    keyed_until: datetime | None = None
    """Every threshold before this moment is in :attr:`timeline`; None: none is."""

    def covers(self, inputs: str, now: datetime) -> bool:
        """Given this pass's inputs digest and time, return whether planning would change
        nothing: same inputs, and ``now`` neither before the memo nor at a threshold."""
        if inputs != self.inputs or now < self.computed_at:
            return False
        return self.valid_until is None or now < self.valid_until

    def to_record(self) -> dict[str, Any]:
        return {
            "id": MEMO_ID,
            "inputs": self.inputs,
            "computed_at": to_iso(self.computed_at),
            "valid_until": _iso(self.valid_until),
            "next_due": _iso(self.next_due),
            "rendered_from": self.rendered_from,
            "rest": self.rest,
            "index": self.index,
            "people": dict(self.people),
            "timeline": [[to_iso(m), kind, key] for m, kind, key in self.timeline],
            "keyed_until": _iso(self.keyed_until),
        }

    @classmethod
    def load(cls, tx: Tables) -> PassMemo | None:
        """Given a transaction, return the stored memo, or None if there is none (or it is not
        one this version reads)."""
        record = tx.get("meta", MEMO_ID)
        if record is None:
            return None
        try:
            return cls(
                inputs=str(record["inputs"]),
                computed_at=from_iso(record["computed_at"]),
                valid_until=_from_iso(record.get("valid_until")),
                next_due=_from_iso(record.get("next_due")),
                rendered_from=str(record.get("rendered_from") or ""),
                rest=str(record.get("rest") or ""),
                index=str(record.get("index") or ""),
                people={str(k): str(v) for k, v in (record.get("people") or {}).items()},
                timeline=tuple(
                    (from_iso(m), str(kind), str(key))
                    for m, kind, key in record.get("timeline") or ()
                ),
                keyed_until=_from_iso(record.get("keyed_until")),
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            return None


def forget(tx: Transaction) -> None:
    """Given a transaction, drop the memo: the next pass recomputes everything."""
    tx.delete("meta", MEMO_ID)


def next_due(queue: Iterable[QueueItem]) -> datetime | None:
    """Given queue items, return the earliest due time of a pending one (what
    :func:`mendcrm.planning.mark_due` turns due), or None."""
    return min((i.due for i in queue if i.state == "pending"), default=None)


class Thresholds:
    """Collects the moments after ``now`` at which the time alone could change a pass."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.first: datetime | None = None

    def add(self, moment: datetime | None) -> None:
        """Given a moment at or after which a decision may flip, keep it if it is the first."""
        if moment is None or moment < self.now:
            return
        # A rule that compares strictly ("now > start - lookahead") flips just after its
        # moment: one falling on ``now`` itself leaves the memo good for this instant only.
        moment = max(moment, self.now + _INSTANT)
        if self.first is None or moment < self.first:
            self.first = moment

    def encounters(self, encounters: Iterable[Encounter]) -> dict[str, list[datetime]]:
        """Planning compares the time with each encounter's start (is its prep note still
        useful, is it the contact's next meeting), end (is it over) and end + the history
        window (may it still pair as a move). Return each contact's encounter starts."""
        starts: dict[str, list[datetime]] = defaultdict(list)
        for encounter in encounters:
            start, end = encounter.occurrence.start, encounter.occurrence.end
            for moment in (start, end, end + HISTORY_WINDOW):
                self.add(moment)
            starts[encounter.contact_id].append(start)
        return starts

    def queue(self, items: Iterable[QueueItem], keep_for: timedelta | None) -> None:
        """A closed item's closing time (stamped ``now`` if it has none yet) plus the retention
        decides when it is pruned. (An open item's due time is no threshold for planning: only
        a clock gone back makes a due item's time lie ahead again, and that recomputes anyway;
        marking items due is :attr:`PassMemo.next_due`'s.)"""
        if keep_for is None:
            return
        for item in items:
            if item.state in CLOSED_QUEUE_STATES:
                self.add((item.closed_at or self.now) + keep_for)

    def window(self, state: Iterable[Mapping[str, Any]], window: Span) -> None:
        """An occurrence enters the window (``[now - back, now + ahead)``, moving with the
        time) when its start comes within ``ahead`` and leaves ``back`` after it ends: at those
        moments the pass would see a different set of occurrences."""
        ahead, back = window.end - self.now, self.now - window.start
        ahead_s, back_s = ahead.total_seconds(), back.total_seconds()
        now_s = self.now.timestamp()
        first = self.first.timestamp() if self.first is not None else None
        for doc in state:
            if doc.get("kind") != "calendar":
                continue
            for entry in (doc.get("objects") or {}).values():
                for row in entry.get("x") or ():
                    start_s, length = row[1], row[2]
                    for moment in (start_s - ahead_s, start_s + max(length, 0) + back_s):
                        if moment >= now_s and (first is None or moment < first):
                            first = moment
        if first is not None:
            self.add(datetime.fromtimestamp(first, tz=UTC))

    def midnight(self, zone: tzinfo) -> None:
        """The user's next local midnight: a margin for anything tied to their calendar day."""
        local = self.now.astimezone(zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        self.add(tomorrow.astimezone(UTC))


def _iso(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def _from_iso(value: Any) -> datetime | None:
    return from_iso(value) if isinstance(value, str) and value else None


__all__ = [
    "MEMO_ID",
    "PLANNING_TABLES",
    "PassMemo",
    "Thresholds",
    "context_digest",
    "forget",
    "inputs_digest",
    "next_due",
    "render_digest",
]
