"""Small builders for iCalendar test objects (text, as a calendar app would write it)."""

from __future__ import annotations

from collections.abc import Iterable

NOW_STAMP = "20260101T000000Z"


def vevent(
    uid: str,
    start: str,
    end: str | None = None,
    *,
    summary: str = "Meeting",
    extra: Iterable[str] = (),
) -> str:
    """Return one VEVENT block; ``start``/``end`` are full property lines or bare UTC values."""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{NOW_STAMP}"]
    lines.append(start if ":" in start else f"DTSTART:{start}")
    if end is not None:
        lines.append(end if ":" in end else f"DTEND:{end}")
    lines.append(f"SUMMARY:{summary}")
    lines.extend(extra)
    lines.append("END:VEVENT")
    return "\n".join(lines) + "\n"


def calendar(*blocks: str, head: Iterable[str] = ()) -> str:
    """Wrap VEVENT/VTIMEZONE blocks into a VCALENDAR."""
    top = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//MendCRM tests//EN", *head]
    return "\n".join(top) + "\n" + "".join(blocks) + "END:VCALENDAR\n"


def event(uid: str, start: str, end: str | None = None, **kwargs: object) -> str:
    """Return a calendar holding one VEVENT."""
    return calendar(vevent(uid, start, end, **kwargs))  # type: ignore[arg-type]
