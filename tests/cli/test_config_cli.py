"""Config errors, `init` and `account add|list|remove` through the real console script."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import keyring
import pytest

from tests.fixtures.cli import Cli


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sync]\nlookahed_days = 3\n", "unknown key `sync.lookahed_days`"),
        (
            '[sync]\nlookahead_days = "3"\n',
            "`sync.lookahead_days` must be a whole number, not a string",
        ),
        ("[sync]\nlookahead_days = 0\n", "use a number from 1 to 730 days"),
        ('[prep]\nlead = "soon"\n', 'write a duration such as "24h"'),
        ('[me]\ntimezone = "Mars/Olympus"\n', "IANA zone name"),
        ('[[accounts]]\nname = "w"\nurl = "http://dav.example.org/"\n', "plain http://"),
        ('[[accounts]]\nurl = "https://dav.example.org/"\n', "has no `name`"),
        ("[sync\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    result = Cli(config)("contact", "list", ok=False)
    assert result.code == 2, result
    assert expected in result.err
    assert str(config) in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_missing_named_config_says_how_to_create_it(tmp_path: Path) -> None:
    result = Cli(tmp_path / "nope.toml")("contact", "list", ok=False)
    assert result.code == 2
    assert "mendcrm init" in result.err


def test_init_writes_private_commented_config(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.toml"
    cli = Cli(config)
    cli("init")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "# MendCRM configuration." in config.read_text()
    assert cli("init", ok=False).code == 2
    cli("init", "--force")
    assert cli("contact", "list", "--json").out.strip() == "[]"


def test_account_add_keeps_comments_and_puts_password_in_keyring(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    cli = Cli(config)
    cli("init")
    cli(
        "account",
        "add",
        "work",
        "--url",
        "https://dav.example.org/",
        "--username",
        "me",
        "--password-stdin",
        stdin="s3cret-sentinel\n",
    )
    text = config.read_text()
    assert "# MendCRM configuration." in text
    assert "s3cret-sentinel" not in text
    assert keyring.get_password("mendcrm", "work") == "s3cret-sentinel"
    listed = json.loads(cli("account", "list", "--json").out)
    assert listed[0]["name"] == "work" and listed[0]["password"] == "keyring"
    duplicate = cli(
        "account",
        "add",
        "work",
        "--url",
        "https://x.example/",
        "--username",
        "me",
        "--password-stdin",
        stdin="x\n",
        ok=False,
    )
    assert duplicate.code == 2 and "exists already" in duplicate.err
    cli("account", "remove", "work")
    assert keyring.get_password("mendcrm", "work") is None
    assert json.loads(cli("account", "list", "--json").out) == []
    assert "# MendCRM configuration." in config.read_text()


def test_account_add_refuses_plain_http_to_remote_host(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "config.toml")
    result = cli(
        "account",
        "add",
        "w",
        "--url",
        "http://dav.example.org/",
        "--username",
        "u",
        "--password-stdin",
        stdin="pw\n",
        ok=False,
    )
    assert result.code == 2
    assert "unencrypted" in result.err
    assert not (tmp_path / "config.toml").exists()


def test_account_with_password_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "config.toml")
    cli(
        "account",
        "add",
        "w",
        "--url",
        "https://dav.example.org/",
        "--username",
        "u",
        "--password-command",
        "pass show dav/w",
    )
    listed = json.loads(cli("account", "list", "--json").out)
    assert listed[0]["password"] == "command"
    assert 'password_command = ["pass", "show", "dav/w"]' in (tmp_path / "config.toml").read_text()


def test_no_keyring_backend_says_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    cli = Cli(tmp_path / "config.toml")
    result = cli(
        "account",
        "add",
        "w",
        "--url",
        "https://dav.example.org/",
        "--username",
        "u",
        "--password-stdin",
        stdin="pw\n",
        ok=False,
    )
    assert result.code == 1
    assert "password_command" in result.err
    assert "pw" not in result.err.split("hint")[0].replace("password", "")
    assert not (tmp_path / "config.toml").exists()


def test_init_sets_who_i_am(tmp_path: Path) -> None:
    from mendcrm.config import load_config

    config = tmp_path / "config.toml"
    out = Cli(config)(
        "init",
        "--name",
        "Alex Morgan",
        "--email",
        "Alex@Example.org",
        "--timezone",
        "Europe/Berlin",
    ).out
    assert "set [me] emails" not in out
    me = load_config(config).me
    assert (me.name, me.emails) == ("Alex Morgan", ("alex@example.org",))
    assert me.timezone == "Europe/Berlin"
    assert "# MendCRM configuration." in config.read_text()
    bad = Cli(tmp_path / "other.toml")("init", "--timezone", "Mars/Base", ok=False)
    assert bad.code == 2 and "unknown time zone" in bad.err


def test_account_add_adds_an_address_login_to_me_emails(tmp_path: Path) -> None:
    from mendcrm.config import load_config

    config = tmp_path / "config.toml"
    cli = Cli(config)
    assert "set [me] emails" in cli("init").out
    added = cli(
        "account",
        "add",
        "work",
        "--url",
        "https://dav.example.org/",
        "--username",
        "Me@Example.org",
        "--password-stdin",
        stdin="pw\n",
    ).out
    assert "added me@example.org to [me] emails" in added
    assert load_config(config).me.emails == ("me@example.org",)
    again = cli(
        "account",
        "add",
        "home",
        "--url",
        "https://dav.example.net/",
        "--username",
        "me@example.org",
        "--password-stdin",
        stdin="pw\n",
    ).out
    assert "[me] emails" not in again
    assert load_config(config).me.emails == ("me@example.org",)
