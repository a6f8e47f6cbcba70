"""The demo's sample data: people in the situations MendCRM is for, and a calendar around today.

The people are composites of common situations — a former section head you will meet at a
conference after leaving on bad terms, a colleague after a deadline dispute, a partner whose team
distrusted your predecessor — each at a different stage of repair. The calendar is built relative
to "now" so the demo always has something ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mendcrm.model import Contact, Interaction

ME_EMAIL = "alex.morgan@example.org"
ME_NAME = "Alex Morgan"


def contacts(now: datetime) -> list[Contact]:
    """Given the current time, return the demo's contacts (their stages set some weeks ago)."""

    def weeks(n: int) -> datetime:
        return now - timedelta(weeks=n)

    return [
        Contact(
            id="demo-keller",
            name="Martin Keller",
            aliases=("Martin",),
            emails=("m.keller@larchwood.example",),
            org="Larchwood Analytics",
            role="Head of Data Services",
            stage="strained",
            stage_since=weeks(10),
            history=(
                "Your former section head. A manager turned him against you before you left; "
                "at your farewell call he did not wish you well. You parted without a word "
                "about it."
            ),
            strengths="Built the open-data partnership programme; generous mentor to juniors.",
            goal="Civil, professional contact now; later, a fresh start for future partnerships.",
            boundaries="Don't relitigate what your old manager said about you.",
            affinity=("DataOps Europe", "Open Data Circle"),
        ),
        Contact(
            id="demo-raman",
            name="Priya Raman",
            emails=("priya.raman@example.org",),
            org="Platform team",
            role="Senior engineer",
            stage="rebuilding",
            stage_since=weeks(3),
            history=(
                "You fell out over the release deadline in spring: you escalated without talking "
                "to her first. You have since had coffee and cleared the air."
            ),
            strengths="Meticulous about reliability; great at explaining trade-offs.",
            goal="Trust back, and a shared project that goes well.",
            boundaries="Keep the weekly sync about the work, not the old dispute.",
        ),
        Contact(
            id="demo-whitfield",
            name="Dana Whitfield",
            emails=("dana.whitfield@northwind.example",),
            org="Northwind Logistics",
            role="Head of Procurement",
            stage="cordial",
            stage_since=weeks(6),
            history=(
                "Her team had a bad run with your predecessor and thinks your department is not "
                "worth talking to. You are new in the role."
            ),
            strengths="Knows the supplier landscape better than anyone; values straight talk.",
            goal="A working partnership; ask her advice and learn what went wrong before.",
        ),
        Contact(
            id="demo-osei",
            name="Kwame Osei",
            emails=("kwame.osei@example.org",),
            org="Finance",
            stage="mended",
            stage_since=weeks(20),
            history="A budget row last year, long since settled.",
        ),
    ]


def interactions(now: datetime) -> list[Interaction]:
    """Given the current time, return some history for the demo's contacts."""

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    return [
        Interaction(
            id="demo-i1",
            contact_id="demo-raman",
            when=days(30),
            kind="coffee",
            outcome="positive",
            note="Owned my part in the escalation; she described the pressure she was under.",
        ),
        Interaction(
            id="demo-i2",
            contact_id="demo-raman",
            when=days(9),
            kind="meeting",
            outcome="neutral",
            note="Weekly sync; a bit stiff but productive.",
        ),
        Interaction(
            id="demo-i3",
            contact_id="demo-whitfield",
            when=days(20),
            kind="message",
            outcome="neutral",
            note="Introduced myself as new in the role; she replied briefly.",
        ),
        Interaction(
            id="demo-i4",
            contact_id="demo-keller",
            when=days(70),
            kind="farewell call",
            outcome="negative",
            note="He just nodded when I said goodbye.",
        ),
        Interaction(
            id="demo-i5",
            contact_id="demo-osei",
            when=days(80),
            kind="lunch",
            outcome="positive",
            note="Caught up over lunch; the budget row is long forgotten.",
        ),
    ]


@dataclass(frozen=True)
class SampleEvent:
    """One calendar object of the demo, as iCalendar text, and what it is there to show."""

    uid: str
    purpose: str
    ics: str


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _event(uid: str, purpose: str, now: datetime, *properties: str) -> SampleEvent:
    """Given a UID, what the event shows and its properties, return it as a calendar object."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//MendCRM//demo//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_stamp(now)}",
        *properties,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return SampleEvent(uid, purpose, "\r\n".join(lines) + "\r\n")


def _timed(start: datetime, end: datetime) -> tuple[str, str]:
    return f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(end)}"


def _attendee(email: str, name: str, partstat: str = "ACCEPTED") -> str:
    return f'ATTENDEE;CN="{name}";PARTSTAT={partstat};ROLE=REQ-PARTICIPANT:mailto:{email}'


def events(now: datetime) -> list[SampleEvent]:
    """Given the current time, return the demo calendar: what each event is there to show."""
    today = now.astimezone(UTC).date()

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=UTC)

    me = f'ORGANIZER;CN="{ME_NAME}":mailto:{ME_EMAIL}'
    # Soon enough that its prep note (due 24 h before) is already due when the demo runs.
    review = (now + timedelta(hours=20)).replace(minute=0, second=0, microsecond=0)
    conference = today + timedelta(days=9)
    return [
        _event(
            "demo-conference@mendcrm",
            "a multi-day conference where a flagged contact may be",
            now,
            f"DTSTART;VALUE=DATE:{_day(conference)}",
            f"DTEND;VALUE=DATE:{_day(conference + timedelta(days=3))}",
            "SUMMARY:DataOps Europe Summit",
            "LOCATION:Lisbon Congress Centre",
            "CATEGORIES:Conference",
        ),
        _event(
            "demo-partner-review@mendcrm",
            "a partner meeting with a flagged attendee",
            now,
            *_timed(review, review + timedelta(hours=1)),
            "SUMMARY:Quarterly partnership review",
            "LOCATION:Northwind office, Room 4",
            me,
            _attendee(ME_EMAIL, ME_NAME),
            _attendee("dana.whitfield@northwind.example", "Dana Whitfield"),
            _attendee("ops@northwind.example", "Northwind Ops", "NEEDS-ACTION"),
        ),
        _event(
            "demo-platform-sync@mendcrm",
            "a recurring weekly check-in",
            now,
            *_timed(at(3, 9, 30), at(3, 10)),
            "RRULE:FREQ=WEEKLY;COUNT=8",
            "SUMMARY:Platform sync with Priya Raman",
            "LOCATION:Video call",
        ),
        _event(
            "demo-unrelated@mendcrm",
            "an unrelated meeting (nobody flagged)",
            now,
            *_timed(at(4, 11), at(4, 12)),
            "SUMMARY:Budget planning",
            me,
            _attendee("kwame.osei@example.org", "Kwame Osei"),
        ),
        _event(
            "demo-declined@mendcrm",
            "an event you declined (not an encounter)",
            now,
            *_timed(at(5, 18), at(5, 20)),
            "SUMMARY:Open Data Circle drinks",
            'ORGANIZER;CN="Martin Keller":mailto:m.keller@larchwood.example',
            _attendee("m.keller@larchwood.example", "Martin Keller"),
            _attendee(ME_EMAIL, ME_NAME, "DECLINED"),
        ),
    ]


__all__ = ["ME_EMAIL", "ME_NAME", "SampleEvent", "contacts", "events", "interactions"]
