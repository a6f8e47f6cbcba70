"""iCalendar programmes: Sched's ``all.ics``, pretalx/frab ``schedule.ics``, Indico ``.ics``.

The octets are unfolded and decoded once (:func:`mendcrm.events.octets.decode_calendar`, RFC
5545 §3.1) and parsed by ``icalendar``. Each VEVENT is a session: ``UID`` its identity,
``SUMMARY``, ``DTSTART``/``DTEND`` (or ``DURATION``; a floating time is read in the configured
zone), ``LOCATION`` the room, ``DESCRIPTION`` the abstract. Speakers are not a property of
iCalendar; programmes put them in the text:

- a ``Speakers:`` (or ``Speaker:``) line of the description, "Name (Affiliation), Name" (Indico,
  Sched);
- else the end of the summary after the last " - ": "Title - Speaker A, Speaker B" (pretalx).

When no event carries either, the programme says it has no speaker data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import icalendar

from mendcrm.events.octets import decode_calendar
from mendcrm.programmes.formats import ProgrammeError
from mendcrm.programmes.model import Programme, Session, Speaker
from mendcrm.programmes.times import zone_named

_SPEAKERS_LINE = re.compile(r"^\s*speakers?\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_WITH_AFFILIATION = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
_NAME_WORD = re.compile(r"^[^\W\d_][\w.'’\-]*$")


def _split_people(text: str) -> list[Speaker]:
    """Given "Name (Affiliation), Name and Name", return the speakers it lists."""
    people = []
    for part in re.split(r",(?![^()]*\))|;|\s+and\s+|\s*&\s*", text):
        part = part.strip()
        match = _WITH_AFFILIATION.match(part)
        name, affiliation = (match.group(1), match.group(2)) if match else (part, "")
        if name.strip():
            people.append(Speaker(name.strip(), affiliation.strip()))
    return people


def _looks_like_names(people: list[Speaker]) -> bool:
    """Return True if every item reads as a person's name: 2–5 words, each starting with a
    letter, at least one capitalised ("Anna Lee", "Jean-Luc de Vries")."""
    for person in people:
        parts = person.name.split()
        if not 2 <= len(parts) <= 5 or not all(_NAME_WORD.match(p) for p in parts):
            return False
        if not any(p[0].isupper() for p in parts):
            return False
    return bool(people)


def speakers_in(summary: str, description: str) -> tuple[str, tuple[Speaker, ...]]:
    """Given a VEVENT's summary and description, return the session title and its speakers
    as the text gives them (see the module's docstring); no speakers if neither names any."""
    line = _SPEAKERS_LINE.search(description or "")
    if line:
        return summary.strip(), tuple(_split_people(line.group(1)))
    head, sep, tail = summary.rpartition(" - ")
    if sep and head.strip():
        people = _split_people(tail)
        if _looks_like_names(people):
            return head.strip(), tuple(people)
    return summary.strip(), ()


def _utc(value: date | datetime, zone: str, where: str) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        if not zone:
            raise ProgrammeError(
                f"{where}: a floating time and no timezone configured",
                hint='add timezone = "…" (the conference\'s zone) to this [[programmes]] entry',
            )
        value = value.replace(tzinfo=zone_named(zone, where))
    return value.astimezone(UTC)


def read(body: bytes, *, where: str, title: str, zone: str) -> Programme:
    """Given an iCalendar programme's octets, return the programme; raise ProgrammeError naming
    ``where`` if it is not iCalendar. An event without UID or DTSTART is left out."""
    decoded = decode_calendar(body)
    try:
        calendar = icalendar.Calendar.from_ical(decoded.text)
    except ValueError as exc:
        raise ProgrammeError(f"{where}: not an iCalendar document ({exc})") from None
    name = str(calendar.get("X-WR-CALNAME", "") or "").strip() or title
    sessions = []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "") or "").strip()
        if not uid or "DTSTART" not in event:
            continue
        here = f"{where}: event {uid!r}"
        try:
            first: date | datetime = event.decoded("DTSTART")
            start = _utc(first, zone, here)
            if "DTEND" in event:
                end = _utc(event.decoded("DTEND"), zone, here)
            elif "DURATION" in event:
                end = start + event.decoded("DURATION")
            else:  # RFC 5545 §3.6.1: a date lasts one day, a date-time no time at all
                end = start + (timedelta() if isinstance(first, datetime) else timedelta(days=1))
        except (ValueError, TypeError, KeyError) as exc:
            raise ProgrammeError(f"{here}: its times cannot be read ({exc})") from None
        summary = str(event.get("SUMMARY", "") or "")
        description = str(event.get("DESCRIPTION", "") or "")
        session_title, speakers = speakers_in(summary, description)
        sessions.append(
            Session(
                id=uid,
                title=session_title,
                start=start,
                end=end,
                room=str(event.get("LOCATION", "") or "").strip(),
                abstract=_SPEAKERS_LINE.sub("", description).strip(),
                speakers=speakers,
            )
        )
    return Programme(
        title=name,
        sessions=tuple(sessions),
        has_speakers=any(s.speakers for s in sessions),
    )


__all__ = ["read", "speakers_in"]
