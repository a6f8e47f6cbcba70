"""pretalx and frab schedules: ``schedule.json`` and ``schedule.xml``.

Both follow frab's schema (c3voc's ``schedule.json`` / ``schedule.xml`` schemas): a conference
(``acronym``, ``title``, ``start``, ``end``) with days → rooms → talks. Each talk has a ``guid``
(its identity), ``title``, ``abstract``, ``date`` (ISO 8601 with the UTC offset), ``duration``
("HH:MM"), ``room`` and ``persons``: in JSON objects with ``name`` (older exports:
``public_name``), in XML ``<person>`` elements whose text is the name. Neither carries an
affiliation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from xml.etree.ElementTree import Element

from mendcrm.programmes.formats import ProgrammeError
from mendcrm.programmes.model import Programme, Session, Speaker
from mendcrm.programmes.times import aware, frab_duration


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_json(doc: Any, *, where: str) -> Programme:
    """Given a parsed pretalx/frab ``schedule.json``, return the programme; raise
    ProgrammeError naming ``where`` if it lacks ``schedule.conference`` or a talk lacks its
    ``guid``, ``date`` or ``duration``."""
    conference = doc.get("schedule", {}).get("conference") if isinstance(doc, dict) else None
    if not isinstance(conference, dict):
        raise ProgrammeError(
            f"{where}: no schedule.conference in the JSON: not a pretalx/frab schedule.json",
            hint="check the url, or set format to the programme's real format",
        )
    sessions = [_json_talk(talk, room, where) for room, talk in _json_talks(conference)]
    return Programme(
        title=_text(conference.get("title")),
        acronym=_text(conference.get("acronym")),
        first_day=_day(conference.get("start")),
        last_day=_day(conference.get("end")),
        sessions=tuple(sessions),
    )


def _json_talks(conference: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for day in conference.get("days") or ():
        rooms = day.get("rooms") if isinstance(day, dict) else None
        for room, talks in (rooms or {}).items():
            for talk in talks or ():
                if isinstance(talk, dict):
                    yield room, talk


def _json_talk(talk: dict[str, Any], room: str, where: str) -> Session:
    ident = _text(talk.get("guid")) or _text(str(talk.get("id") or ""))
    title = _text(talk.get("title"))
    here = f"{where}: talk {title or ident!r}"
    if not ident:
        raise ProgrammeError(f"{here} has no guid", hint="check the export")
    start = aware(_text(talk.get("date")), here)
    persons = [p for p in talk.get("persons") or () if isinstance(p, dict)]
    speakers = tuple(
        Speaker(name)
        for name in (_text(p.get("name")) or _text(p.get("public_name")) for p in persons)
        if name
    )
    return Session(
        id=ident,
        title=title,
        start=start,
        end=start + frab_duration(_text(talk.get("duration")), here),
        room=_text(talk.get("room")) or room,
        abstract=_text(talk.get("abstract")),
        speakers=speakers,
    )


def read_xml(root: Element, *, where: str) -> Programme:
    """Given the root of a pretalx/frab ``schedule.xml``, return the programme; raise
    ProgrammeError naming ``where`` if the root is not ``<schedule>`` or an event lacks its
    ``guid``, ``date`` or ``duration``."""
    if root.tag != "schedule":
        raise ProgrammeError(
            f"{where}: the XML root is <{root.tag}>, not <schedule>: not a pretalx/frab schedule",
            hint="check the url, or set format to the programme's real format",
        )
    conference = root.find("conference")

    def conf(tag: str) -> str:
        return _text(conference.findtext(tag)) if conference is not None else ""

    sessions = []
    for day in root.iter("day"):
        for room in day.iter("room"):
            for event in room.iter("event"):
                sessions.append(_xml_event(event, room.get("name", ""), where))
    return Programme(
        title=conf("title"),
        acronym=conf("acronym"),
        first_day=_day(conf("start")),
        last_day=_day(conf("end")),
        sessions=tuple(sessions),
    )


def _xml_event(event: Element, room: str, where: str) -> Session:
    ident = event.get("guid") or event.get("id") or ""
    title = _text(event.findtext("title"))
    here = f"{where}: event {title or ident!r}"
    if not ident:
        raise ProgrammeError(f"{here} has no guid", hint="check the export")
    start = aware(_text(event.findtext("date")), here)
    names = (_text(p.text) for p in event.iterfind("persons/person"))
    return Session(
        id=ident,
        title=title,
        start=start,
        end=start + frab_duration(_text(event.findtext("duration")), here),
        room=_text(event.findtext("room")) or room,
        abstract=_text(event.findtext("abstract")),
        speakers=tuple(Speaker(n) for n in names if n),
    )


__all__ = ["read_json", "read_xml"]
