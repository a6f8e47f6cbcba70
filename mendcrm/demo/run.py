"""``mendcrm demo``: the whole product against a throwaway Radicale, in under a minute.

Everything lives in a temporary folder: the server's storage, the config, the store and the
markdown notes. The server's throwaway password lives in a private file in that folder, which the
config names through ``password_command``, so a second shell can use the demo's config while
``--keep`` runs; it never reaches the user's keyring. The pass itself
is the production code path — :func:`mendcrm.pipeline.sync_pass` then
:func:`mendcrm.delivery.deliver_due` — nothing is special-cased for the demo.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mendcrm import repository
from mendcrm.clock import Clock
from mendcrm.config.load import load_config
from mendcrm.config.model import Config
from mendcrm.demo import sample, sample_programme
from mendcrm.demo.server import RadicaleServer
from mendcrm.store import Store

ACCOUNT = "demo"
USERNAME = "alex"

Echo = Callable[[str], None]


@dataclass
class DemoRun:
    """Where the demo put things, for the report and for ``--keep``."""

    folder: Path
    config: Config
    store: Store
    server: RadicaleServer
    notes: Path


def write_password_file(folder: Path, password: str) -> Path:
    """Given the demo folder and the server's password, write it to a private file there."""
    from mendcrm.files import write_private

    path = folder / "password"
    write_private(path, password + "\n")
    return path


def write_config(
    folder: Path, server: RadicaleServer, password_file: Path, programme: Path | None = None
) -> Path:
    """Given the demo folder, server, password file and the sample programme's file, write the
    demo's config file and return its path."""
    path = folder / "config.toml"
    programmes = (
        [
            "[[programmes]]",
            f'name = "{sample_programme.NAME}"',
            f"path = {json.dumps(str(programme))}",
        ]
        if programme is not None
        else []
    )
    path.write_text(
        "\n".join(
            [
                "[me]",
                f'name = "{sample.ME_NAME}"',
                f'emails = ["{sample.ME_EMAIL}"]',
                'timezone = "UTC"',
                "[store]",
                'path = "store.json"',
                "[plugins]",
                'enabled = ["markdown_notes"]',
                "[plugins.markdown_notes]",
                'folder = "notes"',
                "[[accounts]]",
                f'name = "{ACCOUNT}"',
                f'url = "{server.url}"',
                f'username = "{USERNAME}"',
                f"password_command = {json.dumps(['cat', str(password_file)])}",
                'annotate = "dedicated"',
                *programmes,
                "",
            ]
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def seed_calendar(server: RadicaleServer, clock: Clock) -> int:
    """Given the running server, create the user's "Work" calendar with the sample events.

    This stands in for the user's own calendar app, so it talks CalDAV through the caldav
    library directly rather than through MendCRM. Return the number of events written.
    """
    from caldav.collection import Calendar
    from caldav.davclient import DAVClient

    with DAVClient(url=server.url, username=USERNAME, password=server.password) as client:
        calendar = client.get_principal().make_calendar(name="Work", cal_id="work")
        # caldav's annotations also cover its async client; the sync client returns a Calendar.
        assert isinstance(calendar, Calendar)
        events = sample.events(clock.now())
        for event in events:
            calendar.save_event(event.ics)
    return len(events)


def seed_store(store: Store, clock: Clock) -> None:
    """Given the demo store, add the sample contacts and their history."""
    now = clock.now()
    with store.transaction() as tx:
        repository.save(tx, "contacts", *sample.contacts(now))
        repository.save(tx, "interactions", *sample.interactions(now))


def run_demo(clock: Clock, echo: Echo, *, keep: bool = False, wait: Callable[[], None]) -> int:
    """Given a clock and an output function, run the demo end to end; return the exit status.

    With ``keep``, ``wait`` is called while the server still runs (it returns when the user is
    done); otherwise everything is torn down and the folder removed before returning.
    """
    from mendcrm.delivery import deliver_due
    from mendcrm.demo.report import print_report
    from mendcrm.pipeline import sync_pass
    from mendcrm.plugins import make_plugin_manager

    folder = Path(tempfile.mkdtemp(prefix="mendcrm-demo-"))
    folder.chmod(0o700)
    password = secrets.token_urlsafe(12)
    try:
        (folder / "radicale").mkdir()
        with RadicaleServer(folder / "radicale", USERNAME, password) as server:
            events = seed_calendar(server, clock)
            password_file = write_password_file(folder, password)
            programme = sample_programme.write(folder, clock.now())
            config = load_config(write_config(folder, server, password_file, programme))
            store = Store(folder / "store.json")
            seed_store(store, clock)
            echo(
                f"MendCRM demo: Radicale on {server.url}, {events} sample events, "
                f"{len(sample.contacts(clock.now()))} contacts\n"
            )

            manager = make_plugin_manager(config)
            summary = sync_pass(config, store, clock=clock, plugin_manager=manager)
            deliver_due(store, config, manager, clock=clock)
            run = DemoRun(folder, config, store, server, folder / "notes")
            print_report(run, summary, clock, echo)
            if keep:
                echo(
                    f"\nThe server keeps running: {server.url}  user {USERNAME}  "
                    f"password {password}"
                )
                echo(
                    f"Config: {folder / 'config.toml'}  (try: mendcrm --config "
                    f"{folder / 'config.toml'} upcoming)"
                )
                echo(
                    "Another shell may use that config (e.g. `sync`) while this runs; "
                    "the password is in a private file beside it."
                )
                page = _serve_page(config, store, clock, password)
                if page is not None:
                    echo(f"The page (open it in your browser): {page[1]}")
                echo("Press Ctrl-C (or send SIGTERM) to stop it and remove the demo folder.")
                try:
                    wait()
                finally:
                    if page is not None:
                        page[0].stop()
            else:
                echo("\nSee it all on the local page: mendcrm demo --keep (it prints the link)")
            failed = summary.errors
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


def _serve_page(config: Config, store: Store, clock: Clock, password: str) -> Any:
    """Serve the local page on the demo's store (a free loopback port); return the page and its
    URL, or None if the web stack is not installed."""
    import dataclasses
    import socket

    try:
        from mendcrm.web.command import page_url
        from mendcrm.web.embedded import EmbeddedPage
        from mendcrm.web.security import load_token, token_path
    except ImportError:
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    ui = dataclasses.replace(config.ui, enabled=True, host="127.0.0.1", port=port)
    page = EmbeddedPage(store, clock, lambda account: password)
    page.apply(dataclasses.replace(config, ui=ui))
    return page, page_url("127.0.0.1", port, load_token(token_path(store.path)))


__all__ = ["DemoRun", "run_demo"]
