"""``upcoming``, ``prep``, ``followups`` and ``followup done|dismiss``: reading the queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import click

from mendcrm import repository
from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import days_option, emit_json, json_option, shorten, table
from mendcrm.model import OUTCOMES, Contact, Encounter, QueueItem, to_iso

_OPEN = ("pending", "due", "delivered")


def encounter_json(
    encounter: Encounter, contacts: dict[str, Contact], items: Sequence[QueueItem]
) -> dict[str, Any]:
    """Given an encounter, the contacts and its queue items, return its documented JSON form."""
    occ = encounter.occurrence
    person = contacts.get(encounter.contact_id)

    def due(kind: str) -> str | None:
        found = [i for i in items if i.kind == kind and i.state != "withdrawn"]
        return to_iso(found[0].due) if found else None

    return {
        "id": encounter.id,
        "contact": {"id": encounter.contact_id, "name": person.name if person else ""},
        "kind": encounter.kind,
        "state": encounter.state,
        "event": {
            "summary": occ.summary,
            "start": to_iso(occ.start),
            "end": to_iso(occ.end),
            "all_day": occ.all_day,
            "uid": occ.uid,
            "recurrence_id": occ.recurrence_id,
            "calendar": occ.calendar_name or occ.calendar,
            "source": occ.source,
            "location": occ.location,
        },
        "match": {
            "by": encounter.match.by,
            "evidence": encounter.match.evidence,
            "confidence": encounter.match.confidence,
        },
        "contact_declined": encounter.contact_declined,
        "on_your_calendar": encounter.on_your_calendar,
        "parent_id": encounter.parent_id,
        "others": [contacts[o].name for o in encounter.others if o in contacts],
        "prep_due": due("prep"),
        "followup_due": due("followup"),
    }


def item_json(item: QueueItem, contacts: dict[str, Contact]) -> dict[str, Any]:
    """Given a queue item, return its documented JSON form."""
    person = contacts.get(item.contact_id)
    return {
        "id": item.id,
        "kind": item.kind,
        "encounter_id": item.encounter_id,
        "contact": {"id": item.contact_id, "name": person.name if person else ""},
        "title": item.title,
        "due": to_iso(item.due),
        "state": item.state,
        "delivered_at": to_iso(item.delivered_at) if item.delivered_at else None,
        "body": item.body,
    }


@click.command()
@days_option
@json_option
@pass_app
def upcoming(app: AppContext, days: int | None, as_json: bool) -> None:
    """Encounters ahead, soonest first, with why each matched."""
    now = app.clock.now()
    until = now + timedelta(days=days or app.config.sync.lookahead_days)
    # Only what is shown is decoded: the store holds far more encounters and items than that.
    # The queue (the largest table) is shown only in JSON (prep_due, followup_due).
    tables = ("encounters", "contacts", "queue") if as_json else ("encounters", "contacts")
    with app.read_store(tables) as view:
        ahead = repository.encounters_between(view, now, until)
        queue = repository.queue_of_encounters(view, {e.id for e in ahead}) if as_json else []
        wanted = {e.contact_id for e in ahead} | {o for e in ahead for o in e.others}
        contacts = repository.contacts_by_id(view, wanted)
    if as_json:
        by_encounter: dict[str, list[QueueItem]] = {}
        for item in queue:
            if item.encounter_id:
                by_encounter.setdefault(item.encounter_id, []).append(item)
        emit_json([encounter_json(e, contacts, by_encounter.get(e.id, [])) for e in ahead])
        return
    if not ahead:
        click.echo("no encounters ahead", err=True)
        return
    from mendcrm.render import describe_when, match_reason, user_zone

    zone = user_zone(app.config.me)
    lines: list[str] = []  # printed at once: an echo per line costs more than the rest here
    for e in ahead:
        person = contacts.get(e.contact_id)
        occ = e.occurrence
        declined = "  (they declined)" if e.contact_declined else ""
        if not e.on_your_calendar:
            declined += "  (a programme session; not on your calendar)"
        when = describe_when(occ.start, occ.end, zone, all_day=occ.all_day)
        lines.append(f"{when}  [{e.kind}]{declined}")
        lines.append(f"  {person.name if person else e.contact_id} — {occ.summary}")
        if occ.location:
            lines.append(f"  where: {occ.location}")
        lines.append(f"  why:   {match_reason(e)}, confidence {e.match.confidence:.2f}")
        lines.append(f"  id:    {e.id}")
    click.echo("\n".join(lines))


@click.command()
@click.argument("item_id", required=False, metavar="[ID]")
@days_option
@json_option
@pass_app
def prep(app: AppContext, item_id: str | None, days: int | None, as_json: bool) -> None:
    """Due and upcoming prep notes, rendered (one in full with ID)."""
    now = app.clock.now()
    until = now + timedelta(days=days or app.config.sync.lookahead_days)
    # Only what is shown is decoded: the prep items, the encounters they prepare for (their end
    # alone) and the contacts they name.
    with app.read_store(("contacts", "queue", "encounters")) as view:
        if item_id:
            from mendcrm.changes import find_item

            chosen = [find_item(repository.queue_of_kind(view, "prep"), item_id)]
        else:
            # A note for an encounter that is over has nothing left to prepare for.
            chosen = repository.queue_ahead(view, "prep", states=_OPEN, due_by=until, now=now)
            # Due first (most urgent on top), then what is coming.
            chosen.sort(key=lambda i: (i.state not in ("due", "delivered"), i.due))
        contacts = repository.contacts_by_id(view, {i.contact_id for i in chosen})
    if as_json:
        emit_json([item_json(i, contacts) for i in chosen])
        return
    if not chosen:
        click.echo("no prep notes due or upcoming", err=True)
        return
    from mendcrm.render import user_zone

    zone = user_zone(app.config.me)
    # In full: the one asked for, or those due now; the rest as one line each.
    full = chosen if item_id else [i for i in chosen if i.state != "pending"]
    later = [] if item_id else [i for i in chosen if i.state == "pending"]
    for index, item in enumerate(full):
        if index:
            click.echo("\n" + "─" * 72 + "\n")
        when = f"{item.due.astimezone(zone):%a %d %b %H:%M}"
        label = {"pending": "due", "due": "due since"}.get(item.state, f"{item.state}, was due")
        click.echo(f"[{label} {when}]  id {item.id}\n")
        click.echo(item.body.rstrip())
    if later:
        lines = [("\n" if full else "") + "coming up (show one in full with `mendcrm prep ID`):"]
        for item in later:
            who = contacts[item.contact_id].name if item.contact_id in contacts else ""
            lines.append(
                f"  {item.due.astimezone(zone):%a %d %b %H:%M}  {item.id}  {who}: {item.title}"
            )
        click.echo("\n".join(lines))


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include done, dismissed and withdrawn ones.")
@json_option
@pass_app
def followups(app: AppContext, show_all: bool, as_json: bool) -> None:
    """Follow-ups and nudges waiting for you."""
    with app.store.read() as view:
        contacts = {c.id: c for c in repository.contacts(view)}
        items = [i for i in repository.queue(view) if i.kind in ("followup", "nudge")]
    if not show_all:
        items = [i for i in items if i.state in _OPEN]
    if as_json:
        emit_json([item_json(i, contacts) for i in items])
        return
    if not items:
        click.echo("no follow-ups waiting", err=True)
        return
    from mendcrm.render import user_zone

    zone = user_zone(app.config.me)
    # Follow-ups of meetings still ahead are not actionable yet: list them apart, the next few.
    later = [] if show_all else [i for i in items if i.state == "pending"]
    shown = [i for i in items if i not in later]

    def row(i: QueueItem) -> list[str]:
        who = contacts[i.contact_id].name if i.contact_id in contacts else i.contact_id
        due = f"{i.due.astimezone(zone):%a %d %b %H:%M}"
        return [i.id, i.kind, i.state, due, who, shorten(i.title, 50)]

    headers = ["ID", "KIND", "STATE", "DUE", "CONTACT", "TITLE"]
    if shown:
        table([row(i) for i in shown], headers)
        click.echo(
            "\nclose one with: mendcrm followup done ID --outcome positive|neutral|negative"
            "\n            or: mendcrm followup dismiss ID"
        )
    if later:
        click.echo(("\n" if shown else "") + "after meetings still ahead:")
        table([row(i) for i in later[:5]], headers)
        if len(later) > 5:
            click.echo(f"… and {len(later) - 5} more (see them all with --all)")


@click.group()
def followup() -> None:
    """Mark a follow-up (or nudge) done or dismissed."""


@followup.command("done")
@click.argument("item_id", metavar="ID")
@click.option(
    "--outcome", type=click.Choice(OUTCOMES), help="How the encounter went (recommended)."
)
@click.option("--note", default="", help="What happened, in a sentence.")
@click.option("--refused", is_flag=True, help="They clearly declined to reconnect.")
@pass_app
def done(app: AppContext, item_id: str, outcome: str | None, note: str, refused: bool) -> None:
    """Mark follow-up ID done; with --outcome, log how it went (the stage may move)."""
    from mendcrm.changes import close_followup
    from mendcrm.cli.contact_commands import describe_recorded
    from mendcrm.retention import Retention  # (with changes: not for the read commands)

    with app.store.transaction() as tx:
        closed = close_followup(
            tx,
            item_id,
            now=app.clock.now(),
            outcome=outcome,
            note=note,
            refused=refused,
            playbook_path=app.config.playbook,
            retention=Retention.of(app.config),
        )
    if closed.recorded is not None and closed.person is not None:
        click.echo(describe_recorded(closed.person, closed.recorded))
    else:
        click.echo(f"follow-up {closed.item.id} done (log how it went with --outcome next time)")


@followup.command("dismiss")
@click.argument("item_id", metavar="ID")
@pass_app
def dismiss(app: AppContext, item_id: str) -> None:
    """Dismiss follow-up (or nudge) ID without logging anything."""
    from mendcrm.changes import close_followup
    from mendcrm.retention import Retention

    with app.store.transaction() as tx:
        closed = close_followup(
            tx, item_id, now=app.clock.now(), dismiss=True, retention=Retention.of(app.config)
        )
    click.echo(f"follow-up {closed.item.id} dismissed")


@click.command("snooze")
@click.argument("item_id", metavar="ID")
@click.option(
    "--hours",
    type=click.IntRange(1, 24 * 60),
    default=24,
    show_default=True,
    help="Put it off by this many hours.",
)
@pass_app
def snooze_command(app: AppContext, item_id: str, hours: int) -> None:
    """Put off prep note, follow-up or nudge ID (a prep note at most until its meeting)."""
    from mendcrm.changes import snooze
    from mendcrm.render import user_zone

    now = app.clock.now()
    with app.store.transaction() as tx:
        item = snooze(tx, item_id, until=now + timedelta(hours=hours), now=now)
    when = item.due.astimezone(user_zone(app.config.me))
    click.echo(f"{item.kind} {item.id} put off until {when:%a %d %b %H:%M}")
