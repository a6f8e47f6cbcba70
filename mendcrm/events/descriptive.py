"""The descriptive properties of one VEVENT: text, categories and the people in it.

Read from the text cut out before parsing (:class:`~mendcrm.events.contentlines.Described`), or
from icalendar's component when the cut did not line up. Who an address is is decided by
:mod:`mendcrm.addresses` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import icalendar

from mendcrm.addresses import address_key, address_problem, is_mine
from mendcrm.events.contentlines import Described, split_list, unescape_text
from mendcrm.model import Attendee


def text_of(source: Described | icalendar.Component, name: str) -> str:
    """Given a VEVENT (its cut-out descriptive properties, or icalendar's component) and a TEXT
    property name, return its values unescaped (RFC 5545 §3.3.11), one per line."""
    if isinstance(source, Described):
        return "\n".join(unescape_text(v).strip() for _, v in source.props.get(name, ()))
    values = _as_list(source.get(name))
    return "\n".join(str(v).strip() for v in values)


def categories_of(source: Described | icalendar.Component) -> tuple[str, ...]:
    """Given a VEVENT, return its CATEGORIES (RFC 5545 §3.8.1.2), each once, in order."""
    raw: list[str] = []
    if isinstance(source, Described):
        for _, value in source.props.get("CATEGORIES", ()):
            raw.extend(split_list(value))
    else:
        for item in _as_list(source.get("CATEGORIES")):
            cats = getattr(item, "cats", None)
            raw.extend(str(c) for c in (cats if cats is not None else str(item).split(",")))
    names: list[str] = []
    for name in (r.strip() for r in raw):
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _raw_people(
    source: Described | icalendar.Component,
) -> tuple[list[tuple[str, Mapping[str, Any]]], list[tuple[str, Mapping[str, Any]]]]:
    """Return the ORGANIZER and ATTENDEE (value, parameters) pairs as written."""
    organizers: list[tuple[str, Mapping[str, Any]]]
    attendees: list[tuple[str, Mapping[str, Any]]]
    if isinstance(source, Described):
        organizers = [(v, p) for p, v in source.props.get("ORGANIZER", ())]
        attendees = [(v, p) for p, v in source.props.get("ATTENDEE", ())]
    else:
        organizers = [(str(v), getattr(v, "params", {})) for v in _as_list(source.get("ORGANIZER"))]
        attendees = [(str(v), getattr(v, "params", {})) for v in _as_list(source.get("ATTENDEE"))]
    return organizers, attendees


def people_of(
    source: Described | icalendar.Component, warn: Callable[[str], None] | None = None
) -> tuple[Attendee | None, tuple[Attendee, ...]]:
    """Given a VEVENT, return its organizer and attendees, each known by the address
    :func:`mendcrm.addresses.address_key` reads; ``warn`` hears of any address that cannot be
    read."""
    organizers, attendees = _raw_people(source)
    if warn is not None:
        # A person whose address cannot be read is never matched by it: say so, once.
        for name, entries in (("ORGANIZER", organizers[:1]), ("ATTENDEE", attendees)):
            for value, params in entries:
                problem = address_problem(value, params)
                if problem:
                    cn = str(params.get("CN", "")).strip()
                    who = f"{name} {cn!r}" if cn else name
                    warn(f"{who}: {problem}; read as an unknown person")
    organizer = None
    if organizers:
        value, params = organizers[0]
        organizer = _address(value, params, default_partstat="ACCEPTED", default_role="CHAIR")
    people = tuple(a for a in (_address(v, p) for v, p in attendees) if a is not None)
    return organizer, people


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _address(
    value: str,
    params: Mapping[str, Any],
    default_partstat: str = "NEEDS-ACTION",
    default_role: str = "REQ-PARTICIPANT",
) -> Attendee | None:
    # The mail address the entry stands for (EMAIL parameter, mailto: in any form), else the
    # value's own identity (a principal path, urn:uuid:...), which never matches a contact's
    # address but still tells the user's own entry and "someone else" apart.
    email = address_key(value, params)
    if not email:
        return None
    return Attendee(
        email=email,
        cn=str(params.get("CN", "")).strip(),
        partstat=str(params.get("PARTSTAT", default_partstat)).strip().upper() or default_partstat,
        role=str(params.get("ROLE", default_role)).strip().upper() or default_role,
    )


def my_partstat_of(source: Described | icalendar.Component, mine: frozenset[str]) -> str | None:
    """Return the user's PARTSTAT on the event: from their ATTENDEE entry (known by its EMAIL
    parameter or its value, see mendcrm.addresses), else ACCEPTED if they organise it."""
    if not mine:
        return None
    organizers, attendees = _raw_people(source)
    for value, params in attendees:
        if is_mine(value, params, mine):
            partstat = str(params.get("PARTSTAT", "")).strip().upper()
            return partstat or "NEEDS-ACTION"
    if organizers and is_mine(organizers[0][0], organizers[0][1], mine):
        return "ACCEPTED"
    return None


__all__ = ["categories_of", "my_partstat_of", "people_of", "text_of"]
