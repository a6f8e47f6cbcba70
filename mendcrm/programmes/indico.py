"""Indico's event export: ``/export/event/ID.json?detail=contributions``.

The answer is ``{"_type": "HTTPAPIResult", "results": [event]}``; the event has ``title``,
``startDate``/``endDate`` and ``contributions[]``, each with ``id``, ``title``, ``description``,
``startDate``/``endDate``, ``room`` (or ``roomFullname``) and ``speakers[]`` (``fullName``,
often "Last, First", ``first_name``, ``last_name``, ``affiliation``). A time is
``{"date": "YYYY-MM-DD", "time": "HH:MM:SS", "tz": ZONE}`` in the *server's* zone (the ``tz``
query parameter, else the server default), which may differ from the event's ``timezone``: each
time is read in its own ``tz``. Contributions not yet scheduled (``startDate`` null) are left
out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from mendcrm.programmes.formats import ProgrammeError
from mendcrm.programmes.model import Programme, Session, Speaker
from mendcrm.programmes.times import aware


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _when(value: Any, where: str) -> datetime | None:
    if not isinstance(value, dict) or not value.get("date"):
        return None
    clock = _text(value.get("time")) or "00:00:00"
    return aware(f"{_text(value.get('date'))}T{clock}", where, _text(value.get("tz")))


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(_text(value.get("date"))) if isinstance(value, dict) else None
    except ValueError:
        return None


_MAX_MINUTES = 7 * 24 * 60
"""A contribution longer than a week is a broken export, not a session."""


def _minutes(value: Any, where: str) -> int:
    """Return a contribution's ``duration`` (minutes); raise ProgrammeError if not a number."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProgrammeError(f"{where}: duration {value!r} is not a number of minutes")
    try:
        minutes = int(float(value))
    except (ValueError, OverflowError):
        raise ProgrammeError(f"{where}: duration {value!r} is not a number of minutes") from None
    if not 0 <= minutes <= _MAX_MINUTES:
        raise ProgrammeError(f"{where}: duration {value!r} minutes is not a session's length")
    return minutes


def _speaker(person: dict[str, Any]) -> Speaker:
    first, last = _text(person.get("first_name")), _text(person.get("last_name"))
    # fullName is "Last, First" in most exports; the name matcher reads that order too, but the
    # separate fields say it plainly when present.
    name = f"{first} {last}".strip() if first and last else _text(person.get("fullName"))
    return Speaker(name, _text(person.get("affiliation")))


def read(doc: Any, *, where: str) -> Programme:
    """Given a parsed Indico export, return its (first) event's programme; raise
    ProgrammeError naming ``where`` if there is no event, or a time cannot be read."""
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise ProgrammeError(
            f"{where}: no event in the JSON's results: not an Indico event export",
            hint="use /export/event/ID.json?detail=contributions, or set format to the real one",
        )
    event = results[0]
    sessions = []
    for item in event.get("contributions") or ():
        if not isinstance(item, dict):
            continue
        ident = str(item.get("id") or item.get("db_id") or "")
        here = f"{where}: contribution {_text(item.get('title')) or ident!r}"
        start = _when(item.get("startDate"), here)
        if start is None or not ident:
            continue
        end = _when(item.get("endDate"), here) or start + timedelta(
            minutes=_minutes(item.get("duration"), here)
        )
        sessions.append(
            Session(
                id=ident,
                title=_text(item.get("title")),
                start=start,
                end=end,
                room=_text(item.get("room")) or _text(item.get("roomFullname")),
                abstract=_text(item.get("description")),
                speakers=tuple(
                    _speaker(p) for p in item.get("speakers") or () if isinstance(p, dict)
                ),
            )
        )
    return Programme(
        title=_text(event.get("title")),
        first_day=_day(event.get("startDate")),
        last_day=_day(event.get("endDate")),
        sessions=tuple(sessions),
    )


__all__ = ["read"]
