"""The end-to-end set-up: a real CalDAV server, a config file, a store, a contact list and a clock.

``world`` is one fresh calendar on the current ``caldav_server`` (Radicale, then Xandikos; the
servers themselves live for the whole session), a config file in the format of
``config.example.toml`` pointing at it, the account's password in the test keyring, and a store.
In-process passes (:meth:`World.sync`) run :func:`mendcrm.pipeline.sync_pass` on a
:class:`FrozenClock` at :data:`T0`; ``live_world`` is the same on the real clock, for tests that
drive the ``mendcrm`` console script (which cannot be given a clock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mendcrm import repository
from mendcrm.clock import Clock, FrozenClock, SystemClock
from mendcrm.config import load_config
from mendcrm.config.model import Config
from mendcrm.model import Contact, Encounter, Interaction, QueueItem, replace
from mendcrm.pipeline import PassSummary, sync_pass
from mendcrm.secrets import keyring_set
from mendcrm.store import Store
from tests.e2e.ics import Event, Person, calendar
from tests.fixtures.cli import Cli
from tests.fixtures.servers import DavAccount

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
"""The frozen 'now' of the in-process tests: a Monday morning, three weeks before DST starts."""

ZONE = "Europe/Berlin"
ME = Person("me@example.org", "Sam Me")
ACCOUNT = "work"

ROBERT = Contact(
    id="c-robert",
    name="Robert Hale",
    emails=("Robert.Hale@Acme.example",),
    org="Acme Analytics",
    role="Head of Data",
    stage="strained",
    history="I left his team after the reorg and said things I regret.",
    strengths="Knows the data platform inside out; loves talking about sailing.",
    goal="Be able to work together on the partner project.",
    boundaries="No rehashing the reorg in public.",
    affinity=("EuroPython",),
)
ANA = Contact(
    id="c-ana",
    name="Ana Lima",
    emails=("ana@globex.example",),
    org="Globex",
    stage="cordial",
    strengths="Great at partner relations.",
)
"""Two flagged contacts; ``stage_since`` is set when they are stored (see :meth:`World.add`)."""

# Domain tables: what a pass may change for the user; sync_state is the sources' bookkeeping.
DOMAIN_TABLES = ("contacts", "interactions", "encounters", "queue")


@dataclass
class World:
    """A calendar on a real server, the config and store that sync it, and the time."""

    account: DavAccount
    calendar_url: str
    config_path: Path
    store_path: Path
    clock: Clock
    objects: dict[str, str] = field(default_factory=dict)

    # -- time and the calendar -----------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        """Move the frozen clock on (only the in-process ``world`` has one)."""
        assert isinstance(self.clock, FrozenClock), "live_world runs on the real clock"
        self.clock.advance(delta)

    def put(self, *events: Event, name: str | None = None, into: str | None = None) -> str:
        """Store ``events`` (one UID: a master and its overrides) as one object in the calendar
        (or ``into`` another); return the object's name."""
        name = name or f"{events[0].uid}.ics"
        self.objects[name] = self.account.put(into or self.calendar_url, name, calendar(*events))
        return name

    def delete(self, name: str) -> None:
        self.account.delete(self.objects.pop(name))

    def configure(self, *, extra: str = "", calendars: Sequence[str] = ()) -> None:
        """Rewrite the config file: ``extra`` tables, and more calendars beside the first."""
        write_config(
            self.config_path,
            self.account,
            [self.calendar_url, *calendars],
            self.store_path,
            extra,
            whole_day=isinstance(self.clock, SystemClock),
        )

    # -- the pipeline --------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return Store(self.store_path)

    def config(self) -> Config:
        return load_config(self.config_path)

    def sync(self, **kwargs: Any) -> PassSummary:
        """Run one in-process pass of the whole pipeline, as ``mendcrm sync`` would."""
        summary = sync_pass(self.config(), self.store, clock=self.clock, **kwargs)
        assert not summary.errors, summary.errors
        return summary

    @property
    def cli(self) -> Cli:
        return Cli(self.config_path)

    # -- the store -----------------------------------------------------------------------

    def add(self, *contacts: Contact, since: datetime | None = None) -> None:
        """Save contacts, flagged ``since`` (default: a week before now)."""
        when = since or self.now - timedelta(days=7)
        with self.store.transaction() as tx:
            for person in contacts:
                repository.save(tx, "contacts", _since(person, when))

    def encounters(self, *, active: bool = True) -> list[Encounter]:
        with self.store.read() as view:
            found = repository.encounters(view)
        return sorted(
            (e for e in found if e.state == "active" or not active),
            key=lambda e: (e.occurrence.start, e.contact_id),
        )

    def queue(self, kind: str | None = None) -> list[QueueItem]:
        with self.store.read() as view:
            found = repository.queue(view)
        return sorted(
            (i for i in found if kind is None or i.kind == kind),
            key=lambda i: (i.due, i.kind, i.id),
        )

    def items_of(self, encounter: Encounter) -> dict[str, QueueItem]:
        """Return the encounter's prep and follow-up items by kind (each must be unique)."""
        mine = [i for i in self.queue() if i.encounter_id == encounter.id]
        kinds = [i.kind for i in mine]
        assert len(kinds) == len(set(kinds)), mine
        return {i.kind: i for i in mine}

    def contact(self, contact_id: str) -> Contact:
        with self.store.read() as view:
            found = repository.contact(view, contact_id)
        assert found is not None
        return found

    def interactions(self, contact_id: str) -> list[Interaction]:
        with self.store.read() as view:
            return repository.interactions(view, contact_id)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Return every record of the domain tables, for "nothing changed" comparisons."""
        with self.store.read() as view:
            return {t: sorted(view.all(t), key=lambda r: str(r["id"])) for t in DOMAIN_TABLES}


def _since(person: Contact, when: datetime) -> Contact:
    return replace(person, stage_since=when if person.flagged else None)


def write_config(
    path: Path,
    account: DavAccount,
    calendars: Sequence[str],
    store: Path,
    extra: str = "",
    *,
    whole_day: bool = False,
) -> None:
    """Write a config file in the documented format for one account and its ``calendars``;
    with ``whole_day`` the user's day is 00:00–23:59, so no note is moved out of the night."""

    def q(value: str) -> str:
        return json.dumps(value)  # a TOML basic string

    path.write_text(
        "[me]\n"
        f"name = {q(ME.cn)}\n"
        f"emails = [{q(ME.email)}]\n"
        f"timezone = {q(ZONE)}\n"
        + ('day_starts = "00:00"\nday_ends = "23:59"\n' if whole_day else "")
        + "\n[store]\n"
        f"path = {q(str(store))}\n\n"
        "[sync]\n"
        "lookahead_days = 30\n"
        "timeout_seconds = 10\n\n"
        "[prep]\n"
        'lead = "24h"\n\n'
        "[followup]\n"
        'delay = "2h"\n\n'
        f"{extra}"
        "[[accounts]]\n"
        f"name = {q(ACCOUNT)}\n"
        f"url = {q(account.server.url)}\n"
        f"username = {q(account.username)}\n"
        f"calendars = [{', '.join(q(c) for c in calendars)}]\n"
        'annotate = "off"\n'
    )


