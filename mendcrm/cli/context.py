"""What every command gets: the config (loaded on first use), the store and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mendcrm.clock import Clock, SystemClock

if TYPE_CHECKING:
    from mendcrm.config.model import Config
    from mendcrm.store import Store


@dataclass
class AppContext:
    """The global options and the objects built from them, shared by all commands."""

    config_option: Path | None = None
    verbose: bool = False
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def config(self) -> Config:
        from mendcrm.config import load_config

        return load_config(self.config_option)

    @property
    def config_file(self) -> Path:
        """The config file's path, whether or not it exists yet."""
        from mendcrm.config import config_path

        return config_path(self.config_option)[0]

    @cached_property
    def store_path(self) -> Path:
        from mendcrm.config import default_store_path

        return self.config.store.path or default_store_path()

    @cached_property
    def store(self) -> Store:
        from mendcrm.store import Store

        # A command waits for the daemon's short transactions, but not forever for a stuck one.
        return Store(self.store_path, lock_timeout=STORE_LOCK_TIMEOUT)


STORE_LOCK_TIMEOUT = 30.0

pass_app = click.make_pass_decorator(AppContext)

__all__ = ["AppContext", "pass_app"]
