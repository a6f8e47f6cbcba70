"""Changing the config file from commands (``account add|remove``) without losing its comments.

tomlkit keeps the user's comments and layout; the new file is written beside the old one and
swapped in atomically, so an interrupted edit never leaves a half-written config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT

from mendcrm.errors import ConfigError
from mendcrm.files import write_private


def example_text() -> str:
    """Return the commented example config shipped with MendCRM."""
    return (Path(__file__).parent / "example.toml").read_text(encoding="utf-8")


def _load(path: Path) -> tomlkit.TOMLDocument:
    text = path.read_text(encoding="utf-8") if path.exists() else example_text()
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix the file first") from None


def add_account(path: Path, entry: dict[str, Any]) -> None:
    """Given the config path and an account table, append it; raise ConfigError if the name exists.

    A missing config file is created from the commented example first.
    """
    document = _load(path)
    accounts = document.get("accounts")
    if accounts is None:
        accounts = tomlkit.aot()
        document.append("accounts", accounts)
    if not isinstance(accounts, AoT | list):
        raise ConfigError(
            f"{path}: `accounts` is not an array of tables", hint="fix the file first"
        )
    if any(a.get("name") == entry["name"] for a in accounts):
        raise ConfigError(
            f"{path}: an account named {entry['name']!r} exists already",
            hint="choose another name, or `mendcrm account remove` the old one first",
        )
    table = tomlkit.table()
    for key, value in entry.items():
        table.add(key, value)
    accounts.append(table)
    write_private(path, tomlkit.dumps(document))


def set_me(
    path: Path,
    *,
    name: str | None = None,
    emails: list[str] | None = None,
    timezone: str | None = None,
) -> None:
    """Given the config path, set the given ``[me]`` keys (creating the file from the example)."""
    document = _load(path)
    me = document.get("me")
    if me is None:
        me = tomlkit.table()
        document.add("me", me)
    if name is not None:
        me["name"] = name
    if emails is not None:
        me["emails"] = [e.strip().lower() for e in emails]
    if timezone is not None:
        me["timezone"] = timezone
    write_private(path, tomlkit.dumps(document))


def add_my_email(path: Path, email: str) -> bool:
    """Given the config path and an address, add it to ``[me] emails``; return whether new."""
    document = _load(path)
    me = document.get("me")
    known = [str(e).lower() for e in (me.get("emails", []) if me is not None else [])]
    address = email.strip().lower()
    if address in known:
        return False
    set_me(path, emails=[*known, address])
    return True


def remove_account(path: Path, name: str) -> bool:
    """Given the config path and an account name, remove that account; return whether it existed."""
    if not path.exists():
        return False
    document = _load(path)
    accounts = document.get("accounts")
    if not accounts:
        return False
    keep = [a for a in accounts if a.get("name") != name]
    if len(keep) == len(accounts):
        return False
    if keep:
        replacement = tomlkit.aot()
        for table in keep:
            replacement.append(table)
        document["accounts"] = replacement
    else:
        del document["accounts"]
    write_private(path, tomlkit.dumps(document))
    return True


SOURCE_SECTIONS = ("accounts", "feeds", "programmes")
"""The arrays whose entries are sources: their names are unique across all three."""


def add_programme(path: Path, entry: dict[str, Any]) -> None:
    """Given the config path and a ``[[programmes]]`` table, append it; raise ConfigError if an
    account, feed or programme of that name exists. A missing file is made from the example."""
    document = _load(path)
    for section in SOURCE_SECTIONS:
        if any(e.get("name") == entry["name"] for e in document.get(section) or ()):
            raise ConfigError(
                f"{path}: a source named {entry['name']!r} exists already ({section})",
                hint="names are unique across accounts, feeds and programmes: choose another",
            )
    programmes = document.get("programmes")
    if programmes is None:
        programmes = tomlkit.aot()
        document.append("programmes", programmes)
    table = tomlkit.table()
    for key, value in entry.items():
        table.add(key, value)
    programmes.append(table)
    write_private(path, tomlkit.dumps(document))


def set_programme_key(path: Path, name: str, key: str, value: Any) -> bool:
    """Given the config path, a programme's name, a key and a value, set it in that entry;
    return False if there is no such programme."""
    if not path.exists():
        return False
    document = _load(path)
    for table in document.get("programmes") or ():
        if table.get("name") == name:
            table[key] = value
            write_private(path, tomlkit.dumps(document))
            return True
    return False


def remove_programme(path: Path, name: str) -> bool:
    """Given the config path and a programme's name, remove it; return whether it existed."""
    if not path.exists():
        return False
    document = _load(path)
    programmes = document.get("programmes")
    keep = [p for p in programmes or () if p.get("name") != name]
    if not programmes or len(keep) == len(programmes):
        return False
    if keep:
        replacement = tomlkit.aot()
        for table in keep:
            replacement.append(table)
        document["programmes"] = replacement
    else:
        del document["programmes"]
    write_private(path, tomlkit.dumps(document))
    return True


__all__ = [
    "add_account",
    "add_my_email",
    "add_programme",
    "example_text",
    "remove_account",
    "remove_programme",
    "set_me",
    "set_programme_key",
    "write_private",
]
