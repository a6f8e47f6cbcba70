"""The daemon's loop on a FrozenClock: timetable, back-off, recovery, health — no sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mendcrm.clock import FrozenClock
from mendcrm.config.model import AccountConfig, Config, DaemonConfig, FeedConfig, SyncConfig
from mendcrm.daemon.health import read_health
from mendcrm.daemon.loop import Daemon
from mendcrm.errors import ConfigError
from mendcrm.store import Store

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Summary:
    failed_sources: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Report:
    delivered: list[str] = field(default_factory=list)


class Recorder:
    """A fake sync and delivery that record when they ran; ``down`` sources fail."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.syncs: list[tuple[datetime, list[str]]] = []
        self.deliveries: list[datetime] = []
        self.down: set[str] = set()
        self.crash_delivery = False

    def sync(self, config: Config, sources: list[str]) -> Summary:
        self.syncs.append((self.clock.now(), sources))
        failed = self.down & set(sources)
        return Summary(failed, {s: "HTTP 503 from server" for s in failed})

    def deliver(self, config: Config) -> Report:
        self.deliveries.append(self.clock.now())
        if self.crash_delivery:
            raise RuntimeError("render failed")
        return Report(["q1"] if len(self.deliveries) == 2 else [])


def config() -> Config:
    return Config(
        accounts=(AccountConfig("work", "https://dav.example/"),),
        feeds=(FeedConfig("holidays", path=Path("/nonexistent.ics")),),
        sync=SyncConfig(interval_minutes=15),
        daemon=DaemonConfig(deliver_interval_seconds=60, max_backoff_minutes=8),
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Daemon, Recorder, FrozenClock, Store]:
    clock = FrozenClock(START)
    recorder = Recorder(clock)
    store = Store(tmp_path / "store.json")
    daemon = Daemon(config(), store, clock=clock, sync=recorder.sync, deliver=recorder.deliver)
    return daemon, recorder, clock, store


def test_timetable_first_pass_then_sync_every_interval_and_deliver_every_minute(
    setup: tuple[Daemon, Recorder, FrozenClock, Store],
) -> None:
    daemon, recorder, clock, store = setup
    daemon.run(until=START + timedelta(minutes=45, seconds=1))
    minutes = [(t - START) / timedelta(minutes=1) for t, _ in recorder.syncs]
    assert minutes == [0, 15, 30, 45]
    assert recorder.syncs[0][1] == ["account:work", "feed:holidays"]
    assert len(recorder.deliveries) == 46  # at start, then every minute through 45
    health = read_health(store)
    assert health["state"] == "stopped"
    assert health["items_delivered"] == 1
    assert health["sources"]["account:work"]["last_success_at"] == "2026-03-02T09:45:00+00:00"
    assert health["next_sync_at"] == "2026-03-02T10:00:00+00:00"
    assert health["next_delivery_at"] == "2026-03-02T09:46:00+00:00"
    assert clock.now() == START + timedelta(minutes=45, seconds=1)  # it slept, on the fake clock


def test_a_failing_source_backs_off_exponentially_capped_and_recovers(
    setup: tuple[Daemon, Recorder, FrozenClock, Store],
) -> None:
    daemon, recorder, _clock, store = setup
    recorder.down = {"account:work"}
    daemon.run(until=START + timedelta(minutes=40))
    tries = [(t - START) / timedelta(minutes=1) for t, s in recorder.syncs if "account:work" in s]
    # 1, 2, 4, 8 (cap) minutes apart; retries land on the minute check after the wait.
    assert tries[:6] == [0, 1, 3, 7, 15, 23]
    feed_syncs = [
        (t - START) / timedelta(minutes=1) for t, s in recorder.syncs if "feed:holidays" in s
    ]
    assert feed_syncs == [0, 15, 30]  # the healthy source keeps its own rhythm
    health = read_health(store)
    work = health["sources"]["account:work"]
    assert work["failures"] == len(tries) and work["last_error"] == "HTTP 503 from server"
    assert health["last_error"] == "account:work: HTTP 503 from server"

    recorder.down = set()
    daemon.stop_requested = False
    daemon.run(until=START + timedelta(minutes=50))
    work = read_health(store)["sources"]["account:work"]
    assert work["failures"] == 0 and work["last_success_at"] is not None


