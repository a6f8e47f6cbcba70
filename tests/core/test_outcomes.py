"""Outcomes move the stage by the playbook's transition rules, and say why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mendcrm.model import Interaction
from mendcrm.outcomes import apply_outcome
from tests.core.builders import PLAYBOOK, T0, contact


def logged(
    n: int, outcome: str, stage: str, *, kind: str = "meeting", start: int = 0
) -> list[Interaction]:
    return [
        Interaction(
            id=f"i{start + k}",
            contact_id="c-robert",
            when=T0 + timedelta(hours=start + k),
            kind=kind,
            outcome=outcome,
            stage_after=stage,
        )
        for k in range(n)
    ]


def test_civil_encounters_move_strained_to_cordial_on_the_third() -> None:
    robert = contact(stage="strained")
    assert not apply_outcome(robert, [], "neutral", playbook=PLAYBOOK).changed
    two = logged(1, "neutral", "strained") + logged(1, "positive", "strained", start=1)
    step = apply_outcome(robert, two, "neutral", playbook=PLAYBOOK)
    assert (step.previous, step.stage) == ("strained", "cordial")
    assert "3 positive or neutral outcomes" in step.why and "civil" in step.why


def test_a_negative_outcome_while_strained_stays_put_and_says_why() -> None:
    step = apply_outcome(contact(stage="strained"), [], "negative", playbook=PLAYBOOK)
    assert step.stage == "strained" and not step.changed
    assert "does not move" in step.why


def test_cordial_steps_back_on_negative_and_advances_on_two_positives() -> None:
    cordial = contact(stage="cordial")
    assert apply_outcome(cordial, [], "negative", playbook=PLAYBOOK).stage == "strained"
    first = apply_outcome(cordial, [], "positive", playbook=PLAYBOOK)
    assert first.stage == "cordial" and "2 move it to talking" in first.why
    assert (
        apply_outcome(
            cordial, logged(1, "positive", "cordial"), "positive", playbook=PLAYBOOK
        ).stage
        == "talking"
    )


@pytest.mark.parametrize("stage", ["strained", "cordial", "talking", "rebuilding"])
def test_a_clear_refusal_leads_to_let_go(stage: str) -> None:
    step = apply_outcome(contact(stage=stage), [], "negative", refused=True, playbook=PLAYBOOK)
    assert step.stage == "let-go"
    assert step.why.startswith("a clear refusal")


def test_only_outcomes_in_the_current_stage_count() -> None:
    robert = contact(stage="cordial", stage_since=T0 + timedelta(hours=10))
    before = logged(3, "positive", "cordial")  # logged before the stage began
    other = logged(2, "positive", "strained", start=11)  # recorded under another stage
    assert apply_outcome(robert, before + other, "positive", playbook=PLAYBOOK).stage == "cordial"
    inside = logged(1, "positive", "cordial", start=12)
    assert apply_outcome(robert, inside, "positive", playbook=PLAYBOOK).stage == "talking"


def test_rebuilding_needs_three_positives_and_two_negatives_step_back() -> None:
    rebuilding = contact(stage="rebuilding")
    assert (
        apply_outcome(
            rebuilding, logged(2, "positive", "rebuilding"), "positive", playbook=PLAYBOOK
        ).stage
        == "mended"
    )
    assert apply_outcome(rebuilding, [], "negative", playbook=PLAYBOOK).stage == "rebuilding"
    assert (
        apply_outcome(
            rebuilding, logged(1, "negative", "rebuilding"), "negative", playbook=PLAYBOOK
        ).stage
        == "talking"
    )


def test_talking_advances_after_one_good_conversation() -> None:
    step = apply_outcome(contact(stage="talking"), [], "positive", playbook=PLAYBOOK)
    assert step.stage == "rebuilding" and step.rule is not None


def test_none_stage_never_moves() -> None:
    for outcome in ("positive", "neutral", "negative"):
        assert apply_outcome(contact(stage="none"), [], outcome, playbook=PLAYBOOK).stage == "none"


def test_other_contacts_and_later_interactions_are_ignored() -> None:
    theirs = [
        Interaction(id="x", contact_id="c-ann", when=T0, outcome="positive", stage_after="cordial")
    ]
    later = logged(1, "positive", "cordial", start=100)
    robert = contact(stage="cordial")
    assert apply_outcome(robert, theirs, "positive", playbook=PLAYBOOK).stage == "cordial"
    assert apply_outcome(robert, later, "positive", playbook=PLAYBOOK, when=T0).stage == "cordial"


def test_bad_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        apply_outcome(contact(), [], "great", playbook=PLAYBOOK)
