"""Forgetting a contact, end to end: ``mendcrm contact remove`` against a real CalDAV server with
dedicated annotations, the markdown notes and the export plugins, and the store's copies.

After it, nothing MendCRM wrote names the person: not the store or its ``.bak``, not the notes
folder or the export, not the annotation calendar on the server; the other contact's encounter
at the same meeting no longer refers to them. ``backup`` / ``restore`` round-trip the store.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mendcrm.annotations.run import state_id
from mendcrm.cli.context import AppContext
from mendcrm.cli.data_commands import backup, remove, restore
from mendcrm.delivery import deliver_due
from mendcrm.plugins import make_plugin_manager
from tests.e2e.conftest import ANA, ROBERT, World, ana, hours, meeting, robert
from tests.fixtures.servers import http_request
from tests.web.browser import start_server, stop_server

pytestmark = pytest.mark.caldav


def _run(world: World, command: object, *args: str) -> str:
    app = AppContext(config_option=world.config_path, clock=world.clock)
    result = CliRunner().invoke(command, list(args), obj=app, catch_exceptions=False)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def _status(world: World, href: str) -> int:
    base = world.account.server.url.rstrip("/")
    request = urllib.request.Request(base + href if href.startswith("/") else href)
    for key, value in world.account.auth.items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _annotated(world: World) -> dict[str, dict[str, object]]:
    with world.store.read() as view:
        doc = view.get("sync_state", state_id("work")) or {}
    return dict(doc.get("items") or {})


@pytest.fixture(autouse=True)
def _no_calendar_left(world: World) -> Iterator[None]:
    """Xandikos has one user for every test: the annotation calendar made here must go, or the
    next test finds it there."""
    yield
    with world.store.read() as view:
        doc = view.get("sync_state", state_id("work")) or {}
    calendar = doc.get("calendar")
    if calendar:
        http_request(str(calendar), "DELETE", headers=world.account.auth)


def _set_up(world: World, tmp_path: Path) -> tuple[Path, Path]:
    notes, export = tmp_path / "notes", tmp_path / "export"
    world.configure(
        extra=(
            '[plugins]\nenabled = ["markdown_notes", "export"]\n\n'
            f"[plugins.markdown_notes]\nfolder = {json.dumps(str(notes))}\n\n"
            f"[plugins.export]\nfolder = {json.dumps(str(export))}\n\n"
        )
    )
    text = world.config_path.read_text().replace('annotate = "off"', 'annotate = "dedicated"')
    world.config_path.write_text(text)
    world.add(ROBERT, ANA)
    # One meeting with both: Ana's encounter names Robert among the others present.
    world.put(meeting("both", world.now + hours(30), robert(), ana()))
    world.sync(plugin_manager=make_plugin_manager(world.config()))
    world.advance(hours(8))  # prep notes due (lead 24h before the meeting)
    deliver_due(world.store, world.config(), make_plugin_manager(world.config()), clock=world.clock)
    return notes, export


def test_contact_remove_forgets_them_everywhere(world: World, tmp_path: Path) -> None:
    notes, export = _set_up(world, tmp_path)
    hrefs = [str(v["href"]) for v in _annotated(world).values()]
    # Preconditions, so the checks below cannot pass vacuously.
    assert len(hrefs) >= 2 and all(_status(world, h) == 200 for h in hrefs)
    assert any("Robert Hale" in p.read_text() for p in notes.glob("*.md"))
    assert "Robert Hale" in (export / "mendcrm-queue.json").read_text()
    assert "Robert Hale" in world.store_path.with_name("store.json.bak").read_text()
    ana_enc = next(e for e in world.encounters() if e.contact_id == "c-ana")
    assert ana_enc.others == ("c-robert",)

    out = _run(world, remove, "Robert Hale", "--yes")
    assert out.startswith("forgot Robert Hale")

    for copy in (world.store_path, world.store_path.with_name("store.json.bak")):
        text = copy.read_text()
        # What MendCRM held about him: his id, his record's text, his name in its notes. (The
        # calendar's own event, which lists him as an attendee, is the user's, mirrored as is.)
        for trace in ("c-robert", "sailing", "reorg", "Also there:** Robert"):
            assert trace not in text, (copy, trace)
        assert "Robert Hale" not in json.dumps(json.loads(text)["queue"])
    assert not any("Robert" in p.read_text() for p in notes.glob("*.md"))
    assert any("Ana Lima" in p.read_text() for p in notes.glob("*.md"))  # hers stay
    assert "Robert" not in (export / "mendcrm-queue.json").read_text()
    assert "Robert" not in (export / "mendcrm.ics").read_text()
    left = _annotated(world)
    gone = [h for h in hrefs if h not in {str(v["href"]) for v in left.values()}]
    assert gone and all(_status(world, h) == 404 for h in gone)
    assert all(_status(world, str(v["href"])) == 200 for v in left.values())
    ana_after = next(e for e in world.encounters() if e.contact_id == "c-ana")
    assert ana_after.others == ()
    with world.store.read() as view:
        assert view.all("removals") == []  # every remote removal succeeded


def test_a_failing_server_leaves_the_removal_pending_and_status_says_so(
    world: World, tmp_path: Path
) -> None:
    _set_up(world, tmp_path)
    # The server refuses the deletes: the removal stays pending and is retried by the next pass.
    world.account.server.fault(503, method="DELETE", times=50)
    _run(world, remove, "c-robert", "--yes")
    with world.store.read() as view:
        pending = view.all("removals")
    assert len(pending) == 1 and pending[0]["attempts"] == 1 and pending[0]["last_error"]
    status = world.cli("status").out
    assert "forgotten contact's traces are still being removed" in status
    assert "Robert" not in status
    world.account.server.reset()
    world.sync(plugin_manager=make_plugin_manager(world.config()))
    with world.store.read() as view:
        assert view.all("removals") == []


def test_backup_and_restore_round_trip(world: World, tmp_path: Path) -> None:
    world.add(ROBERT, ANA)
    copy = tmp_path / "copy.json"
    assert "2 contacts" in _run(world, backup, str(copy))
    assert copy.stat().st_mode & 0o777 == 0o600
    _run(world, remove, "Ana Lima", "--yes")
    assert "restored 2 contacts" in _run(world, restore, str(copy), "--yes")
    with world.store.read() as view:
        assert sorted(c["id"] for c in view.all("contacts")) == ["c-ana", "c-robert"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"contacts": {}}')
    app = AppContext(config_option=world.config_path, clock=world.clock)
    result = CliRunner().invoke(restore, [str(bad), "--yes"], obj=app)
    assert result.exit_code != 0 and "not a MendCRM backup" in str(result.exception)


def test_forgetting_on_the_page_removes_them_everywhere(
    world: World, tmp_path: Path, browser: object
) -> None:
    """The browser forgets Robert on the page served by ``mendcrm ui`` (its own process): gone
    from the page, the store, the notes folder, the export and the annotation calendar."""
    notes, export = _set_up(world, tmp_path)
    hrefs = [str(v["href"]) for v in _annotated(world).values()]
    assert any("Robert Hale" in p.read_text() for p in notes.glob("*.md"))
    server = start_server(world.config_path, world.store_path, world.cli.env())
    try:
        context = browser.new_context()  # type: ignore[attr-defined]
        tab = context.new_page()
        tab.goto(server.url)
        tab.goto(server.base + "/people/c-robert")
        tab.get_by_label("Forget this person everywhere").check()
        tab.get_by_role("button", name="Forget").click()
        tab.wait_for_url("**/people?note=forgotten")
        assert "Robert" not in tab.locator("main").inner_text()
        context.close()
    finally:
        stop_server(server)
    assert "c-robert" not in world.store_path.read_text()
    assert not any("Robert" in p.read_text() for p in notes.glob("*.md"))
    assert "Robert" not in (export / "mendcrm-queue.json").read_text()
    left = {str(v["href"]) for v in _annotated(world).values()}
    gone = [h for h in hrefs if h not in left]
    assert gone and all(_status(world, h) == 404 for h in gone)
