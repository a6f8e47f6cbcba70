"""Where MendCRM keeps its files by default, per the platform's conventions."""

from __future__ import annotations

from pathlib import Path

APP = "mendcrm"

# platformdirs is imported where a default path is asked for: a command run with --config or
# $MENDCRM_CONFIG and a configured store path never needs it (a few ms of its start-up).


def default_config_path() -> Path:
    """Return the config file's default path (e.g. ``~/.config/mendcrm/config.toml``)."""
    import platformdirs

    return platformdirs.user_config_path(APP) / "config.toml"


def default_store_path() -> Path:
    """Return the store's default path (e.g. ``~/.local/share/mendcrm/store.json``)."""
    import platformdirs

    return platformdirs.user_data_path(APP) / "store.json"
