"""The e-mail plugin against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest

from mendcrm.clock import FrozenClock
from mendcrm.config.model import MeConfig
from mendcrm.delivery import deliver_due
from mendcrm.errors import ConfigError
from mendcrm.model import QueueItem
from mendcrm.plugins import make_plugin_manager
from mendcrm.store import Store
from tests.plugins.conftest import NOW, make_config, sample_item, seed
from tests.plugins.smtp_server import SmtpServer

Queue = Callable[[], dict[str, QueueItem]]


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path) as server:
        yield server


def email_settings(server: SmtpServer, **more: Any) -> dict[str, dict[str, Any]]:
    return {
        "email": {
            "host": "127.0.0.1",
            "port": server.port,
            "security": "plain",
            "from": "MendCRM <me@example.org>",
            "to": ["me@example.org"],
            **more,
        }
    }


def test_one_message_per_item(smtp: SmtpServer, store: Store, queue_of: Queue) -> None:
    seed(store, sample_item(1), sample_item(2))
    config = make_config(("email",), email_settings(smtp))
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert sorted(report.delivered) == ["q1", "q2"]
    assert sorted(m["Subject"] for m in smtp.inbox.messages) == [
        "Prep: coffee with Ana Lima (1)",
        "Prep: coffee with Ana Lima (2)",
    ]
    message = smtp.inbox.messages[0]
    assert "Be cordial." in message.get_payload()
    assert queue_of()["q1"].deliveries["email"] == next(
        m["Message-ID"] for m in smtp.inbox.messages if m["X-MendCRM-Items"] == "q1"
    )


def test_daily_digest_waits_for_its_hour_then_sends_one_message(
    smtp: SmtpServer, store: Store, queue_of: Queue
) -> None:
    # NOW is 09:00 UTC; the digest goes at 10:00 UTC.
    seed(
        store,
        sample_item(1),
        sample_item(2, due=NOW - timedelta(hours=2)),
        sample_item(3, due=NOW + timedelta(hours=3)),
    )
    config = make_config(
        ("email",),
        email_settings(smtp, mode="digest", digest_time="10:00"),
        me=MeConfig(timezone="UTC"),
    )
    pm = make_plugin_manager(config)
    clock = FrozenClock(NOW)
    deliver_due(store, config, pm, clock=clock)
    assert smtp.inbox.messages == [] and queue_of()["q1"].state == "due"
    clock.advance(timedelta(hours=1))
    report = deliver_due(store, config, pm, clock=clock)
    assert sorted(report.delivered) == ["q1", "q2"]
    assert len(smtp.inbox.messages) == 1
    digest = smtp.inbox.messages[0]
    assert digest["Subject"] == "MendCRM digest: 2 notes"
    assert digest["X-MendCRM-Items"] == "q2 q1"  # oldest first
    q = queue_of()
    assert q["q1"].deliveries["email"] == q["q2"].deliveries["email"] == digest["Message-ID"]
    # q3 became due after today's digest: it waits for tomorrow's.
    clock.advance(timedelta(hours=3))
    deliver_due(store, config, pm, clock=clock)
    assert len(smtp.inbox.messages) == 1
    clock.advance(timedelta(hours=21))
    deliver_due(store, config, pm, clock=clock)
    assert len(smtp.inbox.messages) == 2 and queue_of()["q3"].state == "delivered"


def test_starttls_verified_with_keyring_password(
    tmp_path: Path, store: Store, queue_of: Queue
) -> None:
    password = "s3cret-smtp-password"
    keyring.set_password("mendcrm", "smtp:me@example.org@127.0.0.1", password)
    with SmtpServer(tmp_path, username="me@example.org", password=password) as server:
        seed(store, sample_item(1))
        settings = email_settings(
            server, security="starttls", username="me@example.org", ca_file=str(server.ca_file)
        )
        config = make_config(("email",), settings)
        deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
        assert len(server.inbox.messages) == 1 and queue_of()["q1"].state == "delivered"

        # Without the private CA the server's certificate is not trusted: no mail, an error.
        seed(store, sample_item(2))
        del settings["email"]["ca_file"]
        config = make_config(("email",), settings)
        deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
        item = queue_of()["q2"]
        assert item.state == "due" and "CERTIFICATE_VERIFY_FAILED" in item.last_error
        assert password not in item.last_error
        assert len(server.inbox.messages) == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"host": "smtp.example.org", "security": "plain"}, 'security = "plain" is allowed only'),
        ({"host": "127.evil.example", "security": "plain"}, 'security = "plain" is allowed only'),
        ({"host": "127.1", "security": "plain"}, 'security = "plain" is allowed only'),
        ({"host": "h", "from": "me@x", "to": ["me@x"], "mode": "weekly"}, "mode must be"),
        ({"host": "h", "from": "me@x", "to": []}, "to is missing"),
        (
            {"host": "h", "from": "me@x", "to": ["me@x"], "password": "no"},
            "password is not a known",
        ),
    ],
)
def test_email_settings_are_validated(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager(make_config(("email",), {"email": table}))
    assert str(caught.value).startswith("[plugins.email] ")
    assert message in str(caught.value)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "::1", "mail.localhost"])
def test_plain_smtp_is_accepted_for_any_loopback_host(host: str) -> None:
    table = {"host": host, "security": "plain", "from": "me@x.example", "to": ["me@x.example"]}
    pm = make_plugin_manager(make_config(("email",), {"email": table}))  # no ConfigError
    # Accepted means loaded and enabled: the e-mail plugin is registered and answers delivery.
    assert pm.get_plugin("email") is not None
    assert [impl.plugin_name for impl in pm.hook.deliver.get_hookimpls()] == ["email"]
    # The same table naming a host outside loopback is refused (RFC 6890: 127.0.0.0/8, ::1
    # and *.localhost stay on this machine; anything else may cross a network in the clear).
    outside = {**table, "host": "mail.example.org"}
    with pytest.raises(ConfigError, match='security = "plain" is allowed only'):
        make_plugin_manager(make_config(("email",), {"email": outside}))