def make_world(account: DavAccount, tmp_path: Path, clock: Clock, extra: str = "") -> World:
    calendar_url = account.new_calendar("Work")
    config_path = tmp_path / "config.toml"
    store_path = tmp_path / "store.json"
    # On the real clock a note's due time would otherwise depend on the hour the test runs;
    # moving notes into the user's day is tested with frozen clocks (tests/core/test_due_times).
    live = isinstance(clock, SystemClock)
    write_config(config_path, account, [calendar_url], store_path, extra, whole_day=live)
    keyring_set(ACCOUNT, account.password)
    return World(account, calendar_url, config_path, store_path, clock)


@pytest.fixture
def world(dav_account: DavAccount, tmp_path: Path) -> World:
    """A fresh calendar and store on the current server, at the frozen time :data:`T0`."""
    return make_world(dav_account, tmp_path, FrozenClock(T0))


@pytest.fixture
def live_world(dav_account: DavAccount, tmp_path: Path) -> World:
    """A fresh calendar and store on the current server, on the real clock (for the CLI)."""
    return make_world(dav_account, tmp_path, SystemClock())


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def meeting(
    uid: str, start: datetime, *guests: Person, summary: str = "Partner sync", **kw: Any
) -> Event:
    """Return a one-hour meeting organised by the user, with the user and ``guests`` invited."""
    return Event(
        uid=uid,
        start=start,
        end=start + hours(1),
        summary=summary,
        organizer=kw.pop("organizer", ME),
        attendees=(kw.pop("me", Person(ME.email, ME.cn, "ACCEPTED")), *guests),
        **kw,
    )


def robert(partstat: str = "ACCEPTED") -> Person:
    # Written in another case than the contact's address: matching must not care.
    return Person("robert.hale@ACME.example", "Robert Hale", partstat)


def ana(partstat: str = "ACCEPTED") -> Person:
    return Person("ana@globex.example", "Ana Lima", partstat)


def only(items: Iterable[Any]) -> Any:
    """Return the one element of ``items``; fail if there are none or several."""
    found = list(items)
    assert len(found) == 1, found
    return found[0]
