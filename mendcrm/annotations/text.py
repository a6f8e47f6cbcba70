"""The words of an annotation: titles and descriptions of prep events, tasks and inline lines.

Discretion is the default: calendars get shared and phones glanced at, so a ``discreet``
annotation names the contact and the event and says a note is ready, nothing more. ``full`` adds
the stage and its first piece of guidance (the wording is :func:`mendcrm.render.summary_line`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import tzinfo
from typing import Any

from mendcrm.model import Contact, Encounter
from mendcrm.playbook import Playbook
from mendcrm.render import summary_line


def _stage_words(contact: Contact, detail: str, playbook: Playbook | None) -> str:
    if detail != "full" or playbook is None:
        return ""
    return playbook.stage(contact.stage).name


def event_title(contact: Contact, detail: str, playbook: Playbook | None) -> str:
    """Given the contact, return the dedicated prep event's title (the stage only in ``full``)."""
    stage = _stage_words(contact, detail, playbook)
    return f"Prep: {contact.name}" + (f" ({stage})" if stage else "")


def event_description(
    contact: Contact,
    encounter: Encounter,
    *,
    zone: tzinfo,
    detail: str,
    playbook: Playbook | None,
    prep_id: str | None,
) -> str:
    """Given an encounter and its contact, return the dedicated prep event's DESCRIPTION."""
    line = summary_line("prep", contact, encounter, zone=zone, detail=detail, playbook=playbook)
    if prep_id:
        line += f"\n\nRead it with: mendcrm prep {prep_id}"
    return line


def todo_title(contact: Contact) -> str:
    """Given the contact, return a follow-up task's title."""
    return f"Follow up with {contact.name}"


def todo_description(
    contact: Contact,
    encounter: Encounter | None,
    *,
    zone: tzinfo,
    detail: str,
    playbook: Playbook | None,
    item_id: str,
) -> str:
    """Given a follow-up's contact and encounter, return its task's DESCRIPTION."""
    line = summary_line("followup", contact, encounter, zone=zone, detail=detail, playbook=playbook)
    return f"{line}\n\nRead it with: mendcrm followups (item {item_id})"


def inline_line(contact: Contact, *, zone: tzinfo, detail: str, playbook: Playbook | None) -> str:
    """Given a contact met at an event, return the block's line for them (the event is implied)."""
    return summary_line("prep", contact, None, zone=zone, detail=detail, playbook=playbook)


def content_hash(content: Any) -> str:
    """Given JSON-able content, return a short stable hash (what decides whether to write)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


__all__ = [
    "content_hash",
    "event_description",
    "event_title",
    "inline_line",
    "todo_description",
    "todo_title",
]
