"""The page under test: a real store with sample contacts, encounters and notes, and the page's
application (in process, through Starlette's test client, or as a real server for the browser)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mendcrm import repository
from mendcrm.clock import FrozenClock
from mendcrm.config.model import Config, MeConfig, StoreConfig
from mendcrm.model import (
    Attendee,
    Contact,
    Encounter,
    Interaction,
    Match,
    Occurrence,
    QueueItem,
)
from mendcrm.store import Store
from mendcrm.web.app import Site, guarded
from mendcrm.web.security import Sessions, allowed_hosts

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
PORT = 8765
TOKEN = "t" * 43
HOST = f"127.0.0.1:{PORT}"

HOSTILE_TITLE = '<script>alert(1)</script> Sync <img src=x onerror="alert(2)">'
HOSTILE_TEXT = (
    'Agenda: [click me](javascript:alert(3)) and <a href="javascript:alert(4)">here</a> '
    "<img src=x onerror=alert(5)> and [the plan](https://example.org/plan)"
)


def _occurrence(uid: str, start: datetime, summary: str, description: str = "") -> Occurrence:
    return Occurrence(
        source="account:work",
        calendar="https://dav.example/cal/work/",
        href=f"/cal/work/{uid}.ics",
        uid=uid,
        start=start,
        end=start + timedelta(hours=1),
        summary=summary,
        description=description,
        attendees=(Attendee("robert@acme.example", "Robert Hale", "ACCEPTED"),),
    )


def seed(path: Path, now: datetime = NOW) -> Store:
    """Write the sample store at ``now``: Robert (strained for 30 days, two civil meetings logged
    in that stage, a meeting tomorrow with its prep note due, a follow-up from last week
    waiting), Ana (cordial), Dana (not flagged)."""
    store = Store(path)
    robert = Contact(
        id="c-robert",
        name="Robert Hale",
        emails=("robert@acme.example",),
        org="Acme",
        stage="strained",
        stage_since=now - timedelta(days=30),
        history="I left his team after the reorg.",
    )
    ana = Contact(id="c-ana", name="Ana Lima", stage="cordial", stage_since=now - timedelta(days=9))
    dana = Contact(id="c-dana", name="Dana Ward")
    ahead = Encounter(
        id="e-ahead",
        contact_id="c-robert",
        kind="meeting",
        match=Match("attendee-email", "robert@acme.example", 0.95),
        occurrence=_occurrence("ahead", now + timedelta(days=1), HOSTILE_TITLE, HOSTILE_TEXT),
    )
    past = Encounter(
        id="e-past",
        contact_id="c-robert",
        kind="meeting",
        match=Match("attendee-email", "robert@acme.example", 0.95),
        occurrence=_occurrence("past", now - timedelta(days=6), "Steering group"),
    )
    with store.transaction() as tx:
        repository.save(tx, "contacts", robert, ana, dana)
        repository.save(
            tx,
            "interactions",
            *(
                Interaction(
                    id=f"i-{n}",
                    contact_id="c-robert",
                    when=now - timedelta(days=20 - n),
                    kind="meeting",
                    outcome="neutral",
                    stage_before="strained",
                    stage_after="strained",
                )
                for n in range(2)
            ),
        )
        repository.save(tx, "encounters", ahead, past)
        repository.save(
            tx,
            "queue",
            QueueItem(
                id="q-prep",
                kind="prep",
                contact_id="c-robert",
                encounter_id="e-ahead",
                due=now - timedelta(hours=1),
                state="due",
                title="Prep: Robert Hale",
                body="# Prep for " + HOSTILE_TITLE + "\n\n" + HOSTILE_TEXT + "\n\n- be cordial",
            ),
            QueueItem(
                id="q-follow",
                kind="followup",
                contact_id="c-robert",
                encounter_id="e-past",
                due=now - timedelta(days=5),
                state="due",
                title="Follow up: Robert Hale",
            ),
        )
    return store


@dataclass
class Page:
    site: Site
    client: TestClient
    store: Store
    clock: FrozenClock


def make_site(store: Store, clock: FrozenClock, port: int = PORT) -> Site:
    config = Config(me=MeConfig(timezone="Europe/Berlin"), store=StoreConfig(path=store.path))
    return Site(
        config=config,
        store=store,
        clock=clock,
        sessions=Sessions(token=TOKEN, port=port),
        hosts=allowed_hosts("127.0.0.1", port),
    )


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    store = seed(tmp_path / "store.json")
    clock = FrozenClock(NOW)
    site = make_site(store, clock)
    with TestClient(guarded(site), base_url=f"http://{HOST}", follow_redirects=False) as client:
        yield Page(site, client, store, clock)


def signed_in(page: Page) -> str:
    """Exchange the token for a session; return the CSRF token of that session."""
    answer = page.client.get(f"/?token={TOKEN}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    session = page.client.cookies.get(f"mendcrm_session_{PORT}")
    csrf = page.site.sessions.csrf_of(session)
    assert csrf
    return csrf
