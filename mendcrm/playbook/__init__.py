"""The playbook: the stages of repair as data, loaded from TOML and checked on load.

The default ships beside this module (``playbook.toml``). A user's playbook file overrides it
stage by stage and key by key: a user who only wants a slower cadence for ``cordial`` writes
``[stages.cordial] cadence_days = 30`` and keeps everything else. The merged result is validated
as a whole, and every problem is reported as one line naming the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from mendcrm.errors import ConfigError
from mendcrm.model import OUTCOMES, STAGES

DEFAULT_NAME = "playbook.toml (built in)"

TRIGGERS: tuple[str, ...] = (*OUTCOMES, "refused")
"""What a transition can react to: an outcome, or ``refused`` for a clear no."""

_STAGE_KEYS = frozenset(
    {"meaning", "prep", "avoid", "followup", "thank_you", "cadence_days", "nudge", "transitions"}
)
_TRANSITION_KEYS = frozenset({"when", "count", "to", "why"})


@dataclass(frozen=True, slots=True)
class Transition:
    """One rule: ``count`` outcomes of the kinds in ``when`` since entering the stage → ``to``."""

    when: tuple[str, ...]
    to: str
    count: int = 1
    why: str = ""

    def describe(self) -> str:
        """Return the rule in words, e.g. ``2 positive outcomes → talking``."""
        kinds = " or ".join(self.when)
        noun = "outcome" if self.count == 1 else "outcomes"
        if self.when == ("refused",):
            return f"a clear refusal → {self.to}"
        return f"{self.count} {kinds} {noun} → {self.to}"


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of repair: what it means, how to prepare, what to avoid, what to do after."""

    name: str
    meaning: str
    prep: tuple[str, ...]
    avoid: tuple[str, ...]
    followup: tuple[str, ...]
    thank_you: bool
    cadence_days: int | None
    nudge: str
    transitions: tuple[Transition, ...]

    @property
    def cadence(self) -> timedelta | None:
        """Return the quiet interval after which a nudge is queued, or None for no nudges."""
        return None if self.cadence_days is None else timedelta(days=self.cadence_days)


@dataclass(frozen=True, slots=True)
class Playbook:
    """Every stage of :data:`mendcrm.model.STAGES`, plus where the data came from."""

    stages: Mapping[str, Stage]
    sources: tuple[str, ...] = (DEFAULT_NAME,)

    def stage(self, name: str) -> Stage:
        """Given a stage name, return its stage; an unknown name is treated as ``none``."""
        return self.stages.get(name) or self.stages["none"]


