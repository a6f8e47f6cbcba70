"""The exceptions MendCRM raises for things the user can fix.

Each carries a one-line message (what is wrong and where), an optional hint (how to fix it) and
the exit code the CLI uses: 1 for a failure, 2 for a usage or configuration error. The CLI prints
``error: MESSAGE (hint: HINT)`` and never a traceback for these.
"""

from __future__ import annotations


class MendError(Exception):
    """Base class for errors that reach the user as one clear line."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigError(MendError):
    """The configuration file is missing, malformed or holds a bad value."""

    exit_code = 2


class UsageError(MendError):
    """The command line asks for something that cannot be done as asked (e.g. an ambiguous name)."""

    exit_code = 2


class NotFoundError(MendError):
    """A contact, queue item or account named on the command line does not exist."""

    exit_code = 1


class SecretError(MendError):
    """A password could not be read from the keyring or the password command."""


class StoreError(MendError):
    """The store could not be read or written."""


class SourceError(MendError):
    """A calendar source (CalDAV account or feed) failed as a whole."""


__all__ = [
    "ConfigError",
    "MendError",
    "NotFoundError",
    "SecretError",
    "SourceError",
    "StoreError",
    "UsageError",
]
