"""``mendcrm contact …`` and ``mendcrm log``: the people MendCRM helps you with."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mendcrm import repository
from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.data_commands import remove
from mendcrm.cli.output import emit_json, json_option, shorten, table
from mendcrm.errors import MendError, UsageError
from mendcrm.model import OUTCOMES, STAGES, Contact, Interaction, to_iso

if TYPE_CHECKING:
    from mendcrm.recording import Recorded


def contact_json(contact: Contact) -> dict[str, Any]:
    """Given a contact, return its documented JSON form (stable keys, see the README)."""
    return {
        "id": contact.id,
        "name": contact.name,
        "emails": list(contact.emails),
        "aliases": list(contact.aliases),
        "org": contact.org,
        "role": contact.role,
        "stage": contact.stage,
        "flagged": contact.flagged,
        "affinity": list(contact.affinity),
        "history": contact.history,
        "strengths": contact.strengths,
        "goal": contact.goal,
        "boundaries": contact.boundaries,
        "notes": contact.notes,
    }


def interaction_json(item: Interaction) -> dict[str, Any]:
    """Given an interaction, return its documented JSON form."""
    return {
        "id": item.id,
        "contact_id": item.contact_id,
        "when": to_iso(item.when),
        "kind": item.kind,
        "outcome": item.outcome,
        "note": item.note,
        "encounter_id": item.encounter_id,
        "stage_before": item.stage_before,
        "stage_after": item.stage_after,
    }


def _fields_options(command: Any) -> Any:
    """Attach the options shared by ``contact add`` and ``contact edit``."""
    options = [
        click.option("--email", "emails", multiple=True, help="E-mail address (repeatable)."),
        click.option(
            "--alias", "aliases", multiple=True, help="Other name or nickname (repeatable)."
        ),
        click.option("--org", help="Their organisation."),
        click.option("--role", help="Their role or title."),
        click.option("--stage", type=click.Choice(STAGES), help="Where the relationship stands."),
        click.option("--history", help="What happened between you."),
        click.option("--strengths", help="Their strengths and interests (conversation openers)."),
        click.option("--goal", help="What you hope for with this person."),
        click.option("--boundaries", help="Limits you want to keep."),
        click.option(
            "--affinity",
            multiple=True,
            help="A conference, organisation or circle where you may meet them (repeatable).",
        ),
        click.option("--note", "notes", help="Free notes."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def contact() -> None:
    """Add, list, show, edit, flag, import and remove contacts."""


contact.add_command(remove)  # forgetting lives with the other data commands


@contact.command("add")
@click.argument("name")
@_fields_options
@click.option("--json", "as_json", is_flag=True, help="Print the new contact as JSON.")
@click.option("--force", is_flag=True, help="Add even if a contact with this name exists.")
@pass_app
def add(app: AppContext, name: str, as_json: bool, force: bool, **fields: Any) -> None:
    """Add a contact called NAME."""
    from mendcrm.changes import add_contact

    with app.store.transaction() as tx:
        new = add_contact(
            tx,
            name,
            now=app.clock.now(),
            emails=fields.pop("emails"),
            aliases=fields.pop("aliases"),
            affinity=fields.pop("affinity"),
            stage=fields.pop("stage"),
            force=force,
            **fields,
        )
    if as_json:
        emit_json(contact_json(new))
    else:
        click.echo(f"added {new.name} ({new.id}), stage {new.stage}")


@contact.command("list")
@click.option("--flagged", is_flag=True, help="Only contacts you are mending things with.")
@click.option("--stage", type=click.Choice(STAGES), help="Only contacts at this stage.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of contacts).")
@pass_app
def list_contacts(app: AppContext, flagged: bool, stage: str | None, as_json: bool) -> None:
    """List contacts."""
    with app.read_store(("contacts",)) as view:
        found = repository.contacts(view)
    if flagged:
        found = [c for c in found if c.flagged]
    if stage:
        found = [c for c in found if c.stage == stage]
    if as_json:
        emit_json([contact_json(c) for c in found])
        return
    if not found:
        click.echo("no contacts yet: add one with `mendcrm contact add NAME`", err=True)
        return
    table(
        [
            [c.id, c.name, c.stage, shorten(", ".join(c.emails), 40), shorten(c.org, 24)]
            for c in found
        ],
        ["ID", "NAME", "STAGE", "E-MAIL", "ORG"],
    )


@contact.command("show")
@click.argument("query", metavar="NAME|ID")
@json_option
@pass_app
def show(app: AppContext, query: str, as_json: bool) -> None:
    """Show one contact, its upcoming encounters and its interactions."""
    from mendcrm.contacts import resolve  # brings name folding (detection): not for `list`

    with app.store.read() as view:
        person = resolve(repository.contacts(view), query)
        history = repository.interactions(view, person.id)
        now = app.clock.now()
        ahead = [
            e
            for e in repository.encounters(view)
            if e.contact_id == person.id and e.state == "active" and e.occurrence.end >= now
        ]
    if as_json:
        data = contact_json(person)
        data["interactions"] = [interaction_json(i) for i in history]
        data["upcoming"] = [
            {
                "id": e.id,
                "kind": e.kind,
                "summary": e.occurrence.summary,
                "start": to_iso(e.occurrence.start),
                "end": to_iso(e.occurrence.end),
                "match": {"by": e.match.by, "evidence": e.match.evidence},
            }
            for e in ahead
        ]
        emit_json(data)
        return
    from mendcrm.render import user_zone

    zone = user_zone(app.config.me)
    click.echo(f"{person.name}  ({person.id})")
    lines = [
        ("stage", person.stage + (" (flagged)" if person.flagged else "")),
        ("e-mail", ", ".join(person.emails)),
        ("aliases", ", ".join(person.aliases)),
        ("org", person.org),
        ("role", person.role),
        ("affinity", ", ".join(person.affinity)),
        ("history", person.history),
        ("strengths", person.strengths),
        ("goal", person.goal),
        ("boundaries", person.boundaries),
        ("notes", person.notes),
    ]
    for label, value in lines:
        if value:
            click.echo(f"  {label + ':':<11} {value}")
    if ahead:
        click.echo("\nupcoming encounters:")
        for e in ahead:
            start = e.occurrence.start.astimezone(zone).strftime("%a %d %b %H:%M")
            click.echo(f"  {start}  {e.occurrence.summary}  [{e.kind}, {e.match.by}]  ({e.id})")
    click.echo("\ninteractions:" if history else "\nno interactions logged yet")
    for item in history:
        when = item.when.astimezone(zone).strftime("%Y-%m-%d")
        outcome = f" {item.outcome}" if item.outcome else ""
        move = (
            f"  [{item.stage_before} → {item.stage_after}]"
            if item.stage_after and item.stage_after != item.stage_before
            else ""
        )
        click.echo(f"  {when}  {item.kind}{outcome}{move}  {item.note}".rstrip())


@contact.command("edit")
@click.argument("query", metavar="NAME|ID")
@click.option("--name", "new_name", help="Rename the contact.")
@_fields_options
@pass_app
def edit(app: AppContext, query: str, new_name: str | None, **fields: Any) -> None:
    """Change a contact. A repeatable option given replaces that whole list."""
    from mendcrm.changes import edit_contact

    with app.store.transaction() as tx:
        edited = edit_contact(
            tx,
            query,
            now=app.clock.now(),
            name=new_name,
            emails=fields.pop("emails") or None,
            aliases=fields.pop("aliases") or None,
            affinity=fields.pop("affinity") or None,
            stage=fields.pop("stage"),
            **fields,
        )
    click.echo(f"updated {edited.name} ({edited.id})")


@contact.command("flag")
@click.argument("query", metavar="NAME|ID")
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default="strained",
    show_default=True,
    help="The stage to set (use none to unflag).",
)
@pass_app
def flag(app: AppContext, query: str, stage: str) -> None:
    """Flag a contact as someone you are mending things with (or set their stage)."""
    from mendcrm.changes import set_stage

    with app.store.transaction() as tx:
        person = set_stage(tx, query, stage, now=app.clock.now())
    state = (
        "flagged" if stage in ("strained", "cordial", "talking", "rebuilding") else "not flagged"
    )
    click.echo(f"{person.name} is now at stage {stage} ({state})")


@contact.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--stage", type=click.Choice(STAGES), default="none", help="Stage for new contacts.")
@pass_app
def import_vcards(app: AppContext, file: Path, stage: str) -> None:
    """Import contacts from a vCard file (.vcf); known e-mail addresses are merged, not doubled."""
    from mendcrm.contacts import clean_emails, find_by_email, merge, new_id
    from mendcrm.vcard import parse_vcards

    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{file} is not UTF-8 text", hint="export the vCards as UTF-8") from None
    cards, warnings = parse_vcards(text)
    for warning in warnings:
        click.echo(f"mendcrm: warning: {file}: {warning}", err=True)
    if not cards:
        raise MendError(f"{file} holds no vCard with a name", hint="is it a .vcf export?")
    added = merged = 0
    now = app.clock.now()
    with app.store.transaction() as tx:
        everyone = repository.contacts(tx)
        for card in cards:
            incoming = Contact(
                id=new_id(),
                name=card.name,
                emails=clean_emails(card.emails),
                aliases=tuple(card.nicknames),
                org=card.org,
                role=card.title,
                notes=card.note,
                stage=stage,
                stage_since=now if stage != "none" else None,
            )
            known = find_by_email(everyone, incoming.emails)
            if known is not None:
                updated = merge(known, incoming)
                everyone = [updated if c.id == known.id else c for c in everyone]
                repository.save(tx, "contacts", updated)
                merged += 1
            else:
                everyone.append(incoming)
                repository.save(tx, "contacts", incoming)
                added += 1
    click.echo(f"imported {file.name}: {added} added, {merged} merged into existing contacts")


_EARLIEST_YEAR = 1900


def _parse_when(value: str | None, app: AppContext) -> datetime:
    if not value:
        return app.clock.now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--when {value!r} is not a date or time",
            hint="use e.g. 2026-11-20 or 2026-11-20T15:00",
        ) from None
    if parsed.year < _EARLIEST_YEAR:
        # Far-past dates overflow once moved to UTC, and no working relationship is that old.
        raise UsageError(
            f"--when {value!r} is before {_EARLIEST_YEAR}", hint="give the date it happened"
        )
    if not parsed.tzinfo:
        from mendcrm.render import user_zone

        parsed = parsed.replace(tzinfo=user_zone(app.config.me))  # a bare time: the user's zone
    if parsed > app.clock.now():
        # A future entry would count toward the stage and start the quiet period in the future.
        raise UsageError(
            f"--when {value!r} is in the future", hint="log an interaction once it has happened"
        )
    return parsed


@click.command("log")
@click.argument("query", metavar="CONTACT")
@click.option("--outcome", type=click.Choice(OUTCOMES), required=True, help="How it went.")
@click.option("--note", default="", help="What happened, in a sentence.")
@click.option("--when", "when_text", help="When it happened (ISO date/time; default now).")
@click.option(
    "--kind",
    default="conversation",
    show_default=True,
    help="What it was: conversation, meeting, call, message, …",
)
@click.option(
    "--refused", is_flag=True, help="They clearly declined to reconnect (moves them to let-go)."
)
@pass_app
def log(
    app: AppContext,
    query: str,
    outcome: str,
    note: str,
    when_text: str | None,
    kind: str,
    refused: bool,
) -> None:
    """Record how an interaction with CONTACT went; the playbook may move their stage."""
    from mendcrm.changes import log_outcome

    when = _parse_when(when_text, app)
    with app.store.transaction() as tx:
        person, result = log_outcome(
            tx,
            query,
            outcome=outcome,
            note=note,
            when=when,
            kind=kind,
            refused=refused,
            playbook_path=app.config.playbook,
            now=app.clock.now(),
        )
    click.echo(describe_recorded(person, result))


def describe_recorded(person: Contact, result: Recorded) -> str:
    """Given a contact and what was recorded, return the one-line confirmation."""
    if result.stage_before == result.stage_after:
        return f"logged for {person.name}; stage stays {result.stage_after} ({result.reason})"
    move = f"{result.stage_before} → {result.stage_after}"
    return f"logged for {person.name}; stage {move} ({result.reason})"
