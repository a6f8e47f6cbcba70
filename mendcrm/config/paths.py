"""Where MendCRM keeps its files by default, per the platform's conventions."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "mendcrm"


def default_config_path() -> Path:
    """Return the config file's default path (e.g. ``~/.config/mendcrm/config.toml``)."""
    return platformdirs.user_config_path(APP) / "config.toml"


def default_store_path() -> Path:
    """Return the store's default path (e.g. ``~/.local/share/mendcrm/store.json``)."""
    return platformdirs.user_data_path(APP) / "store.json"
