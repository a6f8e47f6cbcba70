"""``mendcrm ui`` off loopback, as a real process: refused with one line naming each missing
piece; with a trustme certificate and a password in the test keyring it speaks https only and
the token alone gets the login form; behind a TLS proxy (``allowed_hosts``) another Host is
refused and the cookies are Secure.

The server binds 0.0.0.0 so that it counts as exposed, and the tests reach it on 127.0.0.1
only (never another address)."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import sys
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import trustme

from mendcrm.secrets import keyring_get, keyring_set
from mendcrm.web.exposed import PASSWORD_ENTRY
from tests.web.browser import Server, start_server, stop_server
from tests.web.test_server import _config, _env, _mendcrm

PASSWORD = "a page password"


def _write_config(tmp_path: Path, ui: str) -> tuple[Path, Path]:
    config, store = _config(tmp_path)
    config.write_text(config.read_text() + "[ui]\n" + ui)
    return config, store


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_off_loopback_without_tls_and_password_is_refused(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    line = _one_line_error(_mendcrm(config, "ui", "--host", "0.0.0.0", "--no-open"))
    assert "without TLS and a password" in line
    for fix in ("tls_cert", "allowed_hosts", "mendcrm ui set-password"):
        assert fix in line
    assert not (tmp_path / "ui-token").exists()  # refused before a token was made


def test_ui_host_in_config_counts_as_off_loopback(tmp_path: Path) -> None:
    config, _ = _write_config(tmp_path, 'host = "0.0.0.0"\n')
    line = _one_line_error(_mendcrm(config, "ui", "--no-open"))
    assert "refusing to serve the page on 0.0.0.0" in line


def test_a_proxy_without_a_password_is_refused(tmp_path: Path) -> None:
    config, _ = _write_config(tmp_path, 'allowed_hosts = ["crm.example.org"]\n')
    line = _one_line_error(_mendcrm(config, "ui", "--host", "0.0.0.0", "--no-open"))
    assert "without a password" in line and "mendcrm ui set-password" in line
    assert "tls_cert" not in line  # the proxy is the TLS


def test_a_password_without_tls_is_refused(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    keyring_set(PASSWORD_ENTRY, PASSWORD)
    line = _one_line_error(_mendcrm(config, "ui", "--host", "::", "--no-open"))
    assert line.split(" (hint")[0].endswith("without TLS")  # the password is there
    assert "set-password" not in line


def _set_password(config: Path, given: str) -> subprocess.CompletedProcess[str]:
    argv = ["-m", "mendcrm", "--config", str(config), "ui", "set-password", "--password-stdin"]
    return subprocess.run(
        [sys.executable, *argv],
        input=given,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )


def test_set_password_stores_it_in_the_keyring(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    done = _set_password(config, PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert keyring_get(PASSWORD_ENTRY) == PASSWORD  # the test keyring the process wrote
    short = _set_password(config, "short\n")
    assert short.returncode == 2 and "too short" in short.stderr
    assert keyring_get(PASSWORD_ENTRY) == PASSWORD  # unchanged


class Client:
    """HTTP(S) to 127.0.0.1:port, one request per connection, cookies kept by hand."""

    def __init__(self, port: int, context: ssl.SSLContext | None, host: str) -> None:
        self.port, self.context, self.host = port, context, host
        self.cookies: dict[str, str] = {}
        self.set_cookie: list[str] = []

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], str]:
        if self.context is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.context, timeout=10
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": host or self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode()
            self.set_cookie = answer.headers.get_all("set-cookie") or []
            for raw in self.set_cookie:
                jar: SimpleCookie = SimpleCookie()
                jar.load(raw)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
            return answer.status, dict(answer.headers.items()), text
        finally:
            conn.close()

    def login_csrf(self) -> str:
        status, _, text = self.request("GET", "/login")
        assert status == 200 and 'type="password"' in text
        return text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _token(tmp_path: Path) -> str:
    return (tmp_path / "ui-token").read_text().strip()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Server, ssl.SSLContext]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    config, store = _write_config(tmp_path, 'tls_cert = "cert.pem"\ntls_key = "key.pem"\n')
    keyring_set(PASSWORD_ENTRY, PASSWORD)
    server = start_server(config, store, _env(), args=("--host", "0.0.0.0"))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    try:
        yield server, context
    finally:
        stop_server(server)


def test_tls_server_needs_the_password_after_the_token(
    tmp_path: Path, tls_server: tuple[Server, ssl.SSLContext]
) -> None:
    server, context = tls_server
    token = _token(tmp_path)
    assert server.url == f"https://0.0.0.0:{server.port}/?token={token}"
    config = tmp_path / "config.toml"
    assert _mendcrm(config, "ui", "--url").stdout.strip() == server.url  # https again
    cookie = f"mendcrm_session_{server.port}"
    # https only: a plain http request gets no HTTP answer from a TLS socket.
    plain = Client(server.port, None, f"127.0.0.1:{server.port}")
    with pytest.raises((http.client.HTTPException, OSError)):
        plain.request("GET", f"/?token={token}")
    web = Client(server.port, context, f"127.0.0.1:{server.port}")
    status, headers, _ = web.request("GET", f"/?token={token}")
    assert status == 303 and headers["location"] == "/login"
    assert cookie not in web.cookies  # the token alone starts no session
    assert all("Secure" in c for c in web.set_cookie)
    assert web.request("GET", "/people")[0] == 401
    csrf = web.login_csrf()
    assert web.request("POST", "/login", {"csrf": csrf, "password": "wrong guess"})[0] == 401
    assert web.request("POST", "/login", {"password": PASSWORD})[0] == 403  # no CSRF token
    assert web.request("GET", "/people")[0] == 401
    status, headers, _ = web.request("POST", "/login", {"csrf": csrf, "password": PASSWORD})
    assert status == 303 and headers["location"] == "/"
    session = next(c for c in web.set_cookie if c.startswith(cookie + "="))
    assert "Secure" in session and "HttpOnly" in session
    assert web.request("GET", "/people")[0] == 200
    # The session's own rules still hold: a POST without its CSRF token, a foreign Host.
    assert web.request("POST", "/discreet", {"back": "/"})[0] == 403
    assert web.request("GET", "/people", host=f"evil.example:{server.port}")[0] == 403


def test_behind_a_proxy_only_allowed_hosts_and_secure_cookies(tmp_path: Path) -> None:
    config, store = _write_config(tmp_path, 'allowed_hosts = ["crm.example.org"]\n')
    keyring_set(PASSWORD_ENTRY, PASSWORD)
    server = start_server(config, store, _env(), args=("--host", "0.0.0.0"))
    try:
        token = _token(tmp_path)
        # The proxy speaks TLS to the browser and plain http to us, passing Host through.
        web = Client(server.port, None, "crm.example.org")
        for other in (f"127.0.0.1:{server.port}", "evil.example", "crm.example.org.evil"):
            assert web.request("GET", f"/?token={token}", host=other)[0] == 403
        status, headers, _ = web.request("GET", f"/?token={token}")
        assert status == 303 and headers["location"] == "/login"
        csrf = web.login_csrf()
        status, _, _ = web.request("POST", "/login", {"csrf": csrf, "password": PASSWORD})
        assert status == 303
        session = next(c for c in web.set_cookie if c.startswith(f"mendcrm_session_{server.port}="))
        # RFC 6265 §4.1.2.5: Secure though this hop is plain http, since the browser's is https.
        assert "Secure" in session
        assert web.request("GET", "/people")[0] == 200
    finally:
        stop_server(server)
