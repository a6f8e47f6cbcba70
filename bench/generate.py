"""Deterministic synthetic calendars for the benchmarks.

``generate_calendar(n, seed=…)`` returns ``n`` calendar objects (one VEVENT series each) spread
over two years around ``center``: mostly single meetings with 1–6 attendees, a share of weekly or
daily series with moved and cancelled instances (RECURRENCE-ID overrides, EXDATE), some all-day
and multi-day events, and a mix of UTC, zoned and floating times. The same seed always gives the
same bytes, so runs can be compared.

``write_radicale_collection(...)`` writes them straight into Radicale's storage layout, which
loads thousands of events in a fraction of a second instead of one PUT each.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Timezone

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
WORDS = [
    "budget",
    "review",
    "planning",
    "sync",
    "roadmap",
    "retro",
    "hiring",
    "design",
    "partner",
    "quarterly",
    "kickoff",
    "architecture",
    "onboarding",
    "support",
    "launch",
    "pricing",
    "research",
    "interview",
    "workshop",
    "offsite",
]
FIRST = [
    "ana",
    "ben",
    "chloe",
    "dara",
    "eli",
    "fay",
    "gus",
    "hana",
    "ivo",
    "jun",
    "kai",
    "lena",
    "milo",
    "nia",
    "omar",
    "pia",
    "quinn",
    "rosa",
    "sam",
    "tom",
]
LAST = [
    "adler",
    "baker",
    "costa",
    "diaz",
    "evans",
    "fischer",
    "garcia",
    "hoff",
    "ito",
    "jones",
    "kim",
    "lopez",
    "meyer",
    "novak",
    "ortiz",
]
DOMAINS = ("example.com", "example.org", "partner.example", "client.example")


@dataclass(frozen=True)
class GeneratedObject:
    """One calendar object: its file name, UID and text, and whether it recurs."""

    name: str
    uid: str
    ics: str
    recurring: bool


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.append(
            (f"{first.title()} {last.title()}", f"{first}.{last}{i}@{rng.choice(DOMAINS)}")
        )
    return people


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _timed(prop: str, value: datetime, zone: str | None) -> str:
    if zone is None:
        return f"{prop}:{_local(value)}"
    if zone == "UTC":
        return f"{prop}:{_local(value)}Z"
    return f"{prop};TZID={zone}:{_local(value)}"


@functools.cache
def _vtimezone(zone: str) -> str:
    # Real VTIMEZONE blocks, as calendar apps write them, so object sizes are realistic.
    block = Timezone.from_tzid(zone, first_date=date(2020, 1, 1), last_date=date(2032, 1, 1))
    return block.to_ical().decode()


def _event_lines(
    rng: random.Random,
    uid: str,
    people: list[tuple[str, str]],
    me: str,
    start_props: list[str],
    summary: str,
    extra: Iterable[str] = (),
) -> list[str]:
    attendees = rng.sample(people, rng.randint(1, 6))
    organizer = attendees[0] if rng.random() < 0.5 else ("Me", me)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20250101T000000Z",
        *start_props,
        f"SUMMARY:{summary}",
        f"LOCATION:Room {rng.randint(1, 40)}",
        f"DESCRIPTION:Agenda: {' '.join(rng.sample(WORDS, 6))}",
        f"ORGANIZER;CN={organizer[0]}:mailto:{organizer[1]}",
    ]
    for cn, email in attendees:
        stat = rng.choice(("ACCEPTED", "TENTATIVE", "NEEDS-ACTION", "DECLINED"))
        lines.append(f"ATTENDEE;CN={cn};PARTSTAT={stat};ROLE=REQ-PARTICIPANT:mailto:{email}")
    lines.append(f"ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:{me}")
    lines.extend(extra)
    lines.append("END:VEVENT")
    return lines


def generate_calendar(
    count: int = 5000,
    *,
    seed: int = 20260501,
    center: datetime = datetime(2026, 5, 1, tzinfo=UTC),
    recurring_share: float = 0.08,
    years: float = 2.0,
    me: str = "me@example.com",
) -> list[GeneratedObject]:
    """Given a size and a seed, return that many calendar objects, the same for the same inputs."""
    rng = random.Random(seed)
    people = _people(rng, 400)
    half_span = timedelta(days=365 * years / 2)
    objects: list[GeneratedObject] = []
    recurring_count = round(count * recurring_share)
    for index in range(count):
        uid = f"bench-{seed}-{index:05d}@mendcrm.example"
        recurring = index < recurring_count
        offset = timedelta(seconds=rng.randint(0, int(2 * half_span.total_seconds())))
        start = (center - half_span + offset).replace(minute=0, second=0, microsecond=0)
        start = start.replace(hour=rng.randint(7, 17))
        summary = " ".join(rng.sample(WORDS, rng.randint(2, 4))).capitalize()
        kind = rng.random()
        zone: str | None = rng.choice(ZONES) if kind < 0.9 else None
        components: list[str] = []
        if recurring:
            naive = start.replace(tzinfo=None) - timedelta(days=rng.randint(0, 200))
            freq = rng.choice(("WEEKLY", "WEEKLY", "DAILY", "MONTHLY"))
            until = "" if rng.random() < 0.4 else f";COUNT={rng.randint(10, 120)}"
            duration = timedelta(minutes=rng.choice((30, 45, 60)))
            starts = [_timed("DTSTART", naive, zone), _timed("DTEND", naive + duration, zone)]
            step = {"DAILY": timedelta(days=1), "WEEKLY": timedelta(days=7)}.get(
                freq, timedelta(days=28)
            )
            exdate = naive + step * rng.randint(1, 8)
            extra = [f"RRULE:FREQ={freq}{until}", _timed("EXDATE", exdate, zone)]
            components += _event_lines(rng, uid, people, me, starts, summary, extra)
            for _ in range(rng.randint(1, 3)):
                moved = naive + step * rng.randint(9, 20)
                new_start = moved + timedelta(hours=rng.choice((-2, 1, 3)))
                override = [
                    _timed("RECURRENCE-ID", moved, zone),
                    _timed("DTSTART", new_start, zone),
                    _timed("DTEND", new_start + duration, zone),
                ]
                status = ["STATUS:CANCELLED"] if rng.random() < 0.2 else []
                components += _event_lines(rng, uid, people, me, override, summary, status)
        elif kind > 0.95:
            day = start.date()
            days = rng.randint(1, 4)
            props = [
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{day + timedelta(days=days):%Y%m%d}",
            ]
            components += _event_lines(
                rng, uid, people, me, props, f"{summary} conference", ["CATEGORIES:Conference"]
            )
            zone = None
        else:
            naive = start.replace(tzinfo=None)
            minutes = rng.choice((15, 30, 45, 60, 90))
            if rng.random() < 0.2:
                ends = [f"DURATION:PT{minutes}M"]
            else:
                ends = [_timed("DTEND", naive + timedelta(minutes=minutes), zone)]
            components += _event_lines(
                rng, uid, people, me, [_timed("DTSTART", naive, zone), *ends], summary
            )
        head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//MendCRM//bench//EN\r\n"
        tz = _vtimezone(zone) if zone not in (None, "UTC") else ""
        text = head + tz + "\r\n".join(components) + "\r\nEND:VCALENDAR\r\n"
        objects.append(GeneratedObject(f"{uid.split('@')[0]}.ics", uid, text, recurring))
    return objects


def write_radicale_collection(
    storage: Path,
    user: str,
    calendar: str,
    objects: Iterable[GeneratedObject],
    *,
    display: str = "",
) -> str:
    """Write objects into Radicale's filesystem layout and return the calendar's path."""
    folder = storage / "collection-root" / user / calendar
    folder.mkdir(parents=True, exist_ok=True)
    props = {
        "tag": "VCALENDAR",
        "D:displayname": display or calendar,
        "C:supported-calendar-component-set": "VEVENT",
    }
    (folder / ".Radicale.props").write_text(json.dumps(props))
    for obj in objects:
        (folder / obj.name).write_text(obj.ics, newline="")
    return f"/{user}/{calendar}/"


__all__ = ["GeneratedObject", "generate_calendar", "write_radicale_collection"]