def test_the_daemon_survives_crashing_jobs(
    setup: tuple[Daemon, Recorder, FrozenClock, Store],
) -> None:
    daemon, recorder, _clock, store = setup
    recorder.crash_delivery = True

    def crashing_sync(config: Config, sources: list[str]) -> Summary:
        raise KeyError("bug in the pipeline")

    daemon._sync = crashing_sync
    daemon.run(until=START + timedelta(minutes=3))
    assert len(recorder.deliveries) == 3  # 0, 1, 2: ``until`` is exclusive
    health = read_health(store)
    assert health["last_error"].startswith("delivery: RuntimeError: render failed")
    assert health["sources"]["account:work"]["failures"] >= 2


def test_reload_swaps_config_and_an_invalid_one_is_kept_out(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    recorder = Recorder(clock)
    new_configs: list[Config | Exception] = [
        ConfigError("config.toml: [sync] interval_minutes must be positive"),
        Config(sync=SyncConfig(interval_minutes=5)),
    ]

    def reload() -> Config:
        item = new_configs.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    store = Store(tmp_path / "store.json")
    daemon = Daemon(
        config(), store, clock=clock, sync=recorder.sync, deliver=recorder.deliver, reload=reload
    )
    daemon.request_reload()
    daemon.run(until=START + timedelta(minutes=1))
    assert daemon.config.sync.interval_minutes == 15
    assert "reload: config.toml: [sync] interval_minutes" in read_health(store)["last_error"]
    daemon.request_reload()
    daemon.run(until=START + timedelta(minutes=20))
    assert daemon.config.sync.interval_minutes == 5
    assert daemon.config.accounts == ()


def test_a_stop_request_ends_the_loop_between_jobs(
    setup: tuple[Daemon, Recorder, FrozenClock, Store],
) -> None:
    daemon, recorder, clock, store = setup
    original = recorder.deliver

    def deliver_then_stop(config: Config) -> Report:
        if len(recorder.deliveries) == 3:
            daemon.request_stop()
        return original(config)

    daemon._deliver = deliver_then_stop
    daemon.run(until=START + timedelta(hours=1))
    assert len(recorder.deliveries) == 4
    assert clock.now() < START + timedelta(minutes=5)
    assert read_health(store)["state"] == "stopped"


def test_a_sync_request_syncs_at_once_and_keeps_the_timetable(
    setup: tuple[Daemon, Recorder, FrozenClock, Store],
) -> None:
    # SIGUSR1 sets the request (as the delivery at minute 3 does here): the daemon syncs right
    # then, without waiting for minute 15, and the 15-minute timetable stays as it was; before
    # each sleep it rests (the real daemon hands memory back there).
    daemon, recorder, clock, store = setup
    original = recorder.deliver
    rests: list[datetime] = []

    def deliver_and_ask(config: Config) -> Report:
        if len(recorder.deliveries) == 3:
            daemon.request_sync()
        return original(config)

    daemon._deliver = deliver_and_ask
    daemon._rest = lambda: rests.append(clock.now())
    daemon.run(until=START + timedelta(minutes=15, seconds=1))
    minutes = [(t - START) / timedelta(minutes=1) for t, _ in recorder.syncs]
    assert minutes == [0, 3, 15]
    assert read_health(store)["passes_since_start"] == 3
    # One rest before each sleep: after the start (minute 0) and after each minute's delivery
    # through minute 15 (the sync at 3 runs between the delivery and the sleep).
    assert [(t - START) / timedelta(minutes=1) for t in rests] == list(range(16))
