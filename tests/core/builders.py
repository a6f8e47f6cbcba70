"""Small builders for the core tests: contacts, occurrences and a configured pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mendcrm.config.model import Config, MeConfig
from mendcrm.detection import ContactIndex, detect
from mendcrm.model import Attendee, Contact, Encounter, Interaction, Occurrence, QueueItem
from mendcrm.planning import Plan, plan
from mendcrm.playbook import Playbook, load_playbook
from mendcrm.render import Renderer

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
"""A Monday morning: the frozen 'now' of most tests."""

ME = MeConfig(name="Sam Me", emails=("sam@me.example",), timezone="Europe/Berlin")
CONFIG = Config(me=ME)
PLAYBOOK = load_playbook(None)
RENDERER = Renderer.from_config(CONFIG, PLAYBOOK)


def contact(cid: str = "c-robert", name: str = "Robert Hale", **kw: Any) -> Contact:
    kw.setdefault("stage", "strained")
    kw.setdefault("stage_since", T0 - timedelta(days=2))
    return Contact(id=cid, name=name, **kw)


def occurrence(
    uid: str = "evt-1", *, start: datetime | None = None, hours: float = 1.0, **kw: Any
) -> Occurrence:
    start = start or T0 + timedelta(days=2)
    kw.setdefault("source", "account:work")
    kw.setdefault("calendar", "https://dav.example/cal/work/")
    kw.setdefault("href", f"/cal/work/{uid}.ics")
    return Occurrence(uid=uid, start=start, end=start + timedelta(hours=hours), **kw)


def attendee(email: str, cn: str = "", partstat: str = "ACCEPTED") -> Attendee:
    return Attendee(email=email, cn=cn, partstat=partstat)


def find(
    occurrences: Sequence[Occurrence] | Occurrence,
    contacts: Iterable[Contact],
    config: Config = CONFIG,
) -> list[Encounter]:
    occs = [occurrences] if isinstance(occurrences, Occurrence) else list(occurrences)
    return detect(occs, ContactIndex.build(contacts), me=config.me, settings=config.detection)


def run_plan(
    detected: Iterable[Encounter],
    *,
    stored: Iterable[Encounter] = (),
    queue: Iterable[QueueItem] = (),
    contacts: Iterable[Contact] = (),
    interactions: Iterable[Interaction] = (),
    failed: Iterable[str] = (),
    now: datetime = T0,
    config: Config = CONFIG,
    playbook: Playbook = PLAYBOOK,
    renderer: Renderer = RENDERER,
) -> Plan:
    return plan(
        detected=list(detected),
        stored_encounters=list(stored),
        stored_queue=list(queue),
        contacts=list(contacts),
        interactions=list(interactions),
        failed_sources=set(failed),
        now=now,
        config=config,
        playbook=playbook,
        renderer=renderer,
    )


class Memory:
    """The store's encounters and queue as dicts, round-tripped through records like the store."""

    def __init__(self) -> None:
        self.encounters: dict[str, dict[str, Any]] = {}
        self.queue: dict[str, dict[str, Any]] = {}

    def apply(self, result: Plan) -> None:
        for e in result.encounters:
            self.encounters[e.id] = e.to_record()
        for q in result.queue:
            self.queue[q.id] = q.to_record()

    def put_items(self, items: Iterable[QueueItem]) -> None:
        for q in items:
            self.queue[q.id] = q.to_record()

    def stored(self) -> list[Encounter]:
        return [Encounter.from_record(r) for r in self.encounters.values()]

    def items(self) -> list[QueueItem]:
        return [QueueItem.from_record(r) for r in self.queue.values()]

    def sync(
        self,
        occurrences: Sequence[Occurrence],
        contacts: Sequence[Contact],
        *,
        now: datetime = T0,
        interactions: Sequence[Interaction] = (),
        failed: Iterable[str] = (),
    ) -> Plan:
        result = run_plan(
            find(occurrences, contacts),
            stored=self.stored(),
            queue=self.items(),
            contacts=contacts,
            interactions=interactions,
            failed=failed,
            now=now,
        )
        self.apply(result)
        return result
