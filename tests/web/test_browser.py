"""The page in a real browser (chromium, through Playwright) against ``mendcrm ui`` running as
its own process on a real store, as a person would use it.

The store is seeded at the real time (the server runs on the system clock), so "tomorrow's
meeting" is tomorrow. Each test gets a fresh store and server; the browser is shared.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mendcrm import repository
from mendcrm.store import Store
from tests.web.browser import Server, browser_missing, start_server, stop_server
from tests.web.conftest import seed

if browser_missing() and os.environ.get("CI") != "true":
    # One line for the whole module; under CI=true the fixture fails every test instead.
    pytest.skip(browser_missing(), allow_module_level=True)

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    store = tmp_path / "store.json"
    seed(store, datetime.now(UTC))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[me]\ntimezone = "Europe/Berlin"\n\n[store]\npath = {json.dumps(str(store))}\n'
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    running = start_server(config, store, env)
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url)
    try:
        yield page
    finally:
        context.close()


def _store(server: Server) -> Store:
    return Store(server.store)


def test_the_token_leaves_the_address_bar(tab: Any, server: Server) -> None:
    assert tab.url == server.base + "/"
    assert "token" not in tab.url


def test_today_shows_the_encounter_and_opens_its_prep_note(tab: Any) -> None:
    card = tab.locator(".encounter").first
    assert "Robert Hale" in card.inner_text()
    # The invitation's hostile title is text: no element was made of it, no script ran.
    assert "<script>alert(1)</script> Sync" in card.inner_text()
    assert tab.evaluate("document.querySelectorAll('main img, main script').length") == 0
    card.get_by_role("link", name="Prep note").click()
    tab.wait_for_url("**/prep/q-prep")
    note = tab.locator(".markdown")
    assert note.locator("h1").inner_text().startswith("Prep for <script>")
    assert "be cordial" in note.inner_text()
    hrefs = note.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["https://example.org/plan"]


def test_logging_an_outcome_moves_the_stage(tab: Any, server: Server) -> None:
    tab.goto(server.base + "/people/c-robert")
    assert tab.locator("#stage").inner_text() == "strained"
    # Two civil meetings are logged in this stage; by the playbook the third moves it on.
    tab.get_by_role("radio", name="neutral", exact=True).check()
    tab.get_by_role("textbox", name="Note", exact=True).fill("short and civil")
    tab.get_by_role("button", name="Log").click()
    tab.wait_for_selector("text=the stage moved")
    assert tab.locator("#stage").inner_text() == "cordial"
    assert "stage strained → cordial" in tab.locator(".timeline").inner_text()
    assert tab.locator("svg.chart polyline").count() >= 1
    with _store(server).read() as view:
        assert repository.contact(view, "c-robert").stage == "cordial"  # type: ignore[union-attr]


def test_marking_a_followup_done(tab: Any, server: Server) -> None:
    item = tab.locator("#item-q-follow")
    item.get_by_label("How it went").select_option("positive")
    item.get_by_role("button", name="Done").click()
    tab.wait_for_selector("text=followup done")
    assert tab.locator("#item-q-follow").count() == 0
    with _store(server).read() as view:
        assert repository.queue_item(view, "q-follow").state == "done"  # type: ignore[union-attr]


def test_forgetting_a_contact(tab: Any, server: Server) -> None:
    tab.goto(server.base + "/people/c-robert")
    tab.get_by_label("Forget this person everywhere").check()
    tab.get_by_role("button", name="Forget").click()
    tab.wait_for_url("**/people?note=forgotten")
    assert "Robert" not in tab.locator("main").inner_text()
    assert "Ana Lima" in tab.locator("main").inner_text()
    tab.goto(server.base + "/")
    assert "Robert" not in tab.locator("main").inner_text()
    assert "c-robert" not in server.store.read_text()
    assert "Robert Hale" not in server.store.with_name("store.json.bak").read_text()


def test_a_phone_screen_never_scrolls_sideways(browser: Any, server: Server) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(server.url)
        for route in ("/", "/people", "/people/c-robert", "/prep/q-prep", "/people/new"):
            page.goto(server.base + route)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, (route, wide)
    finally:
        context.close()


def test_an_action_works_without_javascript(browser: Any, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url)
        page.locator("#item-q-follow").get_by_role("button", name="Dismiss").click()
        page.wait_for_selector("text=followup dismissed")
    finally:
        context.close()
    with _store(server).read() as view:
        assert repository.queue_item(view, "q-follow").state == "dismissed"  # type: ignore[union-attr]


def test_no_serious_accessibility_violation(browser: Any, server: Server) -> None:
    # axe is injected as a script of the test's own; the page's CSP (rightly) refuses it, so
    # this one context bypasses the CSP. The page itself is unchanged.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.url)
        for route in ("/", "/people", "/people/c-robert", "/prep/q-prep", "/people/new"):
            page.goto(server.base + route)
            page.add_script_tag(path=str(AXE))
            found = page.evaluate("async () => (await axe.run()).violations")
            bad = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
            assert not bad, (route, bad)
    finally:
        context.close()


def test_the_page_loads_nothing_from_another_origin(browser: Any, server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        page.goto(server.url)
        for route in ("/people", "/people/c-robert", "/prep/q-prep"):
            page.goto(server.base + route)
    finally:
        context.close()
    assert asked and all(url.startswith(server.base + "/") for url in asked), asked


def test_nothing_of_the_notes_is_kept_in_the_browser_storage(tab: Any, server: Server) -> None:
    # htmx keeps a history cache in localStorage unless told not to; notes must not linger there.
    tab.goto(server.base + "/prep/q-prep")
    tab.get_by_role("link", name="People").click()
    tab.wait_for_url("**/people")
    kept = tab.evaluate("JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    assert "be cordial" not in kept and "Robert" not in kept
