"""The user's changes to the store: one function per action, shared by the CLI and the page.

Each function takes an open store transaction (:meth:`mendcrm.store.Store.transaction`) and the
time, checks the request, writes what it changes and returns what it did; the caller words the
answer. So the CLI, the web page and a running daemon act through the same rules, each change in
one locked write, and none loses another's write. Every stage change goes through
:func:`set_stage_in`, which records it in the ``stage_history`` table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mendcrm import repository
from mendcrm.contacts import check_stage, clean_emails, find_by_email, name_taken, new_id, resolve
from mendcrm.errors import NotFoundError, UsageError
from mendcrm.model import OUTCOMES, Contact, QueueItem, from_iso, replace
from mendcrm.recording import Recorded, record_outcome
from mendcrm.retention import Retention, prune
from mendcrm.stages import HISTORY, StageStep, set_stage_in, stage_history

TEXT_FIELDS: tuple[str, ...] = (
    "org",
    "role",
    "history",
    "strengths",
    "goal",
    "boundaries",
    "notes",
)
"""The free-text fields of a contact the user may set."""

FOLLOWUP_KINDS = ("followup", "nudge")
CLOSED = ("done", "dismissed")


def set_stage(tx: repository.Writable, query: str, stage: str, *, now: datetime) -> Contact:
    """Given a transaction, a contact (id, name or e-mail) and a stage, set it by hand (``none``
    unflags); return the contact as before the change. Raise NotFoundError/UsageError if the
    contact is unknown or ambiguous, or the stage is not one."""
    person = resolve(repository.contacts(tx), query)
    set_stage_in(tx, person, stage, now=now, by="hand", reason="set by you")
    return person


def _clean_list(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v.strip())


def add_contact(
    tx: repository.Writable,
    name: str,
    *,
    now: datetime,
    emails: Iterable[str] = (),
    aliases: Iterable[str] = (),
    affinity: Iterable[str] = (),
    stage: str | None = None,
    force: bool = False,
    **texts: str | None,
) -> Contact:
    """Given a transaction, a name and the contact's fields (``texts``: any of
    :data:`TEXT_FIELDS`), add the contact and return it. Raise UsageError if the name is empty,
    an address is not one or is another contact's, or the name is taken (unless ``force``)."""
    name = name.strip()
    if not name:
        raise UsageError("a contact needs a name", hint='e.g. mendcrm contact add "Robert Hale"')
    unknown = set(texts) - set(TEXT_FIELDS)
    if unknown:
        raise UsageError(f"unknown contact field {sorted(unknown)[0]!r}")
    addresses = clean_emails(emails)
    existing = repository.contacts(tx)
    clash = find_by_email(existing, addresses)
    if clash is not None:
        raise UsageError(
            f"{clash.name} ({clash.id}) already has one of these e-mail addresses",
            hint=f"edit that contact instead: mendcrm contact edit {clash.id} --email …",
        )
    namesake = name_taken(existing, name)
    if namesake is not None and not force:
        raise UsageError(
            f"there is already a contact called {namesake.name} ({namesake.id})",
            hint="edit that one, or add --force if this is a different person",
        )
    new = Contact(
        id=new_id(),
        name=name,
        emails=addresses,
        aliases=_clean_list(aliases),
        affinity=_clean_list(affinity),
    )
    new = replace(new, **{k: (v or "").strip() for k, v in texts.items()})
    repository.save(tx, "contacts", new)
    return set_stage_in(tx, new, check_stage(stage or "none"), now=now, by="hand", reason="added")


