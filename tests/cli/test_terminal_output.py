"""No control character from an invitation or a contact reaches the terminal.

A hostile invitation arrives through a real feed file and the real ``mendcrm`` console script
in a subprocess; its SUMMARY, and a contact's name and notes, carry the sequences a terminal acts
on (ECMA-48): CSI (``ESC [``), OSC (``ESC ]`` … BEL, which sets the window title or a hyperlink),
BEL, the one-character C1 CSI U+009B, and a bidi override (UAX #9). Every human-readable
command's stdout and stderr must hold none of those bytes, yet show the text (escaped); JSON must
parse back to exactly the stored text while holding no raw C1 or bidi character.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mendcrm import repository
from mendcrm.model import Contact
from mendcrm.store import Store
from tests.fixtures.cli import REPO, SCRIPT

HOSTILE = "\x1b[2J\x1b]0;owned\x07\x07\u009b31m\u202etxt.exe\u200b"
"""Clear screen (CSI), set title (OSC … BEL), BEL, C1 CSI, right-to-left override, zero-width
space."""

# Bytes a terminal acts on: C0 but TAB/LF, DEL, and C1 as UTF-8 encodes it (C2 80–C2 9F);
# the bidi formatting characters U+202A–U+202E and U+2066–U+2069 (E2 80 AA–AE, E2 81 A6–A9).
RAW_CONTROL = re.compile(
    rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]"
)


def ics_text(start: datetime) -> str:
    # A hostile sender does not follow RFC 5545 §3.3.11 (TEXT excludes CONTROL): the raw
    # characters go straight into the SUMMARY.
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//attacker//EN\r\n"
        "BEGIN:VEVENT\r\nUID:hostile-1\r\n"
        f"DTSTAMP:{start:{stamp}}\r\nDTSTART:{start:{stamp}}\r\n"
        f"DTEND:{start + timedelta(hours=1):{stamp}}\r\n"
        f"SUMMARY:Coffee {HOSTILE}\r\n"
        "ORGANIZER;CN=Ana:mailto:ana@example.org\r\n"
        "ATTENDEE;CN=Ana:mailto:ana@example.org\r\n"
        "ATTENDEE;CN=Me:mailto:me@example.org\r\n"
        "END:VEVENT\r\n"
        # No DTSTART: skipped with a sync warning that names the event by its (hostile) UID.
        f"BEGIN:VEVENT\r\nUID:bad{HOSTILE}\r\nDTSTAMP:{start:{stamp}}\r\nSUMMARY:x\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def world(tmp_path: Path) -> Path:
    # The console script runs on the real clock, so the meeting is placed from it: tomorrow.
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    feed = tmp_path / "invites.ics"
    feed.write_bytes(ics_text(start).encode("utf-8"))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[me]\nname = "Me"\nemails = ["me@example.org"]\ntimezone = "UTC"\n\n'
        f'[store]\npath = "{tmp_path / "store.json"}"\n\n'
        f'[[feeds]]\nname = "invites"\npath = "{feed}"\n'
    )
    contact = Contact(
        id="c-ana",
        name=f"Ana {HOSTILE}",
        emails=("ana@example.org",),
        stage="strained",
        history=f"History {HOSTILE}",
    )
    with Store(tmp_path / "store.json").transaction() as tx:
        repository.save(tx, "contacts", contact)
    return config


def run(config: Path, *args: str) -> tuple[int, bytes, bytes]:
    env = dict(os.environ, MENDCRM_CONFIG=str(config), PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [str(SCRIPT), *args], capture_output=True, env=env, timeout=120, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_no_command_sends_a_control_character_to_the_terminal(world: Path) -> None:
    code, out, err = run(world, "sync")
    assert code == 0, err
    assert b"DTSTART" in err and b"bad\\x1b]0;owned\\x07" in err  # the warning, shown escaped
    outputs = {"sync": out + err}
    for args in (
        ("events",),
        ("upcoming",),
        ("prep",),
        ("followups",),
        ("contact", "list"),
        ("contact", "show", "c-ana"),
        ("status",),
        ("plugins", "list"),
        ("events", "--json"),
        ("upcoming", "--json"),
        ("contact", "show", "c-ana", "--json"),
    ):
        code, out, err = run(world, *args)
        assert code == 0, (args, err)
        outputs[" ".join(args)] = out + err

    leaks = {name: RAW_CONTROL.findall(text) for name, text in outputs.items()}
    assert leaks == {key: [] for key in outputs}
    # The text is shown, not dropped: each control as a visible escape. (click itself drops
    # CSI sequences such as ESC [2J when stdout is not a terminal; OSC and C1 it lets through.)
    for name in ("events", "upcoming", "contact show c-ana"):
        assert b"\\x1b]0;owned\\x07\\x07\\u009b31m" in outputs[name], name
    assert b"\\u202etxt.exe" in outputs["contact show c-ana"]


def test_json_output_is_exact_and_escapes_c1_bidi_and_zero_width(world: Path) -> None:
    run(world, "sync")
    code, out, _ = run(world, "events", "--json")
    assert code == 0
    # RFC 8259 §7: "\u009b" in a JSON string is the character U+009B itself.
    assert json.loads(out)[0]["summary"] == f"Coffee {HOSTILE}"
    assert b"\\u009b" in out and b"\\u202e" in out and b"\\u001b" in out and b"\\u200b" in out
    assert "\u200b".encode() not in out
    code, out, _ = run(world, "contact", "show", "c-ana", "--json")
    assert json.loads(out)["name"] == f"Ana {HOSTILE}"
