"""The daemon's page (:class:`EmbeddedPage`) off loopback follows the same rules as
``mendcrm ui``: refused (and logged in one line) without a password, served over https with
the login form once TLS and a password are there. It binds 0.0.0.0 and is reached on
127.0.0.1 only."""

from __future__ import annotations

import http.client
import logging
import ssl
from pathlib import Path

import pytest
import trustme

from mendcrm.clock import FrozenClock
from mendcrm.config.model import Config, StoreConfig, UiConfig
from mendcrm.secrets import keyring_set
from mendcrm.web.embedded import EmbeddedPage
from mendcrm.web.exposed import PASSWORD_ENTRY
from tests.web.browser import free_port
from tests.web.conftest import NOW, seed


def _config(tmp_path: Path, store: Path, port: int) -> tuple[Config, ssl.SSLContext]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    ui = UiConfig(
        enabled=True,
        host="0.0.0.0",
        port=port,
        tls_cert=tmp_path / "cert.pem",
        tls_key=tmp_path / "key.pem",
    )
    return Config(store=StoreConfig(path=store), ui=ui), context


def test_the_daemon_page_off_loopback_needs_a_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = seed(tmp_path / "store.json")
    port = free_port()
    config, context = _config(tmp_path, store.path, port)
    page = EmbeddedPage(store, FrozenClock(NOW), password_for=None)
    with caplog.at_level(logging.ERROR, logger="mendcrm.web.embedded"):
        page.apply(config)
    assert page._server is None  # refused: no password yet
    assert "without a password" in caplog.text and "set-password" in caplog.text
    keyring_set(PASSWORD_ENTRY, "a page password")
    page.apply(config)
    try:
        token = (tmp_path / "ui-token").read_text().strip()
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        conn.request("GET", f"/?token={token}", headers={"Host": f"127.0.0.1:{port}"})
        answer = conn.getresponse()
        # The token alone: a login, not a session (its cookie is Secure, over https).
        assert answer.status == 303 and answer.headers["location"] == "/login"
        cookies = answer.headers.get_all("set-cookie") or []
        assert cookies and all("_login=" in c and "Secure" in c for c in cookies)
        conn.close()
    finally:
        page.stop()
