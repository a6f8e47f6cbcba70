"""Odd and hostile text through the first-party plugins, on real folders and a real SMTP server:
file names within the file system's byte limit, no invisible characters in them, no NUL in an
argv or an .ics, markup reaching notify-send escaped, a Subject that stays one line, and path
keys refused with the config."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from icalendar import Calendar

from mendcrm import repository
from mendcrm.clock import FrozenClock
from mendcrm.config.load import load_config
from mendcrm.delivery import deliver_due
from mendcrm.errors import ConfigError
from mendcrm.model import Contact, QueueItem, replace
from mendcrm.plugins import make_plugin_manager
from mendcrm.store import Store
from tests.plugins.conftest import NOW, make_config, sample_item, seed
from tests.plugins.smtp_server import SmtpServer

Queue = Callable[[], dict[str, QueueItem]]

NAME_MAX = 255
"""Bytes in one file name on Linux file systems (ext4, tmpfs, btrfs: NAME_MAX)."""

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""The bidirectional formatting characters of Unicode UAX #9 §2 (ALM, LRM, RLM, LRE … PDI)."""
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
"""Zero-width space, non-joiner, joiner, word joiner, zero-width no-break space."""


def rename_contact(store: Store, name: str) -> None:
    with store.transaction() as tx:
        contact = Contact.from_record(tx.get("contacts", "c-ana") or {})
        repository.save(tx, "contacts", replace(contact, name=name))


# 100 CJK characters are 300 UTF-8 bytes, 70 emoji 280, a family emoji (three people joined by
# two ZERO WIDTH JOINERs) 18: each overflows a 255-byte name unless it is cut.
@pytest.mark.parametrize(
    "name",
    [
        "关系" * 50,
        "😀" * 70,
        "👩\u200d👩\u200d👧" * 20,
        "Ana \u202egnp.exe\u200b\u2066Lima\u2069",
        "é" * 200,
    ],
    ids=["100-cjk", "70-emoji", "zwj-families", "bidi-zero-width", "200-e-acute"],
)
def test_markdown_file_names_fit_the_byte_limit_without_invisible_characters(
    tmp_path: Path, store: Store, queue_of: Queue, name: str
) -> None:
    notes = tmp_path / "notes"
    seed(store, sample_item(1), sample_item(2))  # same contact and due time: a " (2)" variant
    rename_contact(store, name)
    config = make_config(("markdown_notes",), {"markdown_notes": {"folder": str(notes)}})
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert sorted(report.delivered) == ["q1", "q2"] and report.failures == []
    files = sorted(p.name for p in notes.iterdir() if p.suffix == ".md")
    assert len(files) == 2
    for file in files:
        assert len(file.encode()) <= NAME_MAX, file
        assert not set(file) & set(BIDI + ZERO_WIDTH), file
        assert not any(unicodedata.category(c) == "Cc" for c in file), file
    # The names still say what they are: due time, kind and as much of the name as fits.
    visible = "".join(c for c in name if c not in BIDI + ZERO_WIDTH)
    assert all(f.startswith("2026-03-02 0855 Prep - " + visible[:10]) for f in files)
    assert queue_of()["q1"].deliveries["markdown_notes"].endswith(".md")


@pytest.fixture
def argv_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``notify-send`` on PATH that records each argument NUL-terminated: the real argv
    interface, a fake desktop (no session bus here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv.bin"
    script = bin_dir / "notify-send"
    script.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > '{log}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_a_nul_and_markup_in_event_text_reach_notify_send_harmless(
    argv_log: Path, store: Store, queue_of: Queue
) -> None:
    body = 'Be <b>brief</b> & see <a href="https://evil.example">this</a>\x00 now'
    seed(store, replace(sample_item(1), title="Coffee\x00 <i>now</i>", body=body))
    rename_contact(store, "Ana\x00Lima")
    config = make_config(("desktop_notify",), {"desktop_notify": {"detail": "full"}})
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert report.failures == [] and queue_of()["q1"].state == "delivered"
    argv = argv_log.read_bytes().split(b"\0")[:-1]
    assert argv[:2] == [b"--app-name=MendCRM", b"--"]
    title, text = argv[2].decode(), argv[3].decode()
    assert title == "MendCRM: AnaLima"  # the summary is plain text in the spec: not escaped
    # The body is markup to the notification server: its own markup characters as entities.
    assert text.startswith("Coffee &lt;i&gt;now&lt;/i&gt;\nBe &lt;b&gt;brief&lt;/b&gt; &amp; ")
    assert "<a" not in text and "&lt;a href=" in text


