"""The SMTP password never leaves in an encoded form: a real SMTP server (aiosmtpd, STARTTLS)
that repeats the client's AUTH token in its 535 rejection, then every place that text could land
— the store, its backup, ``status``, ``plugins list`` and stderr — is searched for the password
as typed, percent-encoded and inside any base64 token (:mod:`tests.fixtures.secret_forms`)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from mendcrm.clock import FrozenClock
from mendcrm.config.load import load_config
from mendcrm.daemon.redaction import MASK, redact, remember_secret
from mendcrm.delivery import deliver_due
from mendcrm.logs import configure_logging
from mendcrm.plugins import make_plugin_manager
from mendcrm.secrets import run_password_command
from mendcrm.store import Store
from tests.fixtures.cli import Cli
from tests.fixtures.secret_forms import secret_forms_in
from tests.plugins.conftest import EXAMPLES, NOW, sample_item, seed
from tests.plugins.smtp_server import SmtpServer, echoed_token

PASSWORD = "Tr0ub4dor&3 horse"
"""With ``&`` and a space, so its percent-encoded forms differ from it (RFC 3986 §2.1)."""


def write_config(tmp_path: Path, server: SmtpServer, username: str) -> Path:
    # The password comes from a command, as a user would keep it: never in the config file.
    script = tmp_path / "password.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s' '{PASSWORD}'\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "store.json"}"\n\n'
        f'[plugins]\nenabled = ["email"]\npaths = ["{EXAMPLES}"]\n\n'
        "[plugins.email]\n"
        f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\n'
        f'username = "{username}"\npassword_command = ["/bin/sh", "{script}"]\n'
        f'from = "MendCRM <me@example.org>"\nto = ["me@example.org"]\n'
        f'ca_file = "{server.ca_file}"\n'
    )
    return config


# AUTH PLAIN sends base64("\0" + user + "\0" + password) (RFC 4616 §2): the password starts at
# byte len(user) + 2, so users of 10, 8 and 9 bytes put it at offsets 0, 1 and 2 of a base64
# 3-byte group — three different runs of base64 characters. AUTH LOGIN sends the password alone.
@pytest.mark.parametrize(
    ("mechanism", "username"),
    [
        ("PLAIN", "meee@x.org"),
        ("PLAIN", "me@x.org"),
        ("PLAIN", "mee@x.org"),
        ("LOGIN", "me@x.org"),
    ],
)
def test_a_server_repeating_the_auth_token_leaks_no_form_of_the_password(
    tmp_path: Path, mechanism: str, username: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer(tmp_path, username=username, password=PASSWORD, echo_auth=mechanism) as server:
        config_file = write_config(tmp_path, server, username)
        config = load_config(config_file)
        store = Store(config.store.path)
        seed(store, sample_item(1))
        configure_logging()
        try:
            deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
        finally:
            logging.getLogger("mendcrm").handlers.clear()
    stderr = capfd.readouterr().err

    # The attack happened: the rejection, with the token, reached the error text.
    token = echoed_token(mechanism, username.encode(), PASSWORD.encode())
    with store.read() as view:
        item = view.get("queue", "q1")
    assert item is not None and "535" in item["last_error"] and f"AUTH {mechanism}" in stderr
    assert token not in item["last_error"] and MASK in item["last_error"]

    cli = Cli(config_file)
    outputs = {
        "stderr of the delivery": stderr,
        "store": config.store.path.read_text(),
        "store backup": Path(f"{config.store.path}.bak").read_text(),
    }
    for args in (("status",), ("plugins", "list"), ("plugins", "list", "--json")):
        result = cli(*args, ok=False)
        outputs[" ".join(args)] = result.out + result.err
    assert "535" in outputs["plugins list --json"]  # the failure is shown, only masked
    leaks = {where: secret_forms_in(text, PASSWORD) for where, text in outputs.items()}
    assert leaks == {key: [] for key in outputs}


@pytest.mark.parametrize(
    "text",
    [
        "login failed for {raw}",
        "GET https://me:{percent}@dav.example/ 401",
        "(535, b'5.7.8 AUTH PLAIN {plain0} rejected')",
        "(535, b'5.7.8 AUTH PLAIN {plain1} rejected')",
        "(535, b'5.7.8 AUTH PLAIN {plain2} rejected')",
        "334 then 535 for {login}",
        "Authorization: Basic {basic}",
        "token={urlsafe}&x=1",
    ],
)
def test_redaction_masks_every_form_of_a_remembered_secret(text: str) -> None:
    secret = "n3w?Secret/with~bits+"
    remember_secret(secret, username="ana@example.org")

    def b64(raw: bytes, alphabet: bytes | None = None) -> str:
        return base64.b64encode(raw, altchars=alphabet).decode()

    forms = {
        "raw": secret,
        "percent": "n3w%3FSecret%2Fwith~bits%2B",
        # Users of 1, 2 and 3 bytes put the secret at byte offsets 0, 1 and 2 (mod 3).
        "plain0": b64(b"\0a\0" + secret.encode()),  # offset 3
        "plain1": b64(b"\0ab\0" + secret.encode()),  # offset 4
        "plain2": b64(b"\0abc\0" + secret.encode()),  # offset 5
        "login": b64(secret.encode()),
        "basic": b64(b"ana@example.org:" + secret.encode()),
        "urlsafe": b64(b"x:" + secret.encode(), b"-_"),
    }
    filled = text.format(**forms)
    assert secret_forms_in(filled, secret)  # the form really is there before
    cleaned = redact(filled)
    assert secret_forms_in(cleaned, secret) == [] and MASK in cleaned


def test_redaction_leaves_other_tokens_alone() -> None:
    remember_secret("n3w?Secret/with~bits+")
    text = "sent <177245.1234@mendcrm.invalid> AUTH PLAIN AGFuYQBvdGhlcnBhc3N3b3Jk etag abc123=="
    assert redact(text) == text


def _v1_store(path: Path, error: str) -> bytes:
    """A store as schema 1 wrote it, holding the leaked rejection in each error field."""
    tables = {
        "contacts": {},
        "interactions": {},
        "encounters": {},
        "queue": {"q1": {"id": "q1", "state": "due", "title": "Coffee", "last_error": error}},
        "sync_state": {"account:work": {"id": "account:work", "last_error": f"sync: {error}"}},
        "meta": {
            "schema": {"id": "schema", "version": 1},
            "plugin_health": {
                "id": "plugin_health",
                "plugins": {"email": {"failures": 3, "last_error": error}},
            },
        },
    }
    data = json.dumps(tables).encode()
    path.write_bytes(data)
    return data


def test_the_upgrade_scrubs_the_store_and_every_backup(tmp_path: Path) -> None:
    password = "0ld-Leaked-pass"  # never remembered: the migration cannot know it
    plain = base64.b64encode(b"\0me@x.org\0" + password.encode()).decode()
    login = base64.b64encode(password.encode()).decode()
    error = (
        f"email: SMTPAuthenticationError: (535, b'5.7.8 AUTH PLAIN {plain} rejected'); "
        f"then (535, b'5.7.8 AUTH LOGIN {login} rejected')"
    )
    path = tmp_path / "store.json"
    data = _v1_store(path, error)
    for name in ("store.json.bak", "store.json.v0.bak"):
        (tmp_path / name).write_bytes(data)

    with Store(path).read() as view:
        item = view.get("queue", "q1")
    assert item is not None and item["title"] == "Coffee" and "535" in item["last_error"]
    files = sorted(tmp_path.glob("store.json*"))
    names = [f.name for f in files if not f.name.endswith(".lock")]
    assert names == ["store.json", "store.json.bak", "store.json.v0.bak", "store.json.v1.bak"]
    for file in files:
        assert secret_forms_in(file.read_text(), password) == [], file.name
    # The scrubbed old version is still a readable schema-1 store.
    old = json.loads((tmp_path / "store.json.v1.bak").read_text())
    assert old["meta"]["schema"]["version"] == 1
    assert old["queue"]["q1"]["last_error"].startswith("email: SMTPAuthenticationError: (535")


def test_error_text_is_stored_redacted_whoever_writes_it(tmp_path: Path) -> None:
    # A password obtained through the one secrets module is remembered there; the store then
    # masks it in any error field of any record (here a sync state and a nested health entry).
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho 'caldav-Pa55word'\n")
    password = run_password_command(("/bin/sh", str(script)), "account 'work'")
    basic = base64.b64encode(f"me@example.org:{password}".encode()).decode()
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        tx.put("sync_state", {"id": "account:work", "last_error": f"401 for Basic {basic}"})
        tx.put("meta", {"id": "health", "sources": {"work": {"last_error": f"pw={password}"}}})
    text = (tmp_path / "store.json").read_text()
    assert secret_forms_in(text, password) == [] and text.count(MASK) == 2
