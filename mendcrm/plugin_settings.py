"""Reading a plugin's own ``[plugins.NAME]`` table, with the same errors for every plugin."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from mendcrm.config.model import Config
from mendcrm.errors import ConfigError


def plugin_table(config: Config, name: str, known: Collection[str]) -> dict[str, Any]:
    """Given the config, a plugin's name and its keys, return its table; raise ConfigError
    naming the first unknown key."""
    table = dict(config.plugins.settings.get(name, {}))
    unknown = sorted(set(table) - set(known))
    if unknown:
        hint = (
            f"the only key is {next(iter(known))}"
            if len(known) == 1
            else ("known keys: " + ", ".join(sorted(known)))
        )
        raise ConfigError(f"[plugins.{name}] has unknown key {unknown[0]!r}", hint=hint)
    return table


def folder_setting(
    config: Config, name: str, table: dict[str, Any], *, example: str, key: str = "folder"
) -> Path:
    """Given a plugin's table, return its required folder (relative to the config file's folder);
    raise ConfigError if it is missing or not a string."""
    folder = table.get(key)
    if not isinstance(folder, str) or not folder.strip():
        raise ConfigError(
            f"[plugins.{name}] {key} is missing or not a string", hint=f'set {key} = "{example}"'
        )
    path = Path(folder).expanduser()
    if not path.is_absolute() and config.source is not None:
        path = config.source.parent / path
    return path


__all__ = ["folder_setting", "plugin_table"]
