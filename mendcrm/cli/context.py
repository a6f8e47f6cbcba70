"""What every command gets: the config (loaded on first use), the store and the clock."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mendcrm.clock import Clock, SystemClock

if TYPE_CHECKING:
    from mendcrm.config.model import Config
    from mendcrm.store import Store
    from mendcrm.store.readers import ReadView

one_command_process = False
"""True while :func:`mendcrm.cli.main.main` (the console script: one command, then the process
ends) runs a command; False for commands run inside a longer-lived process (tests, a program
embedding the CLI)."""


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

    @contextmanager
    def read_store(self, only: Iterable[str]) -> Iterator[ReadView]:
        """Given the tables a read command shows, yield a read view of just those.

        In a process that runs this one command, the cycle collector is held off while the
        view is open — the records are decoded as the command reads them, inside the block — and
        what was decoded is then frozen out of it (``gc.freeze``): the records and the objects
        built from them hold no reference cycles (reference counting frees them as ever), and
        having the collector walk them during the command and once more at exit costs a tenth
        of a read command's time on an 8 MB store. Only there: in a longer-lived process,
        objects frozen this way that later become part of a cycle would never be collected.
        """
        if not one_command_process:
            with self.store.read(only=only) as view:
                yield view
            return
        gc.disable()
        try:
            with self.store.read(only=only) as view:
                yield view
        finally:
            gc.freeze()
            gc.enable()


STORE_LOCK_TIMEOUT = 30.0

pass_app = click.make_pass_decorator(AppContext)

__all__ = ["AppContext", "pass_app"]
