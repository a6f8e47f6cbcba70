"""Bad input through the real CLI: one line on stderr, exit 1 or 2, never a traceback.

Each case is one that ended in a traceback before (a config file that is not UTF-8, values too
large for ``timedelta``, ``inf``, a folder as ``password_command``, a failing template, a date
before any plausible interaction, an unclosed quote) or in click's three-line format.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.cli import Cli

_ME = '[me]\nname = "Ada"\nemails = ["ada@example.org"]\ntimezone = "UTC"\n'


def _one_line_error(result_err: str) -> str:
    lines = [line for line in result_err.splitlines() if line.strip()]
    assert len(lines) == 1, result_err
    assert lines[0].startswith("mendcrm: error: "), result_err
    assert "Traceback" not in result_err
    return lines[0]


def _config(tmp_path: Path, body: str) -> Cli:
    path = tmp_path / "config.toml"
    path.write_text(f'{_ME}[store]\npath = "{tmp_path / "store.json"}"\n{body}', encoding="utf-8")
    return Cli(path)


@pytest.mark.parametrize(
    ("body", "args", "code", "words"),
    [
        ("[sync]\nlookahead_days = 9999999\n", ["upcoming"], 2, "sync.lookahead_days"),
        ("[sync]\ntimeout_seconds = inf\n", ["status"], 2, "sync.timeout_seconds"),
        ('[prep]\nlead = "99999999999d"\n', ["upcoming"], 2, "prep.lead"),
        ("[daemon]\ndeliver_interval_seconds = 999999999999999\n", ["status"], 2, "daemon."),
        (
            '[[accounts]]\nname = "w"\nurl = "https://dav.example.org/"\n'
            'password_command = ["/"]\n',
            ["account", "test", "w"],
            1,
            "cannot be run",
        ),
        ("", ["upcoming", "--days", "abc"], 2, "--days"),
        ("", ["nosuchcommand"], 2, "nosuchcommand"),
        ("", ["log"], 2, "CONTACT"),
        (
            "",
            [
                "account",
                "add",
                "w",
                "--url",
                "https://dav.example.org/",
                "--username",
                "u",
                "--password-command",
                "pass 'unclosed",
            ],
            2,
            "quotation",
        ),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, body: str, args: list[str], code: int, words: str
) -> None:
    result = _config(tmp_path, body)(*args, ok=False)
    assert result.code == code, result.err
    assert words in _one_line_error(result.err)


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[me]\nname = "Zo\xc3"\n')
    result = Cli(path)("status", ok=False)
    assert result.code == 2
    line = _one_line_error(result.err)
    assert str(path) in line and "line 2" in line and "UTF-8" in line


def test_log_when_far_in_the_past(tmp_path: Path) -> None:
    cli = _config(tmp_path, "")
    cli("contact", "add", "Dana Whitfield", "--email", "dana@example.org")
    result = cli("log", "Dana Whitfield", "--outcome", "positive", "--when", "0001-01-01", ok=False)
    assert result.code == 2
    assert "--when" in _one_line_error(result.err)


def test_a_template_that_fails_while_rendering(tmp_path: Path) -> None:
    # The CLI runs on the real clock, so the meeting is placed relative to it: six hours ahead,
    # its prep note (lead 24 h) is due at once and is rendered in this pass.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)
    stamp = "%Y%m%dT%H%M%SZ"
    template = tmp_path / "prep.j2"
    template.write_text("{{ 1 / 0 }}\n", encoding="utf-8")
    feed = tmp_path / "work.ics"
    feed.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a@t\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start:{stamp}}\r\n"
        f"DTEND:{start + timedelta(hours=1):{stamp}}\r\n"
        "SUMMARY:Review\r\nATTENDEE;CN=Dana:mailto:dana@example.org\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    cli = _config(
        tmp_path,
        f'[prep]\ntemplate = "{template}"\n[[feeds]]\nname = "work"\npath = "{feed}"\n',
    )
    cli("contact", "add", "Dana Whitfield", "--email", "dana@example.org")
    cli("contact", "flag", "Dana Whitfield")
    result = cli("sync", ok=False)
    assert "Traceback" not in result.err, result.err
    assert "template failed while rendering: ZeroDivisionError" in result.err, result.err
