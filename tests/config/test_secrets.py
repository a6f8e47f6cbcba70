"""Passwords come from the keyring or a password command, and never leak into messages."""

from __future__ import annotations

import sys

import keyring
import pytest

from mendcrm.config.model import AccountConfig
from mendcrm.errors import SecretError
from mendcrm.secrets import get_password, keyring_set


def test_keyring_round_trip() -> None:
    keyring_set("work", "pw-1")
    assert get_password(AccountConfig(name="work", url="https://x/")) == "pw-1"
    assert keyring.get_password("mendcrm", "work") == "pw-1"


def test_missing_keyring_entry_says_how_to_fix() -> None:
    with pytest.raises(SecretError) as caught:
        get_password(AccountConfig(name="absent", url="https://x/"))
    assert "account add absent" in str(caught.value)


def test_password_command_wins_and_runs_without_shell() -> None:
    argv = (sys.executable, "-c", "print('from-command'); print('second line')")
    account = AccountConfig(name="work", url="https://x/", password_command=argv)
    keyring_set("work", "from-keyring")
    assert get_password(account) == "from-command"


def test_failing_password_command_does_not_repeat_its_output() -> None:
    argv = (sys.executable, "-c", "import sys; print('SENTI' + 'NEL-SECRET'); sys.exit(3)")
    with pytest.raises(SecretError) as caught:
        get_password(AccountConfig(name="w", url="https://x/", password_command=argv))
    assert "exited with status 3" in str(caught.value)
    assert "SENTINEL-SECRET" not in str(caught.value)


def test_missing_password_command() -> None:
    with pytest.raises(SecretError, match="was not found"):
        get_password(AccountConfig(name="w", url="https://x/", password_command=("no-such-cmd-x",)))


def test_failing_password_command_names_only_the_program() -> None:
    # A secret can sit in the arguments themselves; only argv[0] may appear in the message.
    argv = (sys.executable, "-c", "import sys; sys.exit(1)", "ARGV-" + "SECRET")
    with pytest.raises(SecretError) as caught:
        get_password(AccountConfig(name="w", url="https://x/", password_command=argv))
    message = str(caught.value)
    assert sys.executable in message
    assert "ARGV-SECRET" not in message and "sys.exit" not in message


def test_no_backend() -> None:
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(SecretError) as caught:
            get_password(AccountConfig(name="w", url="https://x/"))
        assert "password_command" in str(caught.value)
    finally:
        keyring.set_keyring(previous)
