"""A store driven as the pipeline drives it, on a frozen clock, for the retention tests.

:class:`Desk` runs the pass's transaction (:func:`mendcrm.pipeline.detect_and_plan`) over
occurrences given in process, delivers due items through the real ``markdown_notes`` plugin and
runs the real commands (``followup done|dismiss``, ``encounter dismiss``, ``upcoming``, ``prep``,
``followups``) in process with the desk's clock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from mendcrm import repository
from mendcrm.cli.context import AppContext
from mendcrm.clock import FrozenClock
from mendcrm.config.model import AccountConfig, Config, PluginsConfig, StoreConfig
from mendcrm.delivery import DeliveryReport, deliver_due
from mendcrm.model import Contact, Encounter, Occurrence, QueueItem
from mendcrm.pipeline import detect_and_plan
from mendcrm.planning import Plan
from mendcrm.plugins import make_plugin_manager
from mendcrm.retention import Retention
from mendcrm.sources.results import SyncResult
from mendcrm.store import Store
from tests.core.builders import CONFIG, T0


class Desk:
    """One store, its config (``retention_days``, the markdown plugin) and a frozen clock."""

    def __init__(
        self,
        folder: Path,
        contacts: Iterable[Contact],
        *,
        retention_days: int = 90,
        retention: Retention | None = None,
        now: datetime = T0,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.config: Config = dataclasses.replace(
            CONFIG,
            # The source the builders' occurrences come from (account:work); never contacted:
            # the desk runs the pass's transaction on occurrences given in process.
            accounts=(AccountConfig("work", "https://dav.example/", annotate="off"),),
            store=StoreConfig(path=folder / "store.json", retention_days=retention_days),
            plugins=PluginsConfig(
                enabled=("markdown_notes",),
                settings={"markdown_notes": {"folder": str(folder / "notes")}},
            ),
        )
        self.retention = retention
        self.store = Store(folder / "store.json")
        self.clock = FrozenClock(now)
        with self.store.transaction() as tx:
            repository.save(tx, "contacts", *contacts)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    # -- the pipeline ------------------------------------------------------------------------

    def sync(self, occurrences: Sequence[Occurrence]) -> Plan:
        """Run the pass's transaction over these occurrences (what sources would have read)."""
        return self.sync_counted(occurrences)[0]

    def sync_counted(self, occurrences: Sequence[Occurrence]) -> tuple[Plan, int]:
        """Like :meth:`sync`; return the plan and how many items became due."""
        result = SyncResult(occurrences=list(occurrences))
        return detect_and_plan(
            self.config, self.store, result, now=self.now, retention=self.retention
        )

    def deliver(self) -> DeliveryReport:
        """Deliver what is due through the real markdown_notes plugin."""
        manager = make_plugin_manager(self.config)
        return deliver_due(self.store, self.config, manager, clock=self.clock)

    def notes(self) -> dict[str, str]:
        """The markdown notes delivered so far: file name → text."""
        folder = self.folder / "notes"
        found = sorted(folder.rglob("*.md")) if folder.exists() else []
        return {str(f.relative_to(folder)): f.read_text(encoding="utf-8") for f in found}

    # -- the commands --------------------------------------------------------------------------

    def run(self, command: click.Command, *args: str, ok: bool = True) -> str:
        """Run one command in process on the desk's clock; return what it printed."""
        app = AppContext(clock=self.clock)
        app.config = self.config  # type: ignore[misc]  # the config, without a file
        result = CliRunner().invoke(command, list(args), obj=app, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result.output

    def json(self, command: click.Command, *args: str) -> Any:
        return json.loads(self.run(command, *args, "--json"))

    # -- the store -----------------------------------------------------------------------------

    def encounters(self) -> dict[str, Encounter]:
        with self.store.read() as view:
            return {e.id: e for e in repository.encounters(view)}

    def items(self) -> dict[str, QueueItem]:
        with self.store.read() as view:
            return {i.id: i for i in repository.queue(view)}

    def table(self, name: str) -> list[dict[str, Any]]:
        with self.store.read() as view:
            return view.all(name)

    def census(self) -> tuple[int, int]:
        """Return (records, live): encounters and queue items stored, and of those the ones
        alive — active encounters and queue items not withdrawn."""
        with self.store.read() as view:
            encounters, queue = view.all("encounters"), view.all("queue")
        live = sum(1 for e in encounters if e["state"] == "active")
        live += sum(1 for i in queue if i["state"] != "withdrawn")
        return len(encounters) + len(queue), live

    def records(self) -> int:
        return self.census()[0]

    def live(self) -> int:
        return self.census()[1]

    def bytes(self) -> int:
        return self.store.path.stat().st_size


__all__ = ["Desk"]
