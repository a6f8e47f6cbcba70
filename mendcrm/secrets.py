"""Passwords: from the system keyring, or from a command the user names. Never from config.

The keyring entry for an account is service ``mendcrm``, username = the account's name. A
``password_command`` (an argv list, run without a shell) wins over the keyring when present, so a
headless machine with no keyring backend has a way out.
"""

from __future__ import annotations

import subprocess

from mendcrm.config.model import AccountConfig
from mendcrm.daemon.redaction import remember_secret
from mendcrm.errors import SecretError

SERVICE = "mendcrm"
_COMMAND_TIMEOUT = 30.0

_NO_BACKEND_HINT = (
    "install and unlock a keyring backend (e.g. gnome-keyring or KWallet; on a headless machine "
    "`pip install keyrings.alt`), or set password_command for the account, e.g. "
    '["pass", "show", "dav/work"]'
)


def get_password(account: AccountConfig) -> str:
    """Given an account, return its password; raise SecretError if none can be had."""
    if account.password_command:
        return run_password_command(account.password_command, f"account {account.name!r}")
    return keyring_get(account.name)


def run_password_command(argv: tuple[str, ...], owner: str) -> str:
    """Given a command's argv, return the first line of its output; raise SecretError if it fails.

    The command's output and error text are never repeated in messages: either may hold the secret.
    """
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise SecretError(
            f"password_command for {owner}: {argv[0]!r} was not found",
            hint="check the command name, or give its full path",
        ) from None
    except OSError as exc:
        # A folder, a file without the execute bit, a binary for another machine…
        raise SecretError(
            f"password_command for {owner}: {argv[0]!r} cannot be run ({exc.strerror})",
            hint='give the path of an executable program, e.g. ["pass", "show", "dav/work"]',
        ) from None
    except subprocess.TimeoutExpired:
        raise SecretError(
            f"password_command for {owner} did not finish within {_COMMAND_TIMEOUT:.0f} s",
            hint="a command that asks for input cannot be used here; unlock it first",
        ) from None
    if result.returncode != 0:
        raise SecretError(
            f"password_command for {owner} exited with status {result.returncode}",
            # Only the program's name: its arguments may hold a secret (`sh -c "echo …"`).
            hint=f"run the command ({argv[0]} …) yourself to see why",
        )
    password = result.stdout.splitlines()[0] if result.stdout else ""
    if not password:
        raise SecretError(
            f"password_command for {owner} printed nothing",
            hint="the command must print the password on its first line",
        )
    remember_secret(password)  # every error text stored or shown from now on masks it
    return password


def keyring_get(name: str) -> str:
    """Given an entry name, return its password from the keyring; raise SecretError if absent."""
    import keyring
    from keyring.errors import KeyringError

    try:
        password = keyring.get_password(SERVICE, name)
    except KeyringError as exc:
        raise SecretError(
            f"the system keyring is not usable ({type(exc).__name__})", hint=_NO_BACKEND_HINT
        ) from None
    if password is None:
        raise SecretError(
            f"no password for {name!r} in the keyring (service {SERVICE!r})",
            hint=f"run `mendcrm account add {name} … --password-stdin` again, or set "
            "password_command",
        )
    remember_secret(password)  # every error text stored or shown from now on masks it
    return password


def keyring_set(name: str, password: str) -> None:
    """Given an entry name and password, store it in the keyring; raise SecretError on failure."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, name, password)
    except KeyringError as exc:
        raise SecretError(
            f"cannot store the password: the system keyring is not usable ({type(exc).__name__})",
            hint=_NO_BACKEND_HINT,
        ) from None


def keyring_delete(name: str) -> bool:
    """Given an entry name, remove it from the keyring; return whether there was one to remove."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise SecretError(
            f"cannot remove the password: the system keyring is not usable ({type(exc).__name__})",
            hint=_NO_BACKEND_HINT,
        ) from None
    return True


__all__ = ["SERVICE", "get_password", "keyring_delete", "keyring_get", "keyring_set"]
