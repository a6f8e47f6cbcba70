"""Recording what happened with a contact: an interaction, and the stage the playbook gives it.

Used by ``mendcrm log`` and ``mendcrm followup done``. The caller passes an open transaction so
the interaction, the contact's new stage and the closed follow-up land in one write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mendcrm import repository
from mendcrm.model import Contact, Interaction
from mendcrm.outcomes import apply_outcome
from mendcrm.playbook import load_playbook
from mendcrm.repository import Writable
from mendcrm.stages import set_stage_in


@dataclass(frozen=True, slots=True)
class Recorded:
    """The interaction written and the stage move it caused (``reason`` says why, in words)."""

    interaction: Interaction
    stage_before: str
    stage_after: str
    reason: str


def record_outcome(
    tx: Writable,
    contact: Contact,
    *,
    outcome: str,
    note: str,
    when: datetime,
    now: datetime,
    kind: str = "conversation",
    refused: bool = False,
    encounter_id: str | None = None,
    playbook_path: Path | None = None,
) -> Recorded:
    """Given an open transaction and a contact, log an outcome; move the stage per the playbook.

    A contact at stage ``none`` keeps it: logging is allowed for anyone, but only flagged
    contacts follow the playbook. Raise ConfigError if the user's playbook is invalid.
    """
    earlier = repository.interactions(tx, contact.id)
    if contact.stage == "none":
        after, reason = contact.stage, "not flagged"
    else:
        change = apply_outcome(
            contact,
            earlier,
            outcome,
            playbook=load_playbook(playbook_path),
            refused=refused,
            when=when,
        )
        after, reason = change.stage, change.why
    interaction = Interaction(
        id=uuid.uuid4().hex[:12],
        contact_id=contact.id,
        when=when,
        kind="refused" if refused else kind,
        outcome=outcome,
        note=note.strip(),
        encounter_id=encounter_id,
        stage_before=contact.stage,
        stage_after=after,
    )
    repository.save(tx, "interactions", interaction)
    if after != contact.stage:
        set_stage_in(tx, contact, after, now=now, by="outcome", reason=reason)
    return Recorded(interaction, contact.stage, after, reason)


__all__ = ["Recorded", "record_outcome"]
