"""The page's guard: no token, no page; no CSRF token, no change; a foreign Host, no answer; the
headers on every answer; nothing from another origin; hostile event text shown as text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mendcrm.config.model import UiConfig
from mendcrm.errors import UsageError
from mendcrm.web.exposed import refuse_exposed
from mendcrm.web.security import CSP, is_loopback, load_token
from tests.web.conftest import HOST, PORT, TOKEN, Page, signed_in

GET_ROUTES = [
    "/",
    "/people",
    "/people/new",
    "/people/c-robert",
    "/people/c-robert/edit",
    "/prep/q-prep",
    "/backup",
    "/static/style.css",
    "/static/vendor/htmx-2.0.11.min.js",
    "/no/such/page",
]
POST_ROUTES = [
    ("/people", {"name": "Eve Intruder"}),
    ("/people/c-robert/edit", {"name": "Bob"}),
    ("/people/c-robert/log", {"outcome": "positive"}),
    ("/people/c-robert/stage", {"stage": "mended"}),
    ("/people/c-robert/forget", {"confirm": "on"}),
    ("/followups/q-follow/done", {}),
    ("/followups/q-follow/dismiss", {}),
    ("/items/q-prep/snooze", {"hours": "5"}),
    ("/encounters/e-ahead/dismiss", {}),
    ("/discreet", {}),
]


@pytest.mark.parametrize("route", GET_ROUTES)
def test_no_session_no_page(page: Page, route: str) -> None:
    answer = page.client.get(route)
    assert answer.status_code == 401
    assert "Robert" not in answer.text
    # A made-up session cookie is no better.
    page.client.cookies.set(f"mendcrm_session_{PORT}", "guess")
    assert page.client.get(route).status_code == 401


def test_a_wrong_token_is_refused_and_sets_no_cookie(page: Page) -> None:
    answer = page.client.get("/?token=" + "x" * 43)
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(("route", "form"), POST_ROUTES)
def test_a_post_without_session_or_csrf_changes_nothing(
    page: Page, route: str, form: dict[str, str]
) -> None:
    before = page.store.path.read_bytes()
    assert page.client.post(route, data=form).status_code == 401
    csrf = signed_in(page)
    assert page.client.post(route, data=form).status_code == 403  # no CSRF token
    wrong = {**form, "csrf": csrf[::-1]}
    assert page.client.post(route, data=wrong).status_code == 403
    assert page.store.path.read_bytes() == before


def test_the_token_becomes_a_strict_cookie_and_leaves_the_url(page: Page) -> None:
    answer = page.client.get(f"/people?stage=strained&token={TOKEN}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/people?stage=strained"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"mendcrm_session_{PORT}=")  # the port in the name
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie


@pytest.mark.parametrize(
    "host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1:9999", "localhost", ""]
)
def test_a_foreign_host_header_is_refused(page: Page, host: str) -> None:
    # DNS rebinding: a page on evil.example resolves to 127.0.0.1; its requests name its host.
    answer = page.client.get(f"/?token={TOKEN}", headers={"host": host})
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize("route", [r for r in GET_ROUTES if r != "/no/such/page"])
def test_every_answer_has_the_strict_headers_and_names_no_other_origin(
    page: Page, route: str
) -> None:
    signed_in(page)
    answer = page.client.get(route)
    assert answer.status_code == 200, route
    assert answer.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "http" not in CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    if not answer.headers["content-type"].startswith("text/html"):
        return  # the style sheet, the vendored script, the backup download
    text = answer.text
    # Other origins: none loaded (the only absolute URL is the event's own https link, which is
    # a link the user may follow, not something the page fetches).
    loaded = re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', text)
    assert all(url == "https://example.org/plan" for url in loaded), loaded
    assert "<style" not in text and " style=" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", text)  # no inline script


def test_error_answers_have_the_headers_too(page: Page) -> None:
    answer = page.client.get("/")
    assert answer.status_code == 401
    assert answer.headers["content-security-policy"] == CSP


def test_hostile_event_text_is_shown_as_text(page: Page) -> None:
    signed_in(page)
    for route in ("/", "/prep/q-prep", "/people/c-robert"):
        text = page.client.get(route).text
        assert "<script>alert" not in text
        assert "<img" not in text and 'onerror="' not in text
        assert 'href="javascript:' not in text.lower()
    today = page.client.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Sync" in today
    note = page.client.get("/prep/q-prep").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note
    # The javascript: link stays text; the https one is a link.
    assert "[click me](javascript:alert(3))" in note
    assert '<a rel="noopener noreferrer nofollow" href="https://example.org/plan">' in note


def test_the_title_never_names_a_stage(page: Page) -> None:
    signed_in(page)
    for route in ("/", "/people", "/people/c-robert", "/prep/q-prep"):
        title = re.search(r"<title>(.*?)</title>", page.client.get(route).text)
        assert title is not None
        assert not any(s in title.group(1) for s in ("strained", "cordial", "Robert", "history"))


def test_discreet_hides_history_and_notes(page: Page) -> None:
    csrf = signed_in(page)
    assert "after the reorg" in page.client.get("/people/c-robert").text
    answer = page.client.post("/discreet", data={"csrf": csrf, "back": "/people/c-robert"})
    assert answer.status_code == 303 and answer.headers["location"] == "/people/c-robert"
    text = page.client.get("/people/c-robert").text
    assert "after the reorg" not in text
    # The stage is not shown (the stage menu lists every stage, none chosen).
    assert 'id="stage"' not in text and "selected" not in text
    assert "be cordial" not in page.client.get("/prep/q-prep").text


def test_a_redirect_target_from_a_form_stays_on_the_site(page: Page) -> None:
    csrf = signed_in(page)
    for back in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = page.client.post("/discreet", data={"csrf": csrf, "back": back})
        assert answer.headers["location"] == "/"


def test_the_token_file_is_private_and_rotates(tmp_path: Path) -> None:
    path = tmp_path / "ui-token"
    first = load_token(path)
    assert path.stat().st_mode & 0o777 == 0o600 and len(first) >= 40
    assert load_token(path) == first
    assert load_token(path, rotate=True) != first
    path.chmod(0o644)
    with pytest.raises(UsageError, match="can be read by other users"):
        load_token(path)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False)],
)
def test_off_loopback_without_tls_is_refused(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        refuse_exposed(host, UiConfig(), None)
    else:
        with pytest.raises(UsageError, match="without TLS and a password"):
            refuse_exposed(host, UiConfig(), None)


def test_other_commands_import_nothing_of_the_web_stack(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "store.json"}"\n')
    code = (
        "import sys\n"
        "from mendcrm.cli.main import main\n"
        "for argv in (['upcoming'], ['contact', 'list'], ['followups'], ['status']):\n"
        "    try:\n"
        "        main(['--config', sys.argv[1], *argv])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'markdown_it', 'mendcrm') and "
        "(not m.startswith('mendcrm') or m.startswith('mendcrm.web')))\n"
        "print('IMPORTED=' + ','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=True
    )
    assert "IMPORTED=\n" in result.stdout + "\n"
    assert result.stdout.strip().splitlines()[-1] == "IMPORTED="


def test_the_host_fixture_is_loopback() -> None:
    assert HOST.startswith("127.0.0.1:")
