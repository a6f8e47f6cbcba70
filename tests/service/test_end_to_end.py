"""The whole product as a service: the real daemon against Radicale, delivering a prep note.

An event with a flagged contact among its attendees becomes, without anyone touching anything, a
Markdown note in the notes folder and an e-mail at the SMTP server; SIGHUP reloads, a second
daemon is refused, SIGTERM exits 0. The account's password (a sentinel) never shows in the log.
"""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pytest

from mendcrm import repository
from mendcrm.model import Contact
from mendcrm.store import Store
from tests.fixtures.servers import DavServer
from tests.plugins.smtp_server import SmtpServer
from tests.service.daemon_process import SCRIPT, DaemonProcess, env_for, poll, status_json

pytestmark = [pytest.mark.slow, pytest.mark.caldav]

SENTINEL = "SENTINEL-dav-pw-0c9d11"


def event(start: datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//e2e//EN\nBEGIN:VEVENT\n"
        "UID:e2e-coffee-1\n"
        f"DTSTAMP:{start:{stamp}}\nDTSTART:{start:{stamp}}\n"
        f"DTEND:{start + timedelta(hours=1):{stamp}}\n"
        "SUMMARY:Partner sync\nLOCATION:Room 4\n"
        "ORGANIZER;CN=Me:mailto:me@example.org\n"
        "ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:me@example.org\n"
        "ATTENDEE;CN=Ana Lima;PARTSTAT=ACCEPTED:mailto:ana@example.org\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )


def test_daemon_turns_a_calendar_event_into_a_delivered_prep_note(
    tmp_path: Path, radicale_server: DavServer
) -> None:
    account = radicale_server.new_account(password=SENTINEL)  # Radicale checks it (htpasswd)
    calendar = account.new_calendar("Work")
    account.put(calendar, "coffee.ics", event(datetime.now(UTC) + timedelta(hours=3)))
    keyring.set_password("mendcrm", "work", SENTINEL)

    store_path = tmp_path / "store.json"
    with Store(store_path).transaction() as tx:
        repository.save(
            tx,
            "contacts",
            Contact(
                id="c-ana",
                name="Ana Lima",
                emails=("ana@example.org",),
                stage="strained",
                history="We fell out over the reorg.",
                strengths="Great at partner relations.",
            ),
        )
    notes = tmp_path / "notes"
    with SmtpServer(tmp_path) as smtp:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[me]\nname = "Me"\nemails = ["me@example.org"]\n\n'
            f'[store]\npath = "{store_path}"\n\n'
            "[daemon]\ndeliver_interval_seconds = 1\n\n"
            '[prep]\nlead = "24h"\n\n'
            f'[[accounts]]\nname = "work"\nurl = "{radicale_server.url}"\n'
            f'username = "{account.username}"\ncalendars = ["{calendar}"]\nannotate = "off"\n\n'
            '[plugins]\nenabled = ["markdown_notes", "email"]\ntimeout_seconds = 10\n\n'
            f'[plugins.markdown_notes]\nfolder = "{notes}"\n\n'
            f'[plugins.email]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\n'
            'from = "MendCRM <me@example.org>"\nto = ["me@example.org"]\n'
        )
        daemon = DaemonProcess(tmp_path, config, "--verbose")
        try:
            daemon.wait_for_note("READY=1")

            def delivered() -> bool:
                with Store(store_path).read() as view:
                    return any(len(q.deliveries) == 2 for q in repository.queue(view))

            try:
                poll(delivered, timeout=60, what="a delivered prep note")
            except AssertionError:
                with Store(store_path).read() as view:
                    state = [view.all("queue"), view.all("encounters"), view.all("meta")]
                raise AssertionError(daemon.stderr[-4000:] + str(state)[:3000]) from None
            files = sorted(notes.glob("*.md"))
            note = files[0].read_text()
            assert 'contact: "Ana Lima"' in note and 'kind: "prep"' in note
            message = smtp.inbox.messages[0]
            assert "Ana Lima" in message["Subject"] + message.get_payload()
            with Store(store_path).read() as view:
                items = [q for q in repository.queue(view) if q.kind == "prep"]
            assert len(items) == 1 and items[0].state == "delivered"
            assert set(items[0].deliveries) == {"markdown_notes", "email"}

            second = subprocess.run(
                [str(SCRIPT), "daemon"],
                capture_output=True,
                text=True,
                env=env_for(config),
                timeout=60,
                check=False,
            )
            assert second.returncode == 1 and "already running" in second.stderr

            daemon.signal(signal.SIGHUP)
            poll(lambda: "config reloaded" in daemon.stderr, what="reload")
            health = status_json(config)["health"]
            assert health["sources"]["account:work"]["failures"] == 0
            assert health["items_delivered"] >= 1

            daemon.signal(signal.SIGTERM)
            assert daemon.wait() == 0
        finally:
            daemon.close()
    log = daemon.stderr
    assert "syncing account:work" in log  # debug level was on
    assert SENTINEL not in log
    assert len(smtp.inbox.messages) == 1  # delivered once, not again after the reload
