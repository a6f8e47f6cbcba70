"""The demo's conference programme: a small pretalx ``schedule.json`` beside the sample calendar.

It is the programme of the sample calendar's "DataOps Europe Summit" (same days), in the shape
pretalx exports (the committed real export in ``tests/fixtures/programmes/pretalx`` is the
model): Martin Keller speaks in one session; "Martina Keller" and "Kwame Osei-Bonsu", who are
not the demo's contacts, speak in others.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

NAME = "dataops-europe"

_TALKS = (
    # day, hour, minutes, room, title, abstract, speakers
    (0, 10, 30, "Auditorium", "Open data partnerships that last",
     "What ten years of public-sector data sharing taught us about trust between teams.",
     ("Martin Keller",)),
    (0, 11, 30, "Room 2", "Data contracts in practice",
     "Schemas, owners and the politics of breaking changes.", ("Martina Keller",)),
    (1, 14, 45, "Auditorium", "Cost per query", "Unit economics for analytics platforms.",
     ("Kwame Osei-Bonsu",)),
)  # fmt: skip


def conference_day(today: date) -> date:
    """Given today's date, return the first day of the sample conference (as in sample.py)."""
    return today + timedelta(days=9)


def schedule(now: datetime) -> dict[str, Any]:
    """Given the current time, return the programme as pretalx's schedule.json document."""
    first = conference_day(now.astimezone(UTC).date())
    year = first.year
    days: list[dict[str, Any]] = []
    for index in range(3):
        day = first + timedelta(days=index)
        rooms: dict[str, list[dict[str, Any]]] = {}
        for offset, hour, minutes, room, title, abstract, speakers in _TALKS:
            if offset != index:
                continue
            start = datetime.combine(day, time(hour), UTC)
            rooms.setdefault(room, []).append(
                {
                    "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mendcrm-demo/{title}")),
                    "code": title[:6].upper().replace(" ", "X"),
                    "date": start.isoformat(),
                    "start": f"{hour:02d}:00",
                    "duration": f"00:{minutes:02d}",
                    "room": room,
                    "title": title,
                    "abstract": abstract,
                    "persons": [{"name": s, "public_name": s} for s in speakers],
                }
            )
        days.append({"index": index + 1, "date": day.isoformat(), "rooms": rooms})
    return {
        "$schema": "https://c3voc.de/schedule/schema.json",
        "generator": {"name": "pretalx", "version": "2025.2.2"},
        "schedule": {
            "version": "v1",
            "conference": {
                "acronym": f"dataops-europe-{year}",
                "title": f"DataOps Europe Summit {year}",
                "start": first.isoformat(),
                "end": (first + timedelta(days=2)).isoformat(),
                "daysCount": 3,
                "time_zone_name": "UTC",
                "days": days,
            },
        },
    }


def write(folder: Path, now: datetime) -> Path:
    """Given the demo folder and the time, write the programme file and return its path."""
    path = folder / f"{NAME}.json"
    path.write_text(json.dumps(schedule(now), indent=1), encoding="utf-8")
    return path


__all__ = ["NAME", "conference_day", "schedule", "write"]