def edit_contact(
    tx: repository.Writable,
    query: str,
    *,
    now: datetime,
    name: str | None = None,
    emails: Iterable[str] | None = None,
    aliases: Iterable[str] | None = None,
    affinity: Iterable[str] | None = None,
    stage: str | None = None,
    **texts: str | None,
) -> Contact:
    """Given a transaction, a contact and the fields to change (None: leave as is; a list given
    replaces that whole list), save the contact and return it. Raise UsageError if nothing
    changes, the new name is another contact's, or an address is not one or another's."""
    everyone = repository.contacts(tx)
    person = resolve(everyone, query)
    changes: dict[str, Any] = {}
    if name is not None and name.strip() and name.strip() != person.name:
        namesake = name_taken(everyone, name, other_than=person.id)
        if namesake is not None:
            raise UsageError(
                f"there is already a contact called {namesake.name} ({namesake.id})",
                hint="choose a name that tells them apart",
            )
        changes["name"] = name.strip()
    if emails is not None:
        addresses = clean_emails(emails)
        clash = find_by_email([c for c in everyone if c.id != person.id], addresses)
        if clash is not None:
            raise UsageError(
                f"{clash.name} ({clash.id}) already has one of these e-mail addresses",
                hint="each address belongs to one contact",
            )
        if addresses != person.emails:
            changes["emails"] = addresses
    for key, values in (("aliases", aliases), ("affinity", affinity)):
        if values is not None and _clean_list(values) != getattr(person, key):
            changes[key] = _clean_list(values)
    for key, value in texts.items():
        if key not in TEXT_FIELDS:
            raise UsageError(f"unknown contact field {key!r}")
        if value is not None and value.strip() != getattr(person, key):
            changes[key] = value.strip()
    moves = stage is not None and stage != person.stage
    if not changes and not moves:
        raise UsageError("nothing to change", hint="see `mendcrm contact edit --help`")
    edited = replace(person, **changes)
    repository.save(tx, "contacts", edited)
    if stage is not None:
        edited = set_stage_in(tx, edited, stage, now=now, by="hand", reason="set by you")
    return edited


def log_outcome(
    tx: repository.Writable,
    query: str,
    *,
    outcome: str,
    when: datetime,
    now: datetime,
    note: str = "",
    kind: str = "conversation",
    refused: bool = False,
    playbook_path: Path | None = None,
) -> tuple[Contact, Recorded]:
    """Given a transaction, a contact and how an interaction went, log it; the playbook may move
    the stage. Return the contact (as before) and what was recorded. Raise UsageError if
    ``when`` is after ``now`` (a future entry would count toward the stage on a guess)."""
    check_outcome(outcome)
    if when > now:
        raise UsageError("that time is in the future", hint="log an interaction once it happened")
    person = resolve(repository.contacts(tx), query)
    recorded = record_outcome(
        tx,
        person,
        outcome=outcome,
        note=note,
        when=when,
        kind=kind,
        refused=refused,
        playbook_path=playbook_path,
        now=now,
    )
    return person, recorded


def check_outcome(outcome: str) -> str:
    """Given an outcome as the user gave it, return it; raise UsageError naming the outcomes if
    it is not one."""
    if outcome not in OUTCOMES:
        raise UsageError(
            f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}",
            hint="say how it went: positive, neutral or negative",
        )
    return outcome


def find_item(items: Iterable[QueueItem], query: str, *, what: str = "queue item") -> QueueItem:
    """Given queue items and an id, encounter id or unique id prefix, return the item. Raise
    NotFoundError if none matches, UsageError if several do."""
    everything = list(items)
    query = query.strip()
    exact = [i for i in everything if i.id == query or i.encounter_id == query]
    found = exact or ([i for i in everything if i.id.startswith(query)] if query else [])
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(
            f"no {what} {query!r}", hint="see `mendcrm prep` or `mendcrm followups`"
        )
    raise UsageError(f"{query!r} matches {len(found)} items", hint="give more of the id")


@dataclass(frozen=True, slots=True)
class Closed:
    """What :func:`close_followup` did: the item as closed, its contact and any outcome logged."""

    item: QueueItem
    person: Contact | None
    recorded: Recorded | None


