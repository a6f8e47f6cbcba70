"""Shared set-up for the sync tests: a config around test accounts and a sync call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mendcrm.config.model import (
    AccountConfig,
    Config,
    FeedConfig,
    MeConfig,
    ProgrammeConfig,
    SyncConfig,
)
from mendcrm.sources import SyncResult, sync_sources

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def make_config(
    accounts: tuple[AccountConfig, ...] = (),
    feeds: tuple[FeedConfig, ...] = (),
    programmes: tuple[ProgrammeConfig, ...] = (),
    **sync: Any,
) -> Config:
    return Config(
        me=MeConfig(emails=("me@example.com",), timezone="Europe/Berlin"),
        sync=replace(SyncConfig(), **sync),
        accounts=accounts,
        feeds=feeds,
        programmes=programmes,
    )


class Syncer:
    """Runs sync passes the way the daemon will, keeping the state between them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.state: dict[str, dict[str, Any]] = {}
        self.sleeps: list[float] = []
        self.last: SyncResult | None = None

    def __call__(
        self,
        now: datetime = NOW,
        *,
        progress: Callable[[str, int], None] | None = None,
        state: Mapping[str, dict[str, Any]] | None = None,
        force: bool = True,
    ) -> SyncResult:
        result = sync_sources(
            self.config,
            self.state if state is None else state,
            now=now,
            password_for=lambda account: "secret",
            progress=progress,
            sleep=self.sleeps.append,
            force=force,
        )
        self.state = result.state
        self.last = result
        return result


def summaries(result: SyncResult) -> list[str]:
    return [o.summary for o in result.occurrences]
