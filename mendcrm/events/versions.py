"""Two versions of one component in one calendar object: keep the newer, wherever it stands.

A feed or a merged export may hold the same VEVENT twice: the same UID, and the same
RECURRENCE-ID or none in both, with different SEQUENCE values. Only such components compete; a
master and its overrides never do (RFC 5545 §3.8.4.4: an override replaces one instance, it is
not a version of the master). The newer is, in this order (RFC 5545 §3.8.7.4 and RFC 5546
§2.1.5): the higher SEQUENCE, then the later DTSTAMP, then the later LAST-MODIFIED, then the later
one in the file (a merged export appends what it learned last).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import icalendar

from mendcrm.events.contentlines import Described
from mendcrm.events.values import dt_of

Version = tuple[int, str, str]
"""(SEQUENCE, DTSTAMP, LAST-MODIFIED); the two times as UTC ``YYYYMMDDTHHMMSSZ`` text, so tuples
compare in the order of RFC 5546 §2.1.5. A missing value is 0 or ``""``: the oldest."""

NO_VERSION: Version = (0, "", "")

VERSION_PROPERTIES = ("SEQUENCE", "DTSTAMP", "LAST-MODIFIED")


def component_version(event: icalendar.Component, described: Described | None) -> Version:
    """Given a VEVENT and, if the reader cut them out, its descriptive properties, return its
    version: SEQUENCE (RFC 5545 §3.8.7.4; 0 when absent or not an integer), DTSTAMP and
    LAST-MODIFIED (§3.8.7.2, §3.8.7.3; UTC, ``""`` when absent or unreadable)."""
    values: dict[str, tuple[Mapping[str, str], str]] = {}
    for name in VERSION_PROPERTIES:
        if described is not None and name in described.props:
            params, raw = described.props[name][0]
            values[name] = (params, raw.strip())
        elif name in event:
            prop = event[name]
            prop = prop[0] if isinstance(prop, list) and prop else prop
            values[name] = (getattr(prop, "params", {}), _ical_text(prop))
    sequence = 0
    if "SEQUENCE" in values:
        try:
            sequence = int(values["SEQUENCE"][1])
        except ValueError:
            sequence = 0
    return (
        sequence,
        _utc_text(*values.get("DTSTAMP", ({}, ""))),
        _utc_text(*values.get("LAST-MODIFIED", ({}, ""))),
    )


def newest_versions(
    events: Sequence[icalendar.Component], described: Mapping[int, Described | None]
) -> list[icalendar.Component]:
    """Given the VEVENTs of one object in file order and their cut-out properties (by ``id``),
    return them in the same order without the older versions of any component written twice.

    Components compete only with the same UID and the same RECURRENCE-ID (or none in both);
    one without a UID competes with nothing. The newer is the higher :func:`component_version`,
    then the later in the file.
    """
    if len(events) < 2:
        return list(events)  # one component competes with nothing
    keys: list[tuple[str, str] | None] = []
    for event in events:
        uid = str(event.get("UID", "")).strip()
        keys.append((uid, _recurrence_key(event.get("RECURRENCE-ID"))) if uid else None)
    counted = Counter(k for k in keys if k is not None)
    if all(n == 1 for n in counted.values()):
        return list(events)  # nothing written twice: the usual case, and no versions to read
    best: dict[tuple[str, str], tuple[Version, int]] = {}
    for index, (event, key) in enumerate(zip(events, keys, strict=True)):
        if key is None or counted[key] == 1:
            continue
        rank = (component_version(event, described.get(id(event))), index)
        if key not in best or rank > best[key]:
            best[key] = rank
    return [
        event
        for index, (event, key) in enumerate(zip(events, keys, strict=True))
        if key not in best or best[key][1] == index
    ]


def _recurrence_key(prop: Any) -> str:
    """Return the instant a RECURRENCE-ID names, so that the same instance written in two forms
    (UTC, or with a TZID) compares equal; ``""`` for a component without one."""
    if prop is None:
        return ""
    prop = prop[0] if isinstance(prop, list) and prop else prop
    value = dt_of(prop)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")  # floating: read alike in both copies
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(prop).strip()


def _ical_text(prop: Any) -> str:
    try:
        return str(prop.to_ical().decode("utf-8")).strip()
    except Exception:  # a value icalendar kept as it came
        return str(prop).strip()


_UTC_TEXT = re.compile(r"\d{8}T\d{6}Z\Z")


def _utc_text(params: Mapping[str, str], raw: str) -> str:
    """Return a DTSTAMP/LAST-MODIFIED value as UTC basic text; ``""`` if it is not a date-time.

    Both must be UTC (RFC 5545 §3.8.7.2, §3.8.7.3); one written with a TZID is converted, a
    floating one is read as UTC, which is what the writer most likely meant.
    """
    if not raw:
        return ""
    if _UTC_TEXT.match(raw) and "TZID" not in params:
        return raw  # the form RFC 5545 requires, and nearly every writer uses
    try:
        value = icalendar.vDatetime.from_ical(raw, timezone=params.get("TZID"))
    except Exception:
        return ""
    if not isinstance(value, datetime):
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y%m%dT%H%M%SZ")


__all__ = ["NO_VERSION", "VERSION_PROPERTIES", "Version", "component_version", "newest_versions"]
