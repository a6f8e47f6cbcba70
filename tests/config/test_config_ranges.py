"""Every numeric key has a documented range; values outside it are one ConfigError, never a
traceback further on (timedelta overflow, an infinite timeout, a loop that never ends)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mendcrm.config import load_config
from mendcrm.config.schema import ARRAY_SECTIONS, SECTIONS, Range
from mendcrm.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"

_BASE = '[me]\nemails = ["me@example.org"]\n'


def _ranged_keys() -> list[tuple[str, str, Range]]:
    found = []
    for section, keys in {**SECTIONS, **ARRAY_SECTIONS}.items():
        for name, key in keys.items():
            if isinstance(key.check, Range):
                found.append((section, name, key.check))
    return found


def test_every_numeric_key_has_a_range() -> None:
    for section, keys in {**SECTIONS, **ARRAY_SECTIONS}.items():
        for name, key in keys.items():
            if int in key.types or float in key.types:
                assert isinstance(key.check, Range), f"{section}.{name} has no range"


@pytest.mark.parametrize(("section", "name", "bounds"), _ranged_keys())
def test_each_range_is_documented_beside_its_key(section: str, name: str, bounds: Range) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    # The key's own line (commented out under [[accounts]]) or the comment just above it.
    for index, line in enumerate(lines):
        if re.match(rf"^#?\s*{name}\s*=", line):
            nearby = " ".join(lines[max(0, index - 2) : index + 1])
            if bounds.documented in nearby:
                return
    pytest.fail(f"config.example.toml does not give {section}.{name}'s range {bounds.documented}")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(_BASE + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[sync]\nlookahead_days = 99999999999\n", "sync.lookahead_days"),
        ("[sync]\nlookahead_days = 0\n", "sync.lookahead_days"),
        ("[sync]\ninterval_minutes = 99999999999999\n", "sync.interval_minutes"),
        ("[sync]\ntimeout_seconds = inf\n", "sync.timeout_seconds"),
        ("[sync]\ntimeout_seconds = nan\n", "sync.timeout_seconds"),
        ("[sync]\ntimeout_seconds = 0\n", "sync.timeout_seconds"),
        (
            "[daemon]\ndeliver_interval_seconds = 999999999999999\n",
            "daemon.deliver_interval_seconds",
        ),
        ("[daemon]\nmax_backoff_minutes = -1\n", "daemon.max_backoff_minutes"),
        ("[daemon]\nmax_pass_minutes = 0\n", "daemon.max_pass_minutes"),
        ("[daemon]\nmax_pass_minutes = 100000\n", "daemon.max_pass_minutes"),
        ("[plugins]\ntimeout_seconds = 1e308\n", "plugins.timeout_seconds"),
        ('[prep]\nlead = "99999999999d"\n', "prep.lead"),
        ('[prep]\nlead = "91d"\n', "prep.lead"),
        ('[followup]\ndelay = "1e9s"\n', "followup.delay"),
        ("[prep]\nconference_evening_hour = 24\n", "prep.conference_evening_hour"),
        ("[store]\nretention_days = 0\n", "store.retention_days"),
        ("[store]\nretention_days = 99999999999\n", "store.retention_days"),
        (
            '[[accounts]]\nname = "w"\nurl = "https://dav.example.org/"\ntimeout_seconds = inf\n',
            "accounts[0].timeout_seconds",
        ),
    ],
)
def test_out_of_range_is_one_config_error(tmp_path: Path, body: str, key: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert f"`{key}`" in text and str(path) in text
    assert "\n" not in text
    assert caught.value.hint and caught.value.hint.startswith(("use ", "write "))


@pytest.mark.parametrize(
    "body",
    [
        "[sync]\nlookahead_days = 730\ntimeout_seconds = 0.5\n",
        '[prep]\nlead = "90d"\n[followup]\ndelay = "1.5d"\n',
        "[prep]\nconference_evening_hour = 0\n",
        "[store]\nretention_days = 1\n",
        "[store]\nretention_days = 36500\n",
    ],
)
def test_the_edges_of_each_range_are_accepted(tmp_path: Path, body: str) -> None:
    load_config(_write(tmp_path, body))


@pytest.mark.parametrize(
    "raw", [b'[me]\nname = "\xff"\n', b"\xfe\xff[me]\n", b'[me]\nname = "Zo\xc3"\n']
)
def test_a_config_that_is_not_utf8_is_one_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "UTF-8" in str(caught.value)
