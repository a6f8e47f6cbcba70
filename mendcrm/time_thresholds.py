"""Thresholds of time with what they concern: where a pass that only the clock moved starts.

The pass memo (:mod:`mendcrm.pass_memo`) keeps the first moment at which the time alone could
change what detection and planning decide. When the clock passes it, a full recomputation is
rarely needed: most thresholds concern one meeting or one contact. Each time comparison of a
pass, and what it concerns:

- **one meeting (its UID)** — an occurrence entering the window (``[sync] lookahead_days``
  before its start) or leaving it (:data:`mendcrm.events.window.LOOKBACK` after its end:
  :func:`mendcrm.sources.state.calendar_occurrences` filters by the window); an encounter's
  start (its prep note is no longer created; it stops being its contact's next meeting), end
  (a gone encounter is no longer withdrawn; an open prep note is withdrawn) and end +
  :data:`mendcrm.planning.HISTORY_WINDOW` (it stops pairing as a move). Planning decides per
  series (source, calendar, UID, contact) and merges copies by UID; the pass over changed
  objects (:mod:`mendcrm.changed_pass`) re-plans a UID with the nudges of every contact its
  encounters name.
- **one contact** — a nudge period ending, a meeting coming within one cadence
  (:func:`mendcrm.nudges.next_nudge_change`, taken contact by contact), and a closed nudge's
  retention running out: whether it goes depends on whether it is that contact's current
  nudge (:attr:`mendcrm.planning.Plan.nudges_in_use`), which only planning that contact knows.
- **nothing to plan again** (``time``) — a closed prep note's or follow-up's retention
  running out: :func:`mendcrm.retention.prune` decides it from the records alone (its
  encounter still active or not), and the time pass runs it over the whole store as the full
  pass does; and local midnight: nothing a pass decides reads the calendar day of ``now``.
  Due times come from the meeting's own times in the user's zone (:mod:`mendcrm.due_times`),
  note texts from the contact, the encounter, the zone and the templates, never the date of
  the pass (:mod:`mendcrm.render`), so midnight, DST included, plans nothing again.
- **unkept** — a threshold no part of the pass attributes (none today: every ``add`` of a
  full pass names its key) ends the kept stretch; so does a clock gone back (``now`` before
  the memo), and programmes, heads-ups and held sources keep no memo at all.

The memo keeps the keyed thresholds of the next :data:`STRETCH`, at most :data:`LIMIT` of them
(:attr:`~mendcrm.pass_memo.PassMemo.timeline`), and the moment up to which that list is whole
(:attr:`~mendcrm.pass_memo.PassMemo.keyed_until`). A pass past ``valid_until`` but before
``keyed_until`` plans the UIDs and contacts of the crossed thresholds with the pass over
changed objects, prunes as the full pass does, and writes a memo computed from the stored
records, as the full pass's is (:func:`memo_from_records`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from mendcrm.model import CLOSED_QUEUE_STATES, Contact, Encounter, Interaction, QueueItem
from mendcrm.nudges import next_nudge_change
from mendcrm.pass_memo import PassMemo, Thresholds
from mendcrm.planning import HISTORY_WINDOW

if TYPE_CHECKING:
    from mendcrm.events.window import Span
    from mendcrm.playbook import Playbook
    from mendcrm.retention import Retention
    from mendcrm.store import Transaction

STRETCH = timedelta(hours=25)
"""How far ahead the memo keeps keyed thresholds. A daemon passes every few minutes, a laptop
woken from a night's sleep within a day; a longer stretch would keep more entries for passes
that seldom come (they recompute everything, as before). A day and an hour: what falls a day
after the pass that set it (an item closed then, with ``retention_days = 1``; a meeting's end
plus the history window) is still kept."""

LIMIT = 256
"""At most this many keyed thresholds are kept (about 25 KB of the memo's record, rewritten by
every pass that changes it). A 5,000-event calendar sees a few dozen a day (occurrences
entering and leaving the window, flagged contacts' meetings and nudges); a day with more ends
the kept stretch early."""

_INSTANT = timedelta(microseconds=1)

Key = tuple[str, str]
"""What a threshold concerns: ("uid", UID), ("contact", contact id) or ("time", "")."""

TIME_ONLY: Key = ("time", "")


class Timeline(Thresholds):
    """:class:`~mendcrm.pass_memo.Thresholds` that also keeps, for the next :data:`STRETCH`,
    each threshold with what it concerns (an unkeyed one ends the kept stretch)."""

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.keyed: set[tuple[datetime, str, str]] = set()
        self.cap = now + STRETCH

    def add(self, moment: datetime | None, key: Key | None = None) -> None:
        """Given a moment at or after which a decision may flip and what it concerns (None:
        unknown), keep it."""
        if moment is None or moment < self.now:
            return
        super().add(moment)
        moment = max(moment, self.now + _INSTANT)
        if key is None:
            self.cap = min(self.cap, moment)
        elif moment < self.cap:
            self.keyed.add((moment, *key))

    def limit(self, moment: datetime) -> None:
        """Given a moment beyond which the caller knows no keyed threshold, end the stretch."""
        self.cap = min(self.cap, moment)

    def encounters(self, encounters: Iterable[Encounter]) -> dict[str, list[datetime]]:
        starts: dict[str, list[datetime]] = {}
        for encounter in encounters:
            occurrence = encounter.occurrence
            key = ("uid", occurrence.uid)
            end = occurrence.end
            for moment in (occurrence.start, end, end + HISTORY_WINDOW):
                self.add(moment, key)
            starts.setdefault(encounter.contact_id, []).append(occurrence.start)
        return starts

    def queue(self, items: Iterable[QueueItem], keep_for: timedelta | None) -> None:
        if keep_for is None:
            return
        for item in items:
            if item.state in CLOSED_QUEUE_STATES:
                key = ("contact", item.contact_id) if item.kind == "nudge" else TIME_ONLY
                self.add((item.closed_at or self.now) + keep_for, key)

    def nudges(
        self,
        contacts: Iterable[Contact],
        interactions: Mapping[str, list[Interaction]],
        playbook: Playbook,
        starts: Mapping[str, Iterable[datetime]],
    ) -> None:
        """Each contact's next nudge change (:func:`mendcrm.nudges.next_nudge_change`)."""
        for contact in contacts:
            moment = next_nudge_change(self.now, [contact], interactions, playbook, starts)
            self.add(moment, ("contact", contact.id))

    def window(self, state: Iterable[Mapping[str, Any]], window: Span) -> None:
        ahead, back = window.end - self.now, self.now - window.start
        ahead_s, back_s = ahead.total_seconds(), back.total_seconds()
        now_s, cap_s = self.now.timestamp(), self.cap.timestamp()
        first: float | None = None
        for doc in state:
            if doc.get("kind") != "calendar":
                continue
            for entry in (doc.get("objects") or {}).values():
                payloads = entry.get("p") or ()
                for row in entry.get("x") or ():
                    start_s, length = row[1], row[2]
                    for moment in (start_s - ahead_s, start_s + max(length, 0) + back_s):
                        if moment < now_s:
                            continue
                        if moment < cap_s:
                            uid = str(payloads[row[0]].get("uid", ""))
                            self.add(datetime.fromtimestamp(moment, tz=UTC), ("uid", uid))
                        elif first is None or moment < first:
                            first = moment
        if first is not None:
            # Beyond the stretch: it only bounds ``valid_until``.
            Thresholds.add(self, datetime.fromtimestamp(first, tz=UTC))

    def midnight(self, zone: tzinfo) -> None:
        local = self.now.astimezone(zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        self.add(tomorrow.astimezone(UTC), TIME_ONLY)

    def carry(self, memo: PassMemo) -> None:
        """Given the memo of the pass this one started from (whose records outside the pass's
        scope are unchanged), keep its thresholds: its kept ones with their keys, its first one
        beyond them, and the end of what it kept."""
        for moment, kind, key in memo.timeline:
            self.add(moment, (kind, key))
        if memo.keyed_until is not None:
            self.limit(memo.keyed_until)
        if memo.keyed_until is None or (
            memo.valid_until is not None and memo.valid_until >= memo.keyed_until
        ):
            self.add(memo.valid_until)

    def kept(self) -> tuple[tuple[tuple[datetime, str, str], ...], datetime]:
        """Return the keyed thresholds of the stretch, in time order, and the moment up to
        which they are all there is."""
        cap = self.cap
        entries = sorted(e for e in self.keyed if e[0] < cap)
        if len(entries) > LIMIT:
            cap = entries[LIMIT][0]
            entries = [e for e in entries if e[0] < cap]
        return tuple(entries), cap


@dataclass(frozen=True, slots=True)
class TimeScope:
    """What the thresholds the clock crossed since the memo concern."""

    uids: frozenset[str]
    contacts: frozenset[str]
    crossed: bool
    """Whether the clock passed the memo's ``valid_until``."""

    NONE: ClassVar[TimeScope]


TimeScope.NONE = TimeScope(frozenset(), frozenset(), False)


def time_scope(memo: PassMemo, now: datetime) -> TimeScope | None:
    """Given the memo and the pass's time, return what the crossed thresholds concern
    (:data:`TimeScope.NONE` if none was crossed), or None when only a full pass will do: the
    clock went back, or passed the end of the kept stretch."""
    if now < memo.computed_at:
        return None
    if memo.valid_until is None or now < memo.valid_until:
        return TimeScope.NONE
    if memo.keyed_until is None or now >= memo.keyed_until:
        return None
    crossed = [(kind, key) for moment, kind, key in memo.timeline if moment <= now]
    if any(kind not in ("uid", "contact", "time") for kind, _ in crossed):
        return None  # written by another version
    return TimeScope(
        frozenset(key for kind, key in crossed if kind == "uid"),
        frozenset(key for kind, key in crossed if kind == "contact"),
        True,
    )


def timeline_of(
    now: datetime,
    *,
    encounters: Iterable[Encounter],
    queue: Iterable[QueueItem],
    contacts: Iterable[Contact],
    interactions: Iterable[Interaction],
    state: Iterable[Mapping[str, Any]],
    window: Span,
    playbook: Playbook,
    keep: Retention,
    zone: tzinfo,
) -> Timeline:
    """Given the records a pass leaves, return every threshold ahead of ``now`` with what it
    concerns (what the full pass's memo is computed from)."""
    timeline = Timeline(now)
    starts = timeline.encounters(encounters)
    timeline.queue(queue, keep.keep_for)
    grouped: dict[str, list[Interaction]] = {}
    for interaction in interactions:
        grouped.setdefault(interaction.contact_id, []).append(interaction)
    timeline.nudges(contacts, grouped, playbook, starts)
    timeline.window(state, window)
    timeline.midnight(zone)
    return timeline


def memo_from_records(
    tx: Transaction,
    *,
    inputs: str,
    now: datetime,
    state: Mapping[str, Mapping[str, Any]],
    window: Span,
    playbook: Playbook,
    keep: Retention,
    zone: tzinfo,
    rendered_from: str,
) -> PassMemo:
    """Given the pass's transaction (its records as it will commit them) and its inputs'
    digest, return the memo a full pass leaving these records would write."""
    from mendcrm import repository
    from mendcrm.pass_memo import next_due

    queue = repository.queue(tx)
    timeline = timeline_of(
        now, encounters=repository.encounters(tx), queue=queue,
        contacts=repository.contacts(tx), interactions=repository.interactions(tx),
        state=state.values(), window=window, playbook=playbook, keep=keep, zone=zone,
    )  # fmt: skip
    entries, keyed_until = timeline.kept()
    return PassMemo(
        inputs=inputs,
        computed_at=now,
        valid_until=timeline.first,
        next_due=next_due(queue),
        rendered_from=rendered_from,
        timeline=entries,
        keyed_until=keyed_until,
    )


__all__ = [
    "LIMIT",
    "STRETCH",
    "TIME_ONLY",
    "TimeScope",
    "Timeline",
    "memo_from_records",
    "time_scope",
    "timeline_of",
]
