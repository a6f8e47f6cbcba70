"""Times as programmes write them, read into aware UTC datetimes.

Formats differ: pretalx/frab write ISO 8601 with a UTC offset and a duration "HH:MM"; Sessionize
writes local times without an offset (the event's zone is not in the export, so the config's
``timezone`` is required); Indico writes ``{"date", "time", "tz"}`` in the server's zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mendcrm.programmes.formats import ProgrammeError

_DURATION = re.compile(r"^\s*(?:(\d{1,3}):)?(\d{1,3}):(\d{2})(?::(\d{2}))?\s*$")


def zone_named(name: str, where: str) -> ZoneInfo:
    """Given an IANA zone name, return the zone; raise ProgrammeError naming ``where``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProgrammeError(
            f"{where}: unknown time zone {name!r}", hint='use an IANA name such as "Europe/Lisbon"'
        ) from None


def aware(text: str, where: str, zone: str = "") -> datetime:
    """Given an ISO 8601 date-time, return it in UTC; one without an offset is read in
    ``zone``. Raise ProgrammeError naming ``where`` if it is not a date-time, or has no offset
    and no zone is given."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ProgrammeError(f"{where}: {text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        if not zone:
            raise ProgrammeError(
                f"{where}: the time {text!r} carries no UTC offset and no timezone is configured",
                hint='add timezone = "Europe/Lisbon" (the conference\'s zone) to this '
                "[[programmes]] entry",
            )
        moment = moment.replace(tzinfo=zone_named(zone, where))
    return moment.astimezone(UTC)


def frab_duration(text: str, where: str) -> timedelta:
    """Given a frab/pretalx duration ("00:30", "1:15", "01:00:00", or "1:02:00" days first as
    frab writes multi-day ones), return it; raise ProgrammeError naming ``where``."""
    match = _DURATION.match(text or "")
    if not match:
        raise ProgrammeError(f"{where}: {text!r} is not a duration such as 00:30")
    first, second, third, fourth = match.groups()
    if fourth is not None:  # H:MM:SS, or D:HH:MM:SS would need a fourth group; frab has none
        hours, minutes, seconds = int(second), int(third), int(fourth)
        if first is not None:
            return timedelta(days=int(first), hours=hours, minutes=minutes, seconds=seconds)
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if first is not None:  # D:HH:MM
        return timedelta(days=int(first), hours=int(second), minutes=int(third))
    return timedelta(hours=int(second), minutes=int(third))


__all__ = ["aware", "frab_duration", "zone_named"]
