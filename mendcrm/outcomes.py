"""Outcomes: how a logged interaction moves a contact through the playbook's stages.

Pure. The playbook's transition rules count the outcomes logged *in the contact's current
stage*: interactions at or after ``contact.stage_since`` (when known) whose ``stage_after`` is
the current stage (when recorded). Callers record ``stage_before``/``stage_after`` on the new
interaction and set ``stage_since`` whenever the stage changes, by hand or by outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mendcrm.model import OUTCOMES, Contact, Interaction
from mendcrm.playbook import Playbook, Transition

REFUSAL_KINDS: frozenset[str] = frozenset({"refused", "declined"})
"""An interaction of one of these kinds records a clear refusal (it counts as ``refused``)."""


@dataclass(frozen=True, slots=True)
class StageChange:
    """The result of an outcome: the stage before and after, and why, in words."""

    previous: str
    stage: str
    why: str
    rule: Transition | None = None

    @property
    def changed(self) -> bool:
        return self.stage != self.previous


def triggers(outcome: str | None, *, refused: bool = False) -> frozenset[str]:
    """Given an outcome and the refusal flag, return the transition triggers it counts as."""
    found = {outcome} if outcome in OUTCOMES else set()
    if refused:
        found.add("refused")
    return frozenset(found)


def _in_stage(interaction: Interaction, contact: Contact) -> bool:
    if contact.stage_since is not None and interaction.when < contact.stage_since:
        return False
    return interaction.stage_after is None or interaction.stage_after == contact.stage


def apply_outcome(
    contact: Contact,
    interactions: Iterable[Interaction],
    outcome: str,
    *,
    playbook: Playbook,
    refused: bool = False,
    when: datetime | None = None,
) -> StageChange:
    """Given a contact, their earlier interactions and a new outcome, return the new stage and why.

    The first transition rule of the contact's stage (in playbook order) whose trigger matches
    the new outcome, and whose count is reached by the matching outcomes logged in this stage
    plus the new one, decides the stage; with none, the stage stays. ``refused`` marks a clear
    no (it also counts as its outcome). Interactions after ``when`` are ignored. Raise ValueError
    if ``outcome`` is not one of positive, neutral, negative.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    stage = playbook.stage(contact.stage)
    new = triggers(outcome, refused=refused)
    earlier = [
        triggers(i.outcome, refused=i.kind in REFUSAL_KINDS)
        for i in interactions
        if i.contact_id == contact.id and _in_stage(i, contact) and (when is None or i.when <= when)
    ]
    for rule in stage.transitions:
        wanted = set(rule.when)
        if not wanted & new:
            continue
        seen = 1 + sum(1 for kinds in earlier if wanted & kinds)
        if seen >= rule.count:
            counted = _counted(rule, seen)
            why = f"{counted} in stage {contact.stage}, so {contact.stage} → {rule.to}"
            return StageChange(
                contact.stage, rule.to, f"{why}: {rule.why}" if rule.why else why, rule
            )
    pending = [r for r in stage.transitions if set(r.when) & new]
    if pending:
        rule = pending[0]
        seen = 1 + sum(1 for kinds in earlier if set(rule.when) & kinds)
        why = f"{_counted(rule, seen)} in stage {contact.stage}; {rule.count} move it to {rule.to}"
    else:
        why = f"a {outcome} outcome does not move the stage {contact.stage}"
    return StageChange(contact.stage, contact.stage, why, None)


def _counted(rule: Transition, seen: int) -> str:
    if rule.when == ("refused",):
        return "a clear refusal"
    noun = "outcome" if seen == 1 else "outcomes"
    return f"{seen} {' or '.join(rule.when)} {noun}"


__all__ = ["REFUSAL_KINDS", "StageChange", "apply_outcome", "triggers"]
