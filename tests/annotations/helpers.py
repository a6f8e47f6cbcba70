"""Building blocks for the annotation tests: accounts, events on a real server, encounters."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar

from mendcrm.annotations import run
from mendcrm.config.model import AccountConfig, Config, MeConfig
from mendcrm.model import Attendee, Contact, Encounter, Match, Occurrence, QueueItem
from mendcrm.sources import sync_sources
from tests.fixtures.servers import DavAccount, http_request

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
ME = MeConfig(name="Sam Me", emails=("sam@me.example",), timezone="Europe/Berlin")
ROBERT = Contact(
    id="c-robert",
    name="Robert Hale",
    stage="strained",
    history="Left the team after the reorg fight",
    emails=("robert@hale.example",),
)


def ics(
    uid: str,
    *,
    start: datetime,
    summary: str = "Coffee with Robert Hale",
    extra: str = "",
    description: str | None = None,
) -> str:
    """Return an event the way a calendar app might write it (an alarm, another client's X-)."""
    end = start + timedelta(hours=1)
    desc = "" if description is None else f"DESCRIPTION:{description}\n"
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Some App//EN\nBEGIN:VEVENT\n"
        f"UID:{uid}\nDTSTAMP:20250301T000000Z\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\nDTEND:{end:%Y%m%dT%H%M%SZ}\n"
        f"SUMMARY:{summary}\n{desc}{extra}"
        "X-OTHER-CLIENT;X-P=1:keep me\n"
        "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Reminder\nTRIGGER:-PT15M\nEND:VALARM\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )


INVITATION = (
    "ORGANIZER;CN=Robert Hale:mailto:robert@hale.example\n"
    "ATTENDEE;CN=Robert Hale;PARTSTAT=ACCEPTED:mailto:robert@hale.example\n"
    "ATTENDEE;CN=Sam Me;PARTSTAT=ACCEPTED:mailto:sam@me.example\n"
)
MY_MEETING = (
    "ORGANIZER;CN=Sam Me:mailto:sam@me.example\n"
    "ATTENDEE;CN=Sam Me;PARTSTAT=ACCEPTED:mailto:sam@me.example\n"
    "ATTENDEE;CN=Robert Hale;PARTSTAT=NEEDS-ACTION:mailto:robert@hale.example\n"
)


@dataclass
class World:
    """One account on a test server, its user calendar and MendCRM's state between passes."""

    dav: DavAccount
    calendar: str
    account: AccountConfig
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    sync_state: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return Config(me=ME, accounts=(self.account,))

    def put(self, name: str, text: str) -> str:
        """Store an event (as another client would) and return its path."""
        return urlsplit(self.dav.put(self.calendar, name, text)).path

    def get(self, path: str) -> bytes:
        answer = http_request(self.url(path), headers=self.dav.auth)
        assert answer.status == 200, answer.status
        return answer.body

    def url(self, path: str) -> str:
        return f"{self.dav.server.url.rstrip('/')}{path}"

    def occurrences(self) -> dict[str, Occurrence]:
        """Sync the user calendar with MendCRM's own sync and return its occurrences by UID."""
        result = sync_sources(
            self.config, self.sync_state, now=NOW, password_for=lambda a: self.dav.password
        )
        assert not result.failed_sources, [r.error for r in result.reports]
        self.sync_state = result.state
        return {o.uid: o for o in result.occurrences}

    def annotate(
        self,
        encounters: Sequence[Encounter],
        items: Iterable[QueueItem] = (),
        contacts: Iterable[Contact] = (ROBERT,),
        *,
        reset: bool = True,
        **kw: Any,
    ) -> run.AnnotationResult:
        if reset:  # a clean request log (and no armed fault)
            self.dav.server.reset()
        result = run.annotate_accounts(
            self.config,
            encounters,
            list(items),
            list(contacts),
            {**self.sync_state, **self.state},
            password_for=lambda a: self.dav.password,
            now=NOW,
            **kw,
        )
        self.state.update(result.state)
        return result

    def requests(self) -> list[tuple[str, str]]:
        return self.dav.server.requests()

    def doc(self) -> dict[str, Any]:
        return self.state[run.state_id(self.account.name)]

    def annotation_objects(self) -> dict[str, icalendar.cal.Component]:
        """Return the components in MendCRM's calendar, by path."""
        calendar = self.doc()["calendar"]
        body = (
            '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>'
            '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
        )
        answer = http_request(
            calendar,
            "REPORT",
            body,
            {"Depth": "1", "Content-Type": "application/xml", **self.dav.auth},
        )
        assert answer.status == 207, answer.status
        from lxml import etree

        tree = etree.fromstring(answer.body)
        out: dict[str, icalendar.cal.Component] = {}
        for response in tree.iter("{DAV:}response"):
            href = response.findtext("{DAV:}href") or ""
            data = response.findtext(".//{urn:ietf:params:xml:ns:caldav}calendar-data")
            if data:
                parsed = icalendar.Calendar.from_ical(data)
                out[urlsplit(href).path] = next(
                    c for c in parsed.subcomponents if c.name in ("VEVENT", "VTODO")
                )
        return out


def new_world(dav: DavAccount, annotate: str = "dedicated", **changes: Any) -> World:
    calendar = dav.new_calendar("Work")
    name = f"MendCRM {uuid.uuid4().hex[:6]}"  # Xandikos' one home is shared by every test
    account = dav.config("work", annotate=annotate, annotation_calendar=name, **changes)
    return World(dav, calendar, account)


def encounter(
    occurrence: Occurrence, contact: Contact = ROBERT, *, state: str = "active", suffix: str = ""
) -> Encounter:
    return Encounter(
        id=f"enc-{occurrence.uid}-{occurrence.key}{suffix}",
        contact_id=contact.id,
        kind="meeting",
        match=Match("attendee-email", contact.emails[0], 0.9),
        occurrence=occurrence,
        state=state,
    )  # type: ignore[arg-type]


def withdrawn(enc: Encounter) -> Encounter:
    return replace(enc, state="withdrawn")


def followup(enc: Encounter, state: str = "pending") -> QueueItem:
    return QueueItem(
        id=f"fu-{enc.id[-12:]}",
        kind="followup",
        contact_id=enc.contact_id,
        due=enc.occurrence.end + timedelta(hours=2),
        state=state,
        encounter_id=enc.id,
        closed_at=NOW if state == "done" else None,
    )


def prep(enc: Encounter) -> QueueItem:
    return QueueItem(
        id=f"pr-{enc.id[-12:]}",
        kind="prep",
        contact_id=enc.contact_id,
        due=enc.occurrence.start - timedelta(hours=24),
        encounter_id=enc.id,
    )


def writes(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [r for r in requests if r[0] in ("PUT", "DELETE", "MKCALENDAR", "PROPPATCH")]


def me_attendee() -> Attendee:
    return Attendee(email="sam@me.example", cn="Sam Me", partstat="ACCEPTED")
