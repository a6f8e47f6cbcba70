"""Calendar objects for the end-to-end tests, written out as iCalendar text.

Only what the tests need: timed and all-day events, attendees with a participation status, an
organizer, STATUS, CATEGORIES, an RRULE with EXDATEs, and RECURRENCE-ID overrides in the same
object (as CalDAV stores a series).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Person:
    """An attendee or organizer line: address, display name, participation status."""

    email: str
    cn: str = ""
    partstat: str = "ACCEPTED"

    def line(self, prop: str) -> str:
        params = f";CN={self.cn}" if self.cn else ""
        if prop == "ATTENDEE":
            params += f";PARTSTAT={self.partstat}"
        return f"{prop}{params}:mailto:{self.email}"


@dataclass(frozen=True)
class Event:
    """One VEVENT. ``start`` is a UTC datetime, or a date for an all-day event."""

    uid: str
    start: datetime | date
    end: datetime | date | None = None
    summary: str = ""
    location: str = ""
    description: str = ""
    attendees: Sequence[Person] = ()
    organizer: Person | None = None
    status: str = ""
    categories: Sequence[str] = ()
    rrule: str = ""
    exdates: Sequence[datetime] = ()
    recurrence_id: datetime | None = None
    sequence: int = 0
    extra: Sequence[str] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        out = ["BEGIN:VEVENT", f"UID:{self.uid}", "DTSTAMP:20300101T000000Z"]
        if isinstance(self.start, datetime):
            end = self.end or self.start + timedelta(hours=1)
            assert isinstance(end, datetime)
            out += [f"DTSTART:{_utc(self.start)}", f"DTEND:{_utc(end)}"]
        else:
            end_day = self.end or self.start + timedelta(days=1)
            out += [f"DTSTART;VALUE=DATE:{self.start:%Y%m%d}", f"DTEND;VALUE=DATE:{end_day:%Y%m%d}"]
        if self.recurrence_id is not None:
            out.append(f"RECURRENCE-ID:{_utc(self.recurrence_id)}")
        if self.sequence:
            out.append(f"SEQUENCE:{self.sequence}")
        if self.rrule:
            out.append(f"RRULE:{self.rrule}")
        out += [f"EXDATE:{_utc(x)}" for x in self.exdates]
        for prop, value in (
            ("SUMMARY", self.summary),
            ("LOCATION", self.location),
            ("DESCRIPTION", self.description),
            ("STATUS", self.status),
        ):
            if value:
                out.append(f"{prop}:{_escape(value)}")
        if self.categories:
            out.append("CATEGORIES:" + ",".join(_escape(c) for c in self.categories))
        if self.organizer is not None:
            out.append(self.organizer.line("ORGANIZER"))
        out += [a.line("ATTENDEE") for a in self.attendees]
        out += list(self.extra)
        out.append("END:VEVENT")
        return out


def calendar(*events: Event) -> str:
    """Given the VEVENTs of one calendar object (one UID), return the object's text."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//MendCRM tests//e2e//EN"]
    for event in events:
        lines += event.lines()
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


__all__ = ["Event", "Person", "calendar"]