def close_followup(
    tx: repository.Writable,
    item_id: str,
    *,
    now: datetime,
    dismiss: bool = False,
    outcome: str | None = None,
    note: str = "",
    refused: bool = False,
    playbook_path: Path | None = None,
    retention: Retention | None = None,
) -> Closed:
    """Given a transaction and a follow-up (or nudge) id, mark it done (logging ``outcome`` if
    given: the stage may move) or, with ``dismiss``, dismissed. A refusal without an outcome
    counts as negative. With ``retention``, what the store no longer needs goes in the same
    write (:func:`mendcrm.retention.prune`). Raise NotFoundError/UsageError if the id names no
    follow-up or several, if it is closed already, or if an outcome is given for a meeting that
    has not happened."""
    closed = _close(tx, item_id, now, dismiss, outcome, note, refused, playbook_path)
    if retention is not None:
        prune(tx, now=now, retention=retention)
    return closed


def _close(
    tx: repository.Writable,
    item_id: str,
    now: datetime,
    dismiss: bool,
    outcome: str | None,
    note: str,
    refused: bool,
    playbook_path: Path | None,
) -> Closed:
    if refused and outcome is None:
        outcome = "negative"
    if outcome is not None:
        check_outcome(outcome)
    followups = [i for i in repository.queue(tx) if i.kind in FOLLOWUP_KINDS]
    item = find_item(followups, item_id, what="follow-up")
    if item.state in CLOSED:
        raise UsageError(f"follow-up {item.id} is already {item.state}")
    if dismiss:
        closed = replace(item, state="dismissed", closed_at=now)
        repository.save(tx, "queue", closed)
        return Closed(closed, repository.contact(tx, item.contact_id), None)
    ahead = item.encounter_id is not None and item.state == "pending" and item.due > now
    if outcome and ahead and not refused:
        # An outcome for a meeting that has not happened would move the stage on a guess;
        # a refusal, though, can come before (they call the meeting off).
        raise UsageError(
            f"follow-up {item.id} is for a meeting that has not happened yet",
            hint="log another conversation with `mendcrm log`, or close it without --outcome",
        )
    person = repository.contact(tx, item.contact_id)
    closed = replace(item, state="done", closed_at=now)
    repository.save(tx, "queue", closed)
    recorded = None
    if outcome and person is not None:
        recorded = record_outcome(
            tx,
            person,
            outcome=outcome,
            note=note,
            when=now,
            now=now,
            kind="encounter" if item.encounter_id else "check-in",
            refused=refused,
            encounter_id=item.encounter_id,
            playbook_path=playbook_path,
        )
    return Closed(closed, person, recorded)


def snooze(tx: repository.Writable, item_id: str, *, until: datetime, now: datetime) -> QueueItem:
    """Given a transaction, an open queue item (prep note, follow-up or nudge) and a later time,
    put it off until then (a re-plan keeps it there) and return it. A prep note is put off at
    most until its meeting starts. Raise UsageError if ``until`` is not after ``now`` or the item
    is closed, NotFoundError if there is no such item."""
    if until <= now:
        raise UsageError("snooze to a time after now", hint="e.g. tomorrow morning")
    item = find_item(repository.queue(tx), item_id)
    if item.state not in ("pending", "due", "delivered"):
        raise UsageError(f"{item.kind} {item.id} is {item.state}: nothing to put off")
    if item.kind == "prep" and item.encounter_id:
        encounter = tx.get("encounters", item.encounter_id)
        if encounter is not None:
            start = from_iso(encounter["occurrence"]["start"])
            if until > start:
                until = start  # a prep note after the meeting has nothing left to prepare for
            if until <= now:
                raise UsageError(f"the meeting of prep note {item.id} starts before that")
    later = replace(item, due=until, snoozed_until=until, state="pending")
    repository.save(tx, "queue", later)
    return later


__all__ = [
    "CLOSED",
    "HISTORY",
    "TEXT_FIELDS",
    "Closed",
    "StageStep",
    "add_contact",
    "check_outcome",
    "close_followup",
    "edit_contact",
    "find_item",
    "log_outcome",
    "set_stage",
    "set_stage_in",
    "snooze",
    "stage_history",
]
