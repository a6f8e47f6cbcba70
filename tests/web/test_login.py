"""The page off loopback, in process: the token opens only a login form, the password (with a
CSRF token and a per-client back-off) starts the session, and the refusal names each missing
piece. The real server over TLS is in test_exposed_server.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mendcrm.config.model import UiConfig
from mendcrm.errors import UsageError
from mendcrm.web.app import guarded
from mendcrm.web.exposed import page_hosts, refuse_exposed
from mendcrm.web.security import FREE_FAILURES, Sessions
from tests.web.conftest import HOST, NOW, PORT, TOKEN, make_site, seed

PASSWORD = "correct horse battery"
COOKIE = f"mendcrm_session_{PORT}"
LOGIN = f"{COOKIE}_login"


class Ticks:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def client(tmp_path: Path, ticks: Ticks) -> Iterator[TestClient]:
    from mendcrm.clock import FrozenClock

    store = seed(tmp_path / "store.json", NOW)
    site = make_site(store, FrozenClock(NOW))
    site.sessions = Sessions(token=TOKEN, port=PORT, password=PASSWORD, secure=True, now=ticks)
    # https: the client sends Secure cookies only there (as browsers do).
    with TestClient(guarded(site), base_url=f"https://{HOST}", follow_redirects=False) as c:
        yield c


def _login_form(client: TestClient) -> str:
    """Open the token link; return the login form's CSRF token."""
    answer = client.get(f"/?token={TOKEN}")
    # The token leaves the URL and starts only a login: no session cookie yet.
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.cookies.get(LOGIN) and not client.cookies.get(COOKIE)
    form = client.get("/login")
    assert form.status_code == 200 and 'type="password"' in form.text
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert len(csrf) >= 32
    return csrf


def test_the_token_alone_opens_only_the_login_form(client: TestClient) -> None:
    _login_form(client)
    for path in ("/", "/people", "/people/c-robert"):
        assert client.get(path).status_code == 401


def test_right_password_starts_the_session_with_a_secure_cookie(client: TestClient) -> None:
    csrf = _login_form(client)
    answer = client.post("/login", data={"csrf": csrf, "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    # RFC 6265 §4.1.2.5 and §4.1.2.6: Secure (https only) and HttpOnly (no script).
    assert "Secure" in session and "HttpOnly" in session and "samesite=strict" in session.lower()
    assert client.get("/people").status_code == 200
    # The login is spent: its form is gone.
    assert client.get("/login").status_code == 401


@pytest.mark.parametrize("wrong", ["", "correct horse", PASSWORD + " ", PASSWORD.upper()])
def test_a_wrong_password_is_refused(client: TestClient, wrong: str) -> None:
    csrf = _login_form(client)
    answer = client.post("/login", data={"csrf": csrf, "password": wrong})
    assert answer.status_code == 401 and "Wrong password" in answer.text
    assert client.get("/people").status_code == 401


@pytest.mark.parametrize("csrf", [None, "", "x" * 43])
def test_the_login_form_needs_its_csrf_token(client: TestClient, csrf: str | None) -> None:
    _login_form(client)
    data = {"password": PASSWORD} if csrf is None else {"csrf": csrf, "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 403
    assert client.get("/people").status_code == 401


def test_without_the_token_there_is_no_login_form(client: TestClient) -> None:
    assert client.get("/login").status_code == 401
    assert client.post("/login", data={"password": PASSWORD}).status_code == 401


def test_failures_back_off_per_client(client: TestClient, ticks: Ticks) -> None:
    csrf = _login_form(client)
    sessions: Sessions = client.app.site.sessions  # type: ignore[attr-defined]

    def attempt(password: str) -> int:
        return client.post("/login", data={"csrf": csrf, "password": password}).status_code

    # The first FREE_FAILURES (3) failures cost nothing.
    assert [attempt("no") for _ in range(FREE_FAILURES)] == [401] * FREE_FAILURES
    # After n >= 3 failures the client waits 2**(n-3) s from the last one, even with the right
    # password: 1 s now.
    waiting = client.post("/login", data={"csrf": csrf, "password": PASSWORD})
    assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
    assert sessions.wait_for("another-client") == 0  # per client
    ticks.t += 1.0
    assert attempt("no") == 401  # the 4th failure: 2**1 = 2 s
    assert attempt(PASSWORD) == 429
    ticks.t += 1.5
    assert attempt(PASSWORD) == 429
    ticks.t += 0.5
    assert attempt(PASSWORD) == 303
    assert sessions.wait_for("testclient") == 0  # success clears the count


def test_a_host_not_allowed_is_refused_behind_a_proxy() -> None:
    ui = UiConfig(host="0.0.0.0", allowed_hosts=("crm.example.org",))
    hosts = page_hosts("0.0.0.0", PORT, ui)
    assert hosts == frozenset({"crm.example.org"})
    assert page_hosts("127.0.0.1", PORT, UiConfig()) >= {f"127.0.0.1:{PORT}"}


@pytest.mark.parametrize(
    ("ui", "password", "missing", "fixes"),
    [
        (UiConfig(), None, "TLS and a password", ["tls_cert", "allowed_hosts", "set-password"]),
        (UiConfig(), "pw", "without TLS", ["tls_cert", "allowed_hosts"]),
        (
            UiConfig(allowed_hosts=("crm.example.org",)),
            None,
            "without a password",
            ["set-password"],
        ),
        (
            UiConfig(tls_cert=Path("c.pem"), tls_key=Path("k.pem")),
            None,
            "without a password",
            ["set-password"],
        ),
    ],
)
def test_refusal_names_each_missing_piece(
    ui: UiConfig, password: str | None, missing: str, fixes: list[str]
) -> None:
    with pytest.raises(UsageError) as caught:
        refuse_exposed("0.0.0.0", ui, password)
    assert missing in str(caught.value)
    hint = caught.value.hint or ""
    assert all(fix in hint for fix in fixes)
    if "tls_cert" not in fixes:
        assert "tls_cert" not in hint  # what is set up is not asked for again


@pytest.mark.parametrize(
    "ui",
    [
        UiConfig(tls_cert=Path("c.pem"), tls_key=Path("k.pem")),
        UiConfig(allowed_hosts=("crm.example.org",)),
    ],
)
def test_tls_or_proxy_and_a_password_may_serve(ui: UiConfig) -> None:
    refuse_exposed("0.0.0.0", ui, "a password")
    refuse_exposed("::", ui, "a password")
