"""The user's time zone, where all-day and floating times are placed."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mendcrm.errors import ConfigError


def user_zone(name: str) -> tzinfo:
    """Given ``[me] timezone`` (an IANA name, or empty for the system's), return the zone.

    Raise ConfigError if the name is not a known zone.
    """
    if not name:
        return system_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"[me] timezone: unknown time zone {name!r}",
            hint="use an IANA name such as 'Europe/Berlin', or leave it empty for the system's",
        ) from exc


def system_zone() -> tzinfo:
    """Return the system's zone: $TZ, /etc/localtime, /etc/timezone, else the current offset."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for candidate in candidates:
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    # Without a zone database entry the current offset is the best guess left.
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def zone_name(zone: tzinfo | None, at: datetime | None = None) -> str | None:
    """Given a tzinfo (and a moment, for zones whose name depends on it), return its IANA key,
    else its display name, else None."""
    if zone is None:
        return None
    key = getattr(zone, "key", None) or getattr(zone, "zone", None)
    if isinstance(key, str):
        return key
    try:
        name = zone.tzname(at)
    except Exception:  # custom VTIMEZONE zones cannot name themselves without a moment
        return None
    return "UTC" if name in ("UTC", "Z") else name


__all__ = ["system_zone", "user_zone", "zone_name"]
