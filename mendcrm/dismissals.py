"""The user's "not this person": encounters (or whole series) dismissed for good.

A :class:`Dismissal` lives in the store's ``dismissals`` table. :func:`dismiss_encounter`
records one and withdraws what it covers at once; :class:`Dismissals` answers, on every later
pass, whether a detected encounter is covered, so planning never brings it back.

What a dismissal covers:

* ``scope="encounter"``: that encounter (same id: same source, calendar, UID, occurrence and
  contact). For a single event (no RECURRENCE-ID) the id follows the start, so the dismissal
  also covers that event's encounter with the same contact after a move (same source, calendar,
  UID and contact, still no RECURRENCE-ID).
* ``scope="series"``: every instance of the series with that contact, past, present and future
  (source, calendar, UID and contact: :func:`mendcrm.planning.series_key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mendcrm import repository
from mendcrm.errors import NotFoundError, UsageError
from mendcrm.model import OPEN_QUEUE_STATES, Encounter, from_iso, replace, to_iso
from mendcrm.retention import DEFAULT as DEFAULT_RETENTION
from mendcrm.retention import DISMISSALS, Retention, prune

TABLE = DISMISSALS
REASON_DISMISSED = "you said it is not this person (mendcrm encounter dismiss)"

Scope = Literal["encounter", "series"]
SeriesKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Dismissal:
    """One "not this person" from the user."""

    id: str
    scope: Scope
    encounter_id: str
    contact_id: str
    source: str
    calendar: str
    uid: str
    single: bool
    """True if the dismissed occurrence was a single event (no RECURRENCE-ID)."""
    at: datetime
    summary: str = ""
    start: datetime | None = None

    @property
    def series(self) -> SeriesKey:
        return (self.source, self.calendar, self.uid, self.contact_id)

    def to_record(self) -> dict[str, Any]:
        """Return the JSON record stored in the ``dismissals`` table."""
        return {
            "id": self.id,
            "scope": self.scope,
            "encounter_id": self.encounter_id,
            "contact_id": self.contact_id,
            "source": self.source,
            "calendar": self.calendar,
            "uid": self.uid,
            "single": self.single,
            "at": to_iso(self.at),
            "summary": self.summary,
            "start": to_iso(self.start) if self.start else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Dismissal:
        """Given a stored record, return the dismissal."""
        return cls(
            id=record["id"],
            scope="series" if record.get("scope") == "series" else "encounter",
            encounter_id=record["encounter_id"],
            contact_id=record["contact_id"],
            source=record["source"],
            calendar=record["calendar"],
            uid=record["uid"],
            single=bool(record.get("single")),
            at=from_iso(record["at"]),
            summary=record.get("summary", ""),
            start=from_iso(record["start"]) if record.get("start") else None,
        )


def _series_of(encounter: Encounter) -> SeriesKey:
    occ = encounter.occurrence
    return (occ.source, occ.calendar, occ.uid, encounter.contact_id)


@dataclass(frozen=True, slots=True)
class Dismissals:
    """The recorded dismissals, indexed for :meth:`covers`; empty by default."""

    ids: frozenset[str] = frozenset()
    series: frozenset[SeriesKey] = frozenset()
    singles: frozenset[SeriesKey] = frozenset()

    @classmethod
    def of(cls, dismissals: Iterable[Dismissal]) -> Dismissals:
        """Given dismissals, return them indexed."""
        found = list(dismissals)
        return cls(
            ids=frozenset(d.encounter_id for d in found),
            series=frozenset(d.series for d in found if d.scope == "series"),
            singles=frozenset(d.series for d in found if d.scope == "encounter" and d.single),
        )

    @classmethod
    def load(cls, view: repository.Readable) -> Dismissals:
        """Given a store view, return the dismissals it holds."""
        return cls.of(Dismissal.from_record(r) for r in view.all(TABLE))

    def covers(self, encounter: Encounter) -> bool:
        """Given an encounter, return True if the user dismissed it (or its series)."""
        if encounter.id in self.ids:
            return True
        key = _series_of(encounter)
        return key in self.series or (
            encounter.occurrence.recurrence_id is None and key in self.singles
        )

    def __bool__(self) -> bool:
        return bool(self.ids or self.series)


def find_encounter(encounters: Iterable[Encounter], query: str) -> Encounter:
    """Given stored encounters and an id or unique id prefix, return that encounter.

    Raise NotFoundError if none matches, UsageError if the prefix matches several.
    """
    query = query.strip()
    everything = list(encounters)
    exact = [e for e in everything if e.id == query]
    found = exact or ([e for e in everything if e.id.startswith(query)] if query else [])
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(
            f"no encounter {query!r}", hint="see `mendcrm upcoming` for encounter ids"
        )
    raise UsageError(f"{query!r} matches {len(found)} encounters", hint="give more of the id")


@dataclass(frozen=True, slots=True)
class DismissResult:
    """What :func:`dismiss_encounter` did."""

    dismissal: Dismissal
    encounter: Encounter
    withdrawn: tuple[Encounter, ...]
    """Encounters withdrawn now (the one named and, with a series, its stored siblings)."""
    already: bool
    """True if the same dismissal was recorded before."""


def dismiss_encounter(
    tx: repository.Writable,
    query: str,
    *,
    series: bool = False,
    now: datetime,
    retention: Retention = DEFAULT_RETENTION,
) -> DismissResult:
    """Given a store transaction and an encounter id (or unique prefix), dismiss it for good.

    Record the dismissal, withdraw the encounter (with ``series``, every stored encounter of its
    series with that contact) and withdraw their open prep notes and follow-ups; then apply
    ``retention`` (:func:`mendcrm.retention.prune`; pass the config's: what was withdrawn unseen
    goes at once, the dismissed encounter itself stays with its dismissal). Later passes never
    detect it again (see :class:`Dismissals`). Raise NotFoundError / UsageError if the id names
    no encounter or several.
    """
    encounter = find_encounter(repository.encounters(tx), query)
    occ = encounter.occurrence
    scope: Scope = "series" if series else "encounter"
    key = _series_of(encounter)
    record_id = (
        "series:" + hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()[:16]
        if series
        else "encounter:" + encounter.id
    )
    already = tx.get(TABLE, record_id) is not None
    dismissal = Dismissal(
        id=record_id,
        scope=scope,
        encounter_id=encounter.id,
        contact_id=encounter.contact_id,
        source=occ.source,
        calendar=occ.calendar,
        uid=occ.uid,
        single=occ.recurrence_id is None,
        at=now,
        summary=occ.summary,
        start=occ.start,
    )
    if not already:
        tx.put(TABLE, dismissal.to_record())
    index = Dismissals.of([dismissal])
    withdrawn = tuple(
        replace(e, state="withdrawn", withdrawn_reason=REASON_DISMISSED)
        for e in repository.encounters(tx)
        if e.state == "active" and index.covers(e)
    )
    repository.save(tx, "encounters", *withdrawn)
    gone = {e.id for e in withdrawn} | {encounter.id}
    items = [
        replace(i, state="withdrawn")
        for i in repository.queue(tx)
        if i.encounter_id in gone and i.state in OPEN_QUEUE_STATES
    ]
    repository.save(tx, "queue", *items)
    prune(tx, now=now, retention=retention)
    return DismissResult(dismissal, encounter, withdrawn, already)


def dismissals(view: repository.Readable) -> list[Dismissal]:
    """Given a store view, return every dismissal, most recent first."""
    found = [Dismissal.from_record(r) for r in view.all(TABLE)]
    return sorted(found, key=lambda d: (d.at, d.id), reverse=True)


__all__ = [
    "REASON_DISMISSED",
    "TABLE",
    "DismissResult",
    "Dismissal",
    "Dismissals",
    "dismiss_encounter",
    "dismissals",
    "find_encounter",
]
