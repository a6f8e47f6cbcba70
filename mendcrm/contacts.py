"""Contacts: finding one by what the user types, creating and merging them. Pure, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from mendcrm.addresses import mail_address
from mendcrm.detection import fold as fold_text
from mendcrm.errors import NotFoundError, UsageError
from mendcrm.model import STAGES, Contact, normalize_email, replace


def new_id() -> str:
    """Return a fresh contact id: short enough to type, random enough never to collide."""
    return uuid.uuid4().hex[:12]


def fold(text: str) -> str:
    """Given a name, return it as names are compared: folded like detection does, spaces single."""
    return " ".join(fold_text(text).split())


def resolve(contacts: Sequence[Contact], query: str) -> Contact:
    """Given the contacts and what the user typed (id, name, alias or e-mail), return the contact.

    Exact id first, then a unique id prefix (4 characters or more), then an exact (case- and
    accent-insensitive) name, alias or e-mail, then a unique partial name. Raise NotFoundError
    if nothing matches, UsageError if several do.
    """
    text = query.strip()
    for contact in contacts:
        if contact.id == text:
            return contact
    by_prefix = [c for c in contacts if len(text) >= 4 and c.id.startswith(text)]
    if len(by_prefix) == 1:
        return by_prefix[0]
    wanted = fold(text)
    email = normalize_email(text)
    exact = [
        c
        for c in contacts
        if fold(c.name) == wanted or any(fold(a) == wanted for a in c.aliases) or email in c.emails
    ]
    candidates = exact or [c for c in contacts if wanted and wanted in fold(c.name)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NotFoundError(
            f"no contact matches {query!r}", hint="see `mendcrm contact list` for names and ids"
        )
    listing = "; ".join(f"{c.name} ({c.id})" for c in candidates[:8])
    same_name = len({fold(c.name) for c in candidates}) == 1
    raise UsageError(
        f"{query!r} matches {len(candidates)} contacts: {listing}",
        hint="use the contact's id" if same_name else "use the contact's id or full name",
    )


def name_taken(contacts: Iterable[Contact], name: str, *, other_than: str = "") -> Contact | None:
    """Given contacts and a name, return a different contact already called that, or None."""
    wanted = fold(name)
    return next((c for c in contacts if c.id != other_than and fold(c.name) == wanted), None)


def check_stage(stage: str) -> str:
    """Given a stage name, return it; raise UsageError naming the stages if it is not one."""
    if stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r}", hint="use one of " + ", ".join(STAGES))
    return stage


def clean_emails(values: Iterable[str]) -> tuple[str, ...]:
    """Given e-mail addresses as typed, return them normalised and de-duplicated, in order."""
    seen: dict[str, None] = {}
    for value in values:
        if not value.strip():
            continue
        # The same reading detection matches attendees by, so a stored address always can match.
        email = mail_address(value)
        if email is None:
            raise UsageError(f"{value!r} is not an e-mail address", hint="write it as name@domain")
        seen.setdefault(email, None)
    return tuple(seen)


def _union(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in (*first, *second):
        seen.setdefault(fold(value), value)
    return tuple(seen.values())


def merge(existing: Contact, incoming: Contact) -> Contact:
    """Given a stored contact and one read from elsewhere, return the stored one enriched.

    What the user wrote wins; the incoming contact only fills empty fields and adds e-mails and
    aliases (its name becomes an alias if it differs).
    """
    aliases = _union(existing.aliases, incoming.aliases)
    if fold(incoming.name) != fold(existing.name):
        aliases = _union(aliases, [incoming.name])
    return replace(
        existing,
        emails=tuple(dict.fromkeys((*existing.emails, *incoming.emails))),
        aliases=aliases,
        org=existing.org or incoming.org,
        role=existing.role or incoming.role,
        notes=existing.notes or incoming.notes,
    )


def find_by_email(contacts: Iterable[Contact], emails: Iterable[str]) -> Contact | None:
    """Given contacts and some addresses, return the first contact holding any of them."""
    wanted = set(emails)
    return next((c for c in contacts if wanted.intersection(c.emails)), None)


__all__ = [
    "check_stage",
    "clean_emails",
    "find_by_email",
    "fold",
    "merge",
    "name_taken",
    "new_id",
    "resolve",
]