def test_the_exported_ics_holds_no_nul_and_parses(tmp_path: Path, store: Store) -> None:
    seed(store, replace(sample_item(1), title="Coffee\x00\x1b[2J", body="line 1\r\nline\x002"))
    config = make_config(("export",), {"export": {"folder": str(tmp_path / "export")}})
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    data = (tmp_path / "export" / "mendcrm.ics").read_bytes()
    # RFC 5545 §3.3.11: TEXT holds no CONTROL character but HTAB; a line break is written "\n".
    assert b"\x00" not in data and b"\x1b" not in data
    todo = next(c for c in Calendar.from_ical(data).walk("VTODO"))
    assert str(todo["SUMMARY"]) == "Coffee[2J"
    assert str(todo["DESCRIPTION"]) == "line 1\nline2"


@pytest.mark.parametrize("value", ["..", ".", "sub/mendcrm.ics", "x\\u0000y.ics", ""])
def test_an_export_file_name_that_is_not_plain_is_refused_with_the_config(
    tmp_path: Path, value: str
) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[store]\npath = "{tmp_path / "store.json"}"\n\n[plugins]\nenabled = ["export"]\n\n'
        f'[plugins.export]\nfolder = "{tmp_path / "export"}"\nics = "{value}"\n'
    )
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager(load_config(config_file))
    message = str(caught.value)
    assert "[plugins.export] ics" in message and str(config_file) in message
    assert caught.value.hint and 'ics = "mendcrm.ics"' in caught.value.hint


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path_factory.mktemp("smtp")) as server:
        yield server


# The Subject expected: each run of controls (CR LF, NUL ESC, BEL, U+2028) becomes one space,
# a lone surrogate U+FFFD; the rest is kept (RFC 2047 encodes it, RFC 5322 §2.2.3 folds it).
@pytest.mark.parametrize(
    ("title", "subject"),
    [
        ("Coffee\r\nBcc: victim@example.org", "Coffee Bcc: victim@example.org"),
        ("Coffee\nX-Injected: 1", "Coffee X-Injected: 1"),
        ("Tea\x00\x1b]0;t\x07 \u2028 break", "Tea ]0;t    break"),
        ("Lone \ud800 surrogate", "Lone \ufffd surrogate"),
        ("长" * 400, "长" * 400),
    ],
    ids=["crlf-header", "lf-header", "controls", "surrogate", "long-cjk"],
)
def test_an_odd_title_never_fails_an_email_and_the_subject_stays_one_line(
    smtp: SmtpServer, store: Store, queue_of: Queue, title: str, subject: str
) -> None:
    smtp.inbox.messages.clear()
    seed(store, replace(sample_item(1), title=title, body=f"{title}\n\nbody"))
    settings = {
        "email": {
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "plain",
            "from": "MendCRM <me@example.org>",
            "to": ["me@example.org"],
        }
    }
    config = make_config(("email",), settings)
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert report.failures == [] and queue_of()["q1"].state == "delivered"
    (message,) = smtp.inbox.messages
    assert message["Bcc"] is None and message["X-Injected"] is None
    # Unfolding (RFC 5322 §2.2.3) then decoding the encoded words (RFC 2047 §6) gives it back.
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", str(message["Subject"]))
    assert str(make_header(decode_header(unfolded))) == subject
