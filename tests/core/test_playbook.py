"""The built-in playbook is complete; user files override per stage; bad files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from mendcrm.errors import ConfigError
from mendcrm.model import STAGES
from mendcrm.playbook import load_playbook


def test_default_playbook_has_every_stage_with_distinct_guidance() -> None:
    book = load_playbook(None)
    assert set(book.stages) == set(STAGES)
    preps = {name: stage.prep for name, stage in book.stages.items()}
    assert len(set(preps.values())) == len(STAGES)
    for name in ("strained", "cordial", "talking", "rebuilding"):
        stage = book.stage(name)
        assert len(stage.prep) >= 3 and stage.avoid and stage.followup and stage.meaning
    assert book.stage("strained").cadence is None  # no pushing while the rift is fresh
    assert book.stage("cordial").cadence_days and book.stage("cordial").nudge
    assert not book.stage("strained").thank_you and book.stage("cordial").thank_you
    assert book.stage("unknown-stage").name == "none"


def test_user_file_overrides_one_key_of_one_stage(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        '[stages.cordial]\ncadence_days = 45\navoid = ["Talking shop at dinner."]\n', "utf-8"
    )
    book = load_playbook(user)
    default = load_playbook(None)
    assert book.stage("cordial").cadence_days == 45
    assert book.stage("cordial").avoid == ("Talking shop at dinner.",)
    assert book.stage("cordial").prep == default.stage("cordial").prep
    assert book.stage("talking") == default.stage("talking")
    assert book.sources[-1] == str(user)


def test_user_file_can_replace_transitions(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        '[[stages.strained.transitions]]\nwhen = "positive"\ncount = 1\nto = "talking"\n', "utf-8"
    )
    [rule] = load_playbook(user).stage("strained").transitions
    assert (rule.when, rule.count, rule.to) == (("positive",), 1, "talking")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[stages.frosty]\nmeaning = 'x'\n", "stages.frosty: unknown stage"),
        ("[stages.cordial]\ncadence = 3\n", "stages.cordial.cadence: unknown key"),
        ("[stages.cordial]\ncadence_days = -3\n", "stages.cordial.cadence_days"),
        ("[stages.cordial]\ncadence_days = 'weekly'\n", "stages.cordial.cadence_days"),
        ("[stages.cordial]\nprep = []\n", "stages.cordial.prep: needs at least one"),
        ("[stages.cordial]\nprep = 'be nice'\n", "stages.cordial.prep: expected a list"),
        ("[stages.cordial]\nmeaning = ''\n", "stages.cordial.meaning: must not be empty"),
        ("[stages.cordial]\nthank_you = 'yes'\n", "stages.cordial.thank_you"),
        ("[stages.cordial]\nnudge = ''\n", "stages.cordial.nudge: a stage with a cadence"),
        (
            "[[stages.cordial.transitions]]\nwhen = 'happy'\nto = 'talking'\n",
            "stages.cordial.transitions[1].when",
        ),
        (
            "[[stages.cordial.transitions]]\nwhen = 'positive'\nto = 'cordial'\n",
            "stages.cordial.transitions[1].to",
        ),
        (
            "[[stages.cordial.transitions]]\nwhen = 'positive'\nto = 'talking'\ncount = 0\n",
            "stages.cordial.transitions[1].count",
        ),
        (
            "[[stages.cordial.transitions]]\nwhen = 'positive'\nto = 'talking'\nafter = 2\n",
            "stages.cordial.transitions[1].after: unknown key",
        ),
        ("colour = 'blue'\n", "colour: unknown key"),
        ("[stages.cordial\n", "not valid TOML"),
    ],
)
def test_bad_user_playbook_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, where: str
) -> None:
    user = tmp_path / "bad.toml"
    user.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_playbook(user)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{user}: ")
    assert where in message
    assert caught.value.exit_code == 2


def test_missing_user_playbook_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="playbook file not found"):
        load_playbook(tmp_path / "nope.toml")
