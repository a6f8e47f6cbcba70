"""Shared set-up for the plugin tests: configs, a store with a due item, the example folder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mendcrm import repository
from mendcrm.config.model import Config, PluginsConfig
from mendcrm.model import Attendee, Contact, Encounter, Match, Occurrence, QueueItem
from mendcrm.store import Store

EXAMPLES = Path(__file__).parent / "example"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_config(
    enabled: tuple[str, ...] = (),
    settings: dict[str, dict[str, Any]] | None = None,
    *,
    paths: tuple[Path, ...] = (EXAMPLES,),
    timeout: float = 5.0,
    **changes: Any,
) -> Config:
    return Config(
        plugins=PluginsConfig(
            enabled=enabled, paths=paths, settings=settings or {}, timeout_seconds=timeout
        ),
        **changes,
    )


def sample_item(
    n: int = 1, *, due: datetime = NOW - timedelta(minutes=5), kind: str = "prep"
) -> QueueItem:
    return QueueItem(
        id=f"q{n}",
        kind=kind,
        contact_id="c-ana",
        due=due,
        state="pending",
        encounter_id="e1",
        title=f"Prep: coffee with Ana Lima ({n})",
        body=f"## Ana Lima\n\nBe cordial. Item {n}.\n",
    )


def seed(store: Store, *items: QueueItem, now: datetime = NOW) -> None:
    """Store Ana, her coffee a day after ``now`` (the real time for a real daemon), and items."""
    contact = Contact(
        id="c-ana",
        name="Ana Lima",
        emails=("ana@example.org",),
        stage="strained",
        history="Left the team on bad terms.",
    )
    occurrence = Occurrence(
        source="account:work",
        calendar="https://dav.example/cal/",
        href="/cal/e1.ics",
        uid="e1",
        start=now + timedelta(days=1),
        end=now + timedelta(days=1, hours=1),
        summary="Coffee",
        location="Café Central",
        attendees=(Attendee("ana@example.org", "Ana Lima"),),
    )
    encounter = Encounter(
        id="e1",
        contact_id="c-ana",
        kind="meeting",
        match=Match("attendee", "ana@example.org", 1.0),
        occurrence=occurrence,
    )
    with store.transaction() as tx:
        repository.save(tx, "contacts", contact)
        repository.save(tx, "encounters", encounter)
        repository.save(tx, "queue", *items)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.json")


@pytest.fixture
def queue_of(store: Store) -> Callable[[], dict[str, QueueItem]]:
    def read() -> dict[str, QueueItem]:
        with store.read() as view:
            return {q.id: q for q in repository.queue(view)}

    return read