def load_playbook(path: Path | None = None) -> Playbook:
    """Given an optional user playbook file, return the default playbook with it laid over.

    Raise :class:`ConfigError` (one line naming the file and the key) if either file cannot be
    read or parsed, or if the merged playbook is invalid.
    """
    default_text = resources.files(__package__).joinpath("playbook.toml").read_text("utf-8")
    raw = _parse(default_text, DEFAULT_NAME)
    sources = [DEFAULT_NAME]
    origin = {name: DEFAULT_NAME for name in _stages_table(raw, DEFAULT_NAME)}
    if path is not None:
        try:
            user_text = path.read_text("utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: playbook file not found",
                hint="fix `playbook` in the config, or remove it to use the built-in playbook",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read playbook file ({exc})") from None
        user = _parse(user_text, str(path))
        raw = _overlay(raw, user, str(path), origin)
        sources.append(str(path))
    stages = _stages_table(raw, DEFAULT_NAME)
    return Playbook(
        stages={
            name: _stage(name, stages.get(name), origin.get(name, DEFAULT_NAME)) for name in STAGES
        },
        sources=tuple(sources),
    )


def _parse(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{name}: not valid TOML ({exc})", hint="check quotes, brackets and commas there"
        ) from None


def _stages_table(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    unknown = sorted(set(raw) - {"stages"})
    if unknown:
        raise ConfigError(
            f"{name}: {unknown[0]}: unknown key",
            hint="a playbook holds only [stages.NAME] tables",
        )
    stages = raw.get("stages", {})
    if not isinstance(stages, dict):
        raise ConfigError(f"{name}: stages: expected a table of stages")
    return stages


def _overlay(
    base: dict[str, Any], user: dict[str, Any], name: str, origin: dict[str, str]
) -> dict[str, Any]:
    """Lay the user's stages over the default's, key by key; remember who set each stage."""
    merged = {name_: dict(table) for name_, table in _stages_table(base, DEFAULT_NAME).items()}
    for stage, table in _stages_table(user, name).items():
        if stage not in STAGES:
            raise ConfigError(
                f"{name}: stages.{stage}: unknown stage",
                hint=f"stages are {', '.join(STAGES)}",
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: stages.{stage}: expected a table")
        merged.setdefault(stage, {}).update(table)
        origin[stage] = name
    return {"stages": merged}


def _stage(name: str, table: Any, source: str) -> Stage:
    where = f"{source}: stages.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: stage missing", hint=f"add a [stages.{name}] table")
    unknown = sorted(set(table) - _STAGE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key",
            hint=f"a stage has {', '.join(sorted(_STAGE_KEYS))}",
        )
    cadence = table.get("cadence_days", "none")
    if cadence == "none":
        cadence_days = None
    elif isinstance(cadence, int) and not isinstance(cadence, bool) and cadence >= 1:
        cadence_days = cadence
    else:
        raise ConfigError(
            f'{where}.cadence_days: expected a whole number of days (1 or more) or "none", '
            f"got {cadence!r}"
        )
    nudge = _text(table, "nudge", where, required=False)
    if cadence_days is not None and not nudge:
        raise ConfigError(
            f"{where}.nudge: a stage with a cadence needs a nudge text",
            hint='say what small step the nudge suggests, or set cadence_days = "none"',
        )
    thank_you = table.get("thank_you", False)
    if not isinstance(thank_you, bool):
        raise ConfigError(f"{where}.thank_you: expected true or false, got {thank_you!r}")
    return Stage(
        name=name,
        meaning=_text(table, "meaning", where, required=True),
        prep=_lines(table, "prep", where),
        avoid=_lines(table, "avoid", where),
        followup=_lines(table, "followup", where),
        thank_you=thank_you,
        cadence_days=cadence_days,
        nudge=nudge,
        transitions=_transitions(name, table.get("transitions", []), where),
    )


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected text, got {value!r}")
    if required and not value.strip():
        raise ConfigError(f"{where}.{key}: must not be empty")
    return value.strip()


def _lines(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if value is None:
        raise ConfigError(f"{where}.{key}: missing", hint="give a list of short points")
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of non-empty texts")
    if not value:
        raise ConfigError(f"{where}.{key}: needs at least one point")
    return tuple(v.strip() for v in value)


def _transitions(stage: str, value: Any, where: str) -> tuple[Transition, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}.transitions: expected a list of [[…transitions]] tables")
    rules = []
    for number, rule in enumerate(value, start=1):
        at = f"{where}.transitions[{number}]"
        if not isinstance(rule, dict):
            raise ConfigError(f"{at}: expected a table with when, to, count, why")
        unknown = sorted(set(rule) - _TRANSITION_KEYS)
        if unknown:
            raise ConfigError(f"{at}.{unknown[0]}: unknown key", hint="use when, to, count, why")
        when = rule.get("when")
        kinds = (when,) if isinstance(when, str) else when
        if (
            not isinstance(kinds, list | tuple)
            or not kinds
            or not all(isinstance(k, str) and k in TRIGGERS for k in kinds)
        ):
            raise ConfigError(
                f"{at}.when: expected one of {', '.join(TRIGGERS)} (or a list of them), "
                f"got {when!r}"
            )
        to = rule.get("to")
        if to not in STAGES or to == stage:
            raise ConfigError(
                f"{at}.to: expected another stage ({', '.join(s for s in STAGES if s != stage)}),"
                f" got {to!r}"
            )
        count = rule.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError(f"{at}.count: expected a whole number, 1 or more, got {count!r}")
        why = rule.get("why", "")
        if not isinstance(why, str):
            raise ConfigError(f"{at}.why: expected text, got {why!r}")
        rules.append(Transition(when=tuple(kinds), to=to, count=count, why=why.strip()))
    return tuple(rules)


__all__ = ["DEFAULT_NAME", "TRIGGERS", "Playbook", "Stage", "Transition", "load_playbook"]
