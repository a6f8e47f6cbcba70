"""When a note falls due: inside the user's day, whatever its raw time says.

Every kind of note has a *raw* due time (``[prep] lead`` before its meeting, ``[followup] delay``
after it, a nudge's cadence, a conference's evening before), and one function,
:func:`due_time`, moves it into the user's day — ``[me] day_starts`` to ``[me] day_ends``,
wall-clock times in ``[me] timezone``:

- a **prep note** outside the day moves *earlier*, to the previous ``day_ends``: it exists to be
  read before the meeting, so it may never move towards (let alone past) the meeting's start;
- a **follow-up** or a **nudge** outside the day moves *later*, to the next ``day_starts``: it is
  about something already past, so a few hours' wait costs nothing.

Inside means ``day_starts <= wall-clock time <= day_ends``, both ends (whole minutes) included.
The wall clock is read with :mod:`zoneinfo`, so the day follows daylight-saving changes: on the
night the clocks change, "21:00" and "08:00" are still read off the local clock. A boundary the
clock skips (spring forward) is the instant the clock jumps over it; a boundary it shows twice
(fall back) is, moving earlier, the later of the two and, moving later, the earlier of the two —
in each case the one nearest the raw time, so a note never moves further than it must.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from mendcrm.config.model import Config
from mendcrm.events.zones import user_zone
from mendcrm.model import Encounter

Move = Literal["earlier", "later"]

MOVES: dict[str, Move] = {"prep": "earlier", "followup": "later", "nudge": "later"}
"""Which way each kind of note moves out of the night; a kind not named here moves later."""


@dataclass(frozen=True, slots=True)
class UserDay:
    """The hours in which the user can act on a note: ``starts`` to ``ends``, in ``zone``."""

    zone: tzinfo
    starts: time = time(8, 0)
    ends: time = time(21, 0)

    @classmethod
    def of(cls, config: Config, zone: tzinfo | None = None) -> UserDay:
        """Given the config (and the user's zone if already known), return the user's day;
        raise ConfigError if ``[me] timezone`` names no zone."""
        return cls(
            zone=zone if zone is not None else user_zone(config.me.timezone),
            starts=config.me.day_starts,
            ends=config.me.day_ends,
        )

    def contains(self, moment: datetime) -> bool:
        """Given an aware moment, return True if the user's wall clock then reads inside the day.

        The ends are minutes, as the config writes them, and both are inside whole: with
        ``day_ends = "21:00"`` a note due at 21:00:30 stays where it is."""
        wall = moment.astimezone(self.zone).time().replace(second=0, microsecond=0)
        return self.starts <= wall <= self.ends

    def previous_end(self, moment: datetime) -> datetime:
        """Given an aware moment, return (in UTC) the latest end of a day at or before it."""
        local = moment.astimezone(self.zone)
        for back in (0, 1):
            found = _instants(local.date() - timedelta(days=back), self.ends, self.zone)
            found = [u for u in found if u <= moment]
            if found:
                return max(found)
        raise AssertionError("a day ends within any 48 hours")  # pragma: no cover

    def next_start(self, moment: datetime) -> datetime:
        """Given an aware moment, return (in UTC) the earliest start of a day at or after it."""
        local = moment.astimezone(self.zone)
        for ahead in (0, 1):
            found = _instants(local.date() + timedelta(days=ahead), self.starts, self.zone)
            found = [u for u in found if u >= moment]
            if found:
                return min(found)
        raise AssertionError("a day starts within any 48 hours")  # pragma: no cover


def due_time(
    raw: datetime, kind: str, day: UserDay, *, not_after: datetime | None = None
) -> datetime:
    """Given a note's raw due time (aware), its kind ("prep", "followup", "nudge") and the user's
    day, return when it falls due, in UTC: ``raw`` itself if the wall clock then reads inside the
    day, else the previous ``day_ends`` (prep) or the next ``day_starts`` (the others).

    ``not_after`` (a prep note's meeting start) caps the result: a prep note is never due after
    its meeting starts, even where a day boundary would say so.
    """
    raw = raw.astimezone(UTC)
    if day.contains(raw):
        due = raw
    elif MOVES.get(kind, "later") == "earlier":
        due = day.previous_end(raw)
    else:
        due = day.next_start(raw)
    if not_after is not None:
        due = min(due, not_after.astimezone(UTC))
    return due


def held_until(now: datetime, day: UserDay) -> datetime | None:
    """Given the time and the user's day, return the next ``day_starts`` if it is night now (what
    shows itself, such as a desktop notification, waits until then), else None."""
    return None if day.contains(now) else day.next_start(now)


def evening_before(start: datetime, hour: int, day: UserDay) -> datetime:
    """Given a conference's (or all-day event's) start and ``[prep] conference_evening_hour``,
    return its prep time: that hour on the user's wall clock the day before it starts, at least
    a minute before the start, then moved into the user's day as a prep note is."""
    eve = start.astimezone(day.zone).date() - timedelta(days=1)
    at = min(_instants(eve, time(hour), day.zone))
    return due_time(min(at, start - timedelta(minutes=1)), "prep", day, not_after=start)


def prep_due(encounter: Encounter, config: Config, zone: tzinfo) -> datetime:
    """Given an encounter, the config and the user's zone, return when its prep note is due:
    ``[prep] lead`` before the start (for a conference, the evening before its first day at
    ``[prep] conference_evening_hour``), moved into the user's day (:func:`due_time`)."""
    day = UserDay.of(config, zone)
    start = encounter.occurrence.start
    if encounter.kind == "conference":
        return evening_before(start, config.prep.conference_evening_hour, day)
    return due_time(start - config.prep.lead, "prep", day, not_after=start)


def followup_due(encounter: Encounter, config: Config, zone: tzinfo | None = None) -> datetime:
    """Given an encounter and the config, return when its follow-up is due: ``[followup] delay``
    after the end, moved into the user's day (:func:`due_time`)."""
    return due_time(
        encounter.occurrence.end + config.followup.delay, "followup", UserDay.of(config, zone)
    )


def _instants(on: date, wall: time, zone: tzinfo) -> list[datetime]:
    """Given a date, a wall-clock time and a zone, return the UTC instants at which the clock
    reads that time that day: one, two (a fall-back night shows it twice: fold 0 and fold 1,
    PEP 495), or, if the clock skips it (spring forward), the one instant it jumps over it."""
    naive = datetime.combine(on, wall)
    found = set()
    for fold in (0, 1):
        utc = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == naive:
            found.add(utc)
    if found:
        return sorted(found)
    # Skipped: the two folds read the wall time with the offsets before and after the jump, so
    # the jump lies between them. Offsets change on whole seconds: find the first second at
    # which the clock reads the wall time or later.
    low, high = sorted(
        int(naive.replace(tzinfo=zone, fold=f).astimezone(UTC).timestamp()) for f in (0, 1)
    )
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) < naive:
            low = middle
        else:
            high = middle
    return [datetime.fromtimestamp(high, UTC)]


__all__ = [
    "MOVES",
    "Move",
    "UserDay",
    "due_time",
    "evening_before",
    "followup_due",
    "held_until",
    "prep_due",
]
