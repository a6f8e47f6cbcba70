"""The pages that show: Today, a prep note, People, a contact, the contact form, the backup.

Each reads the store once (in a worker thread: a read never blocks the server's loop) and hands
plain values to its template. Titles never name a stage or history (discreet).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mendcrm import repository
from mendcrm.errors import MendError
from mendcrm.model import FLAGGED_STAGES, STAGES, Contact, Encounter, Interaction, QueueItem
from mendcrm.render import describe_when, match_reason, user_zone
from mendcrm.stages import stage_history
from mendcrm.web.app import Site
from mendcrm.web.drawing import note_html, stage_chart

TODAY_DAYS = 14
LIST_LIMIT = 20
OPEN = ("pending", "due", "delivered")


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


@dataclass(frozen=True)
class Row:
    """One encounter on the Today page, with its words already chosen."""

    encounter: Encounter
    person: Contact | None
    when: str
    why: str
    prep: QueueItem | None
    followup: QueueItem | None


def _today(site: Site, now: datetime) -> dict[str, Any]:
    zone = user_zone(site.config.me)
    with site.store.read() as view:
        ahead = repository.encounters_between(view, now, now + timedelta(days=TODAY_DAYS))
        shown = {e.id for e in ahead}
        # Decoded only if shown: open ones, and those of the encounters ahead.
        items = [
            QueueItem.from_record(r)
            for r in view.all("queue")
            if r.get("state") in ("due", "delivered") or r.get("encounter_id") in shown
        ]
        wanted = {e.contact_id for e in ahead} | {i.contact_id for i in items}
        people = {c.id: c for c in (repository.contact(view, cid) for cid in wanted) if c}
        health = view.get("meta", "health") or {}
    by_encounter: dict[tuple[str, str], QueueItem] = {}
    for item in items:
        if item.encounter_id and item.state != "withdrawn":
            by_encounter[(item.encounter_id, item.kind)] = item
    rows = [
        Row(
            e,
            people.get(e.contact_id),
            describe_when(e.occurrence.start, e.occurrence.end, zone, all_day=e.occurrence.all_day),
            f"{match_reason(e)}, confidence {e.match.confidence:.2f}",
            by_encounter.get((e.id, "prep")),
            by_encounter.get((e.id, "followup")),
        )
        for e in ahead
    ]
    over = {e.id for e in ahead if e.occurrence.end <= now}
    preps = [
        i
        for i in items
        if i.kind == "prep" and i.state in ("due", "delivered") and i.encounter_id not in over
    ]
    waiting = [
        i for i in items if i.kind in ("followup", "nudge") and i.state in ("due", "delivered")
    ]
    # The most recent first, a screenful each: a store with years of unanswered follow-ups must
    # not make Today megabytes long (the rest are on each contact's page and in the CLI).
    preps.sort(key=lambda i: i.due, reverse=True)
    waiting.sort(key=lambda i: i.due, reverse=True)
    return {
        "rows": rows,
        "preps": preps[:LIST_LIMIT],
        "more_preps": max(0, len(preps) - LIST_LIMIT),
        "waiting": waiting[:LIST_LIMIT],
        "more_waiting": max(0, len(waiting) - LIST_LIMIT),
        "people": people,
        "zone": zone,
        "sources": sorted((health.get("sources") or {}).items()),
        "last_sync": health.get("last_sync_at"),
    }


async def today(request: Request) -> Response:
    site = site_of(request)
    now = site.clock.now()
    data = await run_in_threadpool(_today, site, now)
    return site.page(request, "today.html", title="Today", now=now, **data)


async def prep_note(request: Request) -> Response:
    site = site_of(request)

    def load() -> tuple[QueueItem | None, Contact | None]:
        with site.store.read() as view:
            item = repository.queue_item(view, request.path_params["item_id"])
            person = repository.contact(view, item.contact_id) if item else None
        return item, person

    item, person = await run_in_threadpool(load)
    if item is None:
        return site.page(request, "error.html", 404, title="Not found", message="no such note")
    return site.page(
        request,
        "prep.html",
        title="Prep note",
        item=item,
        person=person,
        body=note_html(item.body),
        zone=user_zone(site.config.me),
    )


async def people(request: Request) -> Response:
    site = site_of(request)
    stage = request.query_params.get("stage", "")

    def load() -> list[Contact]:
        with site.store.read() as view:
            return repository.contacts(view)

    everyone = await run_in_threadpool(load)
    shown = [c for c in everyone if not stage or c.stage == stage]
    shown.sort(key=lambda c: (c.stage not in FLAGGED_STAGES, c.name.casefold()))  # flagged first
    return site.page(
        request, "people.html", title="People", people=shown, stage=stage, stages=STAGES
    )


def _contact(site: Site, contact_id: str, now: datetime) -> dict[str, Any] | None:
    with site.store.read() as view:
        person = repository.contact(view, contact_id)
        if person is None:
            return None
        history = sorted(
            (
                Interaction.from_record(r)
                for r in view.all("interactions")
                if r.get("contact_id") == person.id
            ),
            key=lambda i: (i.when, i.id),
        )
        steps = stage_history(view, person.id)
        # Only this contact's records are decoded: the store holds thousands of others.
        ahead = [
            e
            for e in (
                Encounter.from_record(r)
                for r in view.all("encounters")
                if r.get("contact_id") == person.id and r.get("state", "active") == "active"
            )
            if e.occurrence.end >= now
        ]
        ahead.sort(key=lambda e: e.occurrence.start)
        items = sorted(
            (
                QueueItem.from_record(r)
                for r in view.all("queue")
                if r.get("contact_id") == person.id and r.get("state") in OPEN
            ),
            key=lambda i: i.due,
        )
    zone = user_zone(site.config.me)
    timeline: list[tuple[datetime, str, str]] = [
        (
            i.when,
            f"{i.kind}" + (f", {i.outcome}" if i.outcome else ""),
            i.note,
        )
        for i in history
    ]
    timeline += [(s.at, f"stage {s.before or '—'} → {s.after}", s.reason) for s in steps]
    timeline.sort(key=lambda t: t[0], reverse=True)
    return {
        "person": person,
        "timeline": [(when.astimezone(zone), what, note) for when, what, note in timeline],
        "chart": stage_chart(steps, now),
        "ahead": [
            (
                e,
                describe_when(
                    e.occurrence.start, e.occurrence.end, zone, all_day=e.occurrence.all_day
                ),
            )
            for e in ahead
        ],
        "items": items,
        "zone": zone,
    }


async def contact(request: Request) -> Response:
    site = site_of(request)
    data = await run_in_threadpool(
        _contact, site, request.path_params["contact_id"], site.clock.now()
    )
    if data is None:
        return site.page(request, "error.html", 404, title="Not found", message="no such contact")
    return site.page(request, "contact.html", title="Contact", stages=STAGES, **data)


async def new_contact(request: Request) -> Response:
    site = site_of(request)
    return site.page(
        request, "contact_form.html", title="Add a contact", person=None, stages=STAGES
    )


async def edit_contact(request: Request) -> Response:
    site = site_of(request)

    def load() -> Contact | None:
        with site.store.read() as view:
            return repository.contact(view, request.path_params["contact_id"])

    person = await run_in_threadpool(load)
    if person is None:
        return site.page(request, "error.html", 404, title="Not found", message="no such contact")
    return site.page(
        request, "contact_form.html", title="Edit a contact", person=person, stages=STAGES
    )


async def backup_download(request: Request) -> Response:
    """The store as one JSON file, consistent (read under the lock), as a download."""
    site = site_of(request)

    def load() -> bytes:
        with site.store.transaction() as tx:  # the lock: no write is half in the copy
            tables = {name: {r["id"]: r for r in tx.all(name)} for name in _tables()}
        return json.dumps(tables, ensure_ascii=False).encode("utf-8")

    try:
        data = await run_in_threadpool(load)
    except MendError as exc:
        return site.page(request, "error.html", 500, title="Backup", message=str(exc))
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="mendcrm-backup.json"'},
    )


def _tables() -> tuple[str, ...]:
    from mendcrm.store import TABLES

    return TABLES


__all__ = [
    "backup_download",
    "contact",
    "edit_contact",
    "new_contact",
    "people",
    "prep_note",
    "today",
]
