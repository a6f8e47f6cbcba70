"""A contact's stage over time: every change, by the playbook, the CLI or the page, recorded.

Pure store access: :func:`set_stage_in` is the one place a contact's stage changes; it sets
``stage_since`` and adds a :class:`StageStep` to the ``stage_history`` table in the caller's
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mendcrm import repository
from mendcrm.contacts import check_stage
from mendcrm.model import Contact, from_iso, replace, to_iso

HISTORY = "stage_history"


@dataclass(frozen=True, slots=True)
class StageStep:
    """One change of a contact's stage: when, from what to what, by whom (``hand``,
    ``outcome``, ``migration``) and why, in words."""

    id: str
    contact_id: str
    at: datetime
    before: str | None
    after: str
    by: str
    reason: str = ""

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "at": to_iso(self.at),
            "before": self.before,
            "after": self.after,
            "by": self.by,
            "reason": self.reason,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StageStep:
        return cls(
            id=record["id"],
            contact_id=record["contact_id"],
            at=from_iso(record["at"]),
            before=record.get("before"),
            after=record["after"],
            by=record.get("by", ""),
            reason=record.get("reason", ""),
        )


def stage_history(view: repository.Readable, contact_id: str) -> list[StageStep]:
    """Given a store view and a contact id, return that contact's stage changes, oldest first."""
    found = [
        StageStep.from_record(r) for r in view.all(HISTORY) if r.get("contact_id") == contact_id
    ]
    return sorted(found, key=lambda s: s.at)  # stable: same-time steps keep the order written


def set_stage_in(
    tx: repository.Writable, person: Contact, stage: str, *, now: datetime, by: str, reason: str
) -> Contact:
    """Given a transaction, a contact and a stage, save the contact at that stage (``stage_since``
    now) and record the step in the history; return the contact as saved. Nothing is written if
    the stage is the same. Raise UsageError if ``stage`` is not a stage."""
    check_stage(stage)
    if stage == person.stage:
        return person
    moved = replace(person, stage=stage, stage_since=now)
    repository.save(tx, "contacts", moved)
    step = StageStep(uuid.uuid4().hex[:12], person.id, now, person.stage, stage, by, reason)
    tx.put(HISTORY, step.to_record())
    return moved


__all__ = ["HISTORY", "StageStep", "set_stage_in", "stage_history"]
