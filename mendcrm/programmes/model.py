"""A conference programme as MendCRM keeps it: title, dates, sessions and their speakers.

Every reader (:mod:`mendcrm.programmes.formats`) returns a :class:`Programme`; the fetcher stores
its record in the source's ``sync_state`` document, so an unchanged programme is never parsed
again. Times are aware datetimes in UTC; a session's identity is the programme's own id for it
(pretalx/frab ``guid``, Sessionize ``id``, Indico contribution ``id``, iCalendar ``UID``), never
its start, so a session that moves keeps its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mendcrm.model import from_iso, to_iso


@dataclass(frozen=True, slots=True)
class Speaker:
    """One person listed on a session: the name as the programme writes it, and where from."""

    name: str
    affiliation: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """One talk, panel or contribution; ``start``/``end`` in UTC."""

    id: str
    title: str
    start: datetime
    end: datetime
    room: str = ""
    abstract: str = ""
    speakers: tuple[Speaker, ...] = ()


@dataclass(frozen=True, slots=True)
class Programme:
    """A whole conference programme, not cut to the sync window."""

    title: str
    sessions: tuple[Session, ...]
    acronym: str = ""
    first_day: date | None = None
    last_day: date | None = None
    """The conference's dates as it states them, else those of its first and last session."""
    has_speakers: bool = True
    """False when the format carried no speaker data at all (an iCalendar programme without
    speakers in its titles or descriptions): nothing can be matched, and the user is told."""

    @property
    def speaker_count(self) -> int:
        return len({s.name for session in self.sessions for s in session.speakers})

    def to_record(self) -> dict[str, Any]:
        """Return the programme as plain JSON for the store (times as ISO 8601 UTC)."""
        return {
            "title": self.title,
            "acronym": self.acronym,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "has_speakers": self.has_speakers,
            "sessions": [
                {
                    "id": s.id,
                    "title": s.title,
                    "start": to_iso(s.start),
                    "end": to_iso(s.end),
                    "room": s.room,
                    "abstract": s.abstract,
                    "speakers": [[p.name, p.affiliation] for p in s.speakers],
                }
                for s in self.sessions
            ],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Programme:
        """Given a record written by :meth:`to_record`, return the programme."""
        return cls(
            title=record.get("title", ""),
            acronym=record.get("acronym", ""),
            first_day=date.fromisoformat(record["first_day"]) if record.get("first_day") else None,
            last_day=date.fromisoformat(record["last_day"]) if record.get("last_day") else None,
            has_speakers=record.get("has_speakers", True),
            sessions=tuple(
                Session(
                    id=s["id"],
                    title=s["title"],
                    start=from_iso(s["start"]),
                    end=from_iso(s["end"]),
                    room=s.get("room", ""),
                    abstract=s.get("abstract", ""),
                    speakers=tuple(Speaker(n, a) for n, a in s.get("speakers", [])),
                )
                for s in record.get("sessions", [])
            ),
        )


def with_dates(programme: Programme) -> Programme:
    """Given a programme, return it with ``first_day``/``last_day`` filled from its sessions
    (UTC dates) where the format did not state them, and its sessions in time order."""
    sessions = tuple(sorted(programme.sessions, key=lambda s: (s.start, s.id)))
    first, last = programme.first_day, programme.last_day
    if sessions:
        first = first or sessions[0].start.date()
        last = last or max(s.end for s in sessions).date()
    return Programme(
        title=programme.title,
        sessions=sessions,
        acronym=programme.acronym,
        first_day=first,
        last_day=last,
        has_speakers=programme.has_speakers,
    )


__all__ = ["Programme", "Session", "Speaker", "with_dates"]
