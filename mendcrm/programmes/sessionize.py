"""Sessionize's "All" view JSON (``/api/v2/{id}/view/All``).

``sessions[]`` has ``id``, ``title``, ``description``, ``startsAt``/``endsAt`` (local times
without an offset: the event's zone is not in the export, so the config's ``timezone`` is
needed), ``roomId`` and ``speakers`` (a list of speaker ids); ``speakers[]`` has ``id``,
``fullName`` (else ``firstName`` + ``lastName``) and ``tagLine``; ``rooms[]`` has ``id`` and
``name``. Service sessions (breaks, ``isServiceSession``) and sessions not yet placed in the
schedule (no ``startsAt``) are left out. The export has no conference title: the programme's
configured name stands in.
"""

from __future__ import annotations

from typing import Any

from mendcrm.programmes.formats import ProgrammeError
from mendcrm.programmes.model import Programme, Session, Speaker
from mendcrm.programmes.times import aware


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read(doc: Any, *, where: str, title: str, zone: str) -> Programme:
    """Given a parsed Sessionize "All" document, return the programme; raise ProgrammeError
    naming ``where`` if it has no ``sessions`` list, or a session's times cannot be read."""
    if not isinstance(doc, dict) or not isinstance(doc.get("sessions"), list):
        raise ProgrammeError(
            f'{where}: no sessions list in the JSON: not a Sessionize "All" export',
            hint="use the API's view/All JSON endpoint, or set format to the programme's format",
        )
    people: dict[str, Speaker] = {}
    for person in doc.get("speakers") or ():
        if not isinstance(person, dict):
            continue
        name = _text(person.get("fullName")) or " ".join(
            n for n in (_text(person.get("firstName")), _text(person.get("lastName"))) if n
        )
        if name:
            people[str(person.get("id"))] = Speaker(name)
    rooms = {
        str(r.get("id")): _text(r.get("name"))
        for r in doc.get("rooms") or ()
        if isinstance(r, dict)
    }
    sessions = []
    for item in doc["sessions"]:
        if not isinstance(item, dict) or item.get("isServiceSession") or not item.get("startsAt"):
            continue
        ident = str(item.get("id") or "")
        here = f"{where}: session {_text(item.get('title')) or ident!r}"
        if not ident:
            raise ProgrammeError(f"{here} has no id", hint="check the export")
        start = aware(_text(item.get("startsAt")), here, zone)
        end = aware(_text(item.get("endsAt")), here, zone) if item.get("endsAt") else start
        sessions.append(
            Session(
                id=ident,
                title=_text(item.get("title")),
                start=start,
                end=end,
                room=rooms.get(str(item.get("roomId")), ""),
                abstract=_text(item.get("description")),
                speakers=tuple(
                    people[s] for s in map(str, item.get("speakers") or ()) if s in people
                ),
            )
        )
    return Programme(title=title, sessions=tuple(sessions))


__all__ = ["read"]
