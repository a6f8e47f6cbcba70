"""The daemon's pass in a forked child: health, back-off, hooks, secrets and stopping stay right.

Real parts throughout: a real fork per pass, the real pipeline over a local .ics feed, a real
store, the daemon's own sync job and back-off, a plugin registered in this process. The clock
is frozen; nothing sleeps — the parent blocks on the child's pipe and exit, and the stop test
waits on a pipe the child writes to once it is inside its pass.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mendcrm import repository
from mendcrm.clock import FrozenClock
from mendcrm.config.model import AccountConfig, Config, FeedConfig, MeConfig
from mendcrm.daemon.child_pass import ChildResult
from mendcrm.daemon.health import read_health
from mendcrm.daemon.loop import Daemon
from mendcrm.daemon.redaction import redact
from mendcrm.daemon.runner import child_sync
from mendcrm.daemon.signals import StopNow
from mendcrm.errors import ConfigError
from mendcrm.hookspecs import hookimpl
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.plugins import new_plugin_manager
from mendcrm.store import Store
from tests.sync.ics import calendar, vevent

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ROBERT = Contact(
    id="c-robert", name="Robert Hale", emails=("robert@example.org",), stage="strained"
)


def wait_on(waitables: Sequence[Any], timeout: float | None = None) -> list[Any]:
    """The parent's wait without signals: block until the child's pipe or exit is ready (the
    tests give the pass no time limit that could pass on the wall clock: the limit is 30
    minutes, and the one test that lets it pass moves a clock of its own)."""
    return list(multiprocessing.connection.wait(waitables, timeout))


class Listener:
    """A plugin living in the test's process: it records every hook call with the caller's pid,
    in memory (only the parent's copy is seen here) and in a file (every process appends)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.detected: list[tuple[int, str]] = []

    def _note(self, hook: str) -> None:
        with self.log.open("a") as out:
            out.write(f"{os.getpid()} {hook}\n")

    @hookimpl
    def encounter_detected(self, encounter: Encounter, contact: Contact | None) -> None:
        self._note("encounter_detected")
        self.detected.append((os.getpid(), encounter.contact_id))

    @hookimpl
    def prep_note_sections(self, item: QueueItem) -> str:
        self._note("prep_note_sections")
        return "## From the listener\n\nAsk about the roadmap."

    def calls(self) -> list[tuple[int, str]]:
        lines = self.log.read_text().split() if self.log.exists() else []
        return [(int(pid), hook) for pid, hook in zip(lines[::2], lines[1::2], strict=True)]


@dataclass
class World:
    store: Store
    clock: FrozenClock
    config: Config
    listener: Listener
    daemon: Daemon = field(init=False)

    def start(self, sync_pass: Callable[..., Any] | None = None, **kw: Any) -> Daemon:
        pm = new_plugin_manager()
        pm.register(self.listener, name="listener")
        sync = child_sync(
            self.store, self.clock, lambda: pm, wait=kw.pop("wait", wait_on),
            stopping=lambda: self.daemon.stop_requested, sync_pass=sync_pass, **kw,
        )  # fmt: skip
        self.daemon = Daemon(
            self.config, self.store, clock=self.clock, sync=sync, deliver=lambda _: None
        )  # type: ignore[arg-type]  # delivery is not run here
        return self.daemon

    def health(self) -> dict[str, Any]:
        return read_health(self.store)


@pytest.fixture
def world(tmp_path: Path) -> World:
    feed = tmp_path / "team.ics"
    # Robert attends a meeting two days ahead, inside the default window (now − 1 day … + 30).
    feed.write_text(
        calendar(
            vevent(
                "roadmap-1",
                "20260506T100000Z",
                "20260506T110000Z",
                summary="Roadmap review",
                extra=[
                    "ORGANIZER:mailto:me@example.org",
                    "ATTENDEE;CN=Robert Hale;PARTSTAT=ACCEPTED:mailto:robert@example.org",
                    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.org",
                ],
            )
        )
    )
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        repository.save(tx, "contacts", ROBERT)
    config = Config(
        me=MeConfig(emails=("me@example.org",), timezone="UTC"),
        feeds=(
            FeedConfig("team", path=feed),
            FeedConfig("gone", path=tmp_path / "missing.ics"),  # fails every pass
        ),
    )
    return World(store, FrozenClock(NOW), config, Listener(tmp_path / "hooks.log"))


def test_a_pass_in_the_child_keeps_health_backoff_and_hooks_right(world: World) -> None:
    daemon = world.start()
    daemon.sync_job()
    here = os.getpid()
    health = world.health()
    # The feed that loads succeeded; the missing file failed once, so it waits the base delay
    # (1 min · 2⁰) before its retry.
    team, gone = health["sources"]["feed:team"], health["sources"]["feed:gone"]
    assert (team["failures"], team["last_success_at"]) == (0, NOW.isoformat())
    assert gone["failures"] == 1
    assert gone["next_attempt_at"] == (NOW + timedelta(minutes=1)).isoformat()
    assert health["last_error"].startswith("feed:gone: ")
    assert "last_successful_sync_at" not in health  # one source failed
    assert health["passes_since_start"] == 1
    # The child detected Robert's meeting and committed it …
    with world.store.read() as view:
        encounters = repository.encounters(view)
        notes = [i for i in repository.queue(view) if i.kind == "prep"]
    assert [e.contact_id for e in encounters] == ["c-robert"]
    # … rendering the plugin's section there (the child's pid) …
    assert len(notes) == 1 and "Ask about the roadmap." in notes[0].body
    calls = world.listener.calls()
    sections = [pid for pid, hook in calls if hook == "prep_note_sections"]
    assert sections and here not in sections
    # … and the plugin heard of it once, here, in the process it lives in.
    assert world.listener.detected == [(here, "c-robert")]
    assert [pid for pid, hook in calls if hook == "encounter_detected"] == [here]

    # A minute on, both are due again: nothing new is announced, and the failing feed's wait
    # doubles (1 min · 2¹).
    world.clock.advance(timedelta(minutes=1))
    daemon.sync_job()
    health = world.health()
    assert health["sources"]["feed:gone"]["failures"] == 2
    assert (
        health["sources"]["feed:gone"]["next_attempt_at"]
        == (NOW + timedelta(minutes=3)).isoformat()
    )
    assert health["passes_since_start"] == 2
    assert world.listener.detected == [(here, "c-robert")]


@dataclass
class FakeSummary:
    """What the pipeline's PassSummary offers the daemon, for passes that do not sync."""

    failed_sources: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    plan: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"occurrences": 0}


def killed(*args: Any, **kwargs: Any) -> FakeSummary:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def raising_value_error(*args: Any, **kwargs: Any) -> FakeSummary:
    raise ValueError("unexpected TZID 'Mars/Olympus'")


def raising_config_error(*args: Any, **kwargs: Any) -> FakeSummary:
    raise ConfigError("playbook.toml: unknown stage 'frosty'", hint="use one of the four")


@pytest.mark.parametrize(
    ("sync_pass", "error"),
    [
        # A child that dies says nothing: the parent names how it ended.
        (killed, "sync: the sync pass's process was killed by SIGKILL"),
        # The loop formats an unexpected error as "Type: message", as it did in-process.
        (raising_value_error, "sync: ValueError: unexpected TZID 'Mars/Olympus'"),
        # A MendError keeps its one line and hint.
        (
            raising_config_error,
            "sync: playbook.toml: unknown stage 'frosty' (hint: use one of the four)",
        ),
    ],
    ids=["killed", "crashed", "mend-error"],
)  # fmt: skip
def test_a_child_that_fails_backs_off_every_source(
    world: World, sync_pass: Callable[..., Any], error: str
) -> None:
    daemon = world.start(sync_pass)
    daemon.sync_job()
    health = world.health()
    assert health["last_error"] == error
    for source in ("feed:team", "feed:gone"):
        assert health["sources"][source]["failures"] == 1
        assert (
            health["sources"][source]["next_attempt_at"] == (NOW + timedelta(minutes=1)).isoformat()
        )
    assert "passes_since_start" not in health
    assert multiprocessing.active_children() == []


def fetching_a_password(config: Config, store: Store, *, password_for: Any, **kw: Any) -> Any:
    account = AccountConfig(
        "work",
        "https://dav.example/",
        username="me",
        password_command=(sys.executable, "-c", "print('c0rrect-h0rse-battery')"),
    )
    password_for(account)
    return FakeSummary(errors={"account:work": "login as me failed"}, plan=NoPlan())


class NoPlan:
    detected: tuple[Encounter, ...] = ()
    changed: tuple[tuple[Encounter, Encounter], ...] = ()
    withdrawn: tuple[Encounter, ...] = ()


def test_secrets_the_child_fetched_are_masked_in_the_parent(world: World) -> None:
    # The password is first fetched in the child; an error line that quotes it must still be
    # masked when the parent logs it.
    assert redact("c0rrect-h0rse-battery") == "c0rrect-h0rse-battery"
    daemon = world.start(fetching_a_password)
    result = daemon._sync(world.config, ["feed:team"])
    assert isinstance(result, ChildResult)
    assert redact("token c0rrect-h0rse-battery") == "token ***"


def test_a_stop_during_the_pass_ends_the_child_and_stops_the_daemon(
    world: World, tmp_path: Path
) -> None:
    inside_read, inside_write = os.pipe()

    def waiting_pass(config: Config, store: Store, *, progress: Any, **kw: Any) -> Any:
        os.write(inside_write, b"in")
        while True:  # a pass that only ends when told to
            progress("waiting", 0)
            signal.pause()

    def wait(waitables: Sequence[Any], timeout: float | None) -> list[Any]:
        # The first wait returns once the child is inside its pass, with a stop requested (as
        # the daemon's SIGTERM handler does); later ones wait on the child as usual.
        if not world.daemon.stop_requested:
            assert os.read(inside_read, 2) == b"in"
            world.daemon.request_stop()
            return []
        return wait_on(waitables, timeout)

    daemon = world.start(waiting_pass, wait=wait, grace=30.0)
    with pytest.raises(StopNow):
        daemon.sync_job()
    os.close(inside_read)
    os.close(inside_write)
    # The child is gone and the pass wrote nothing: no sync state, no health from the pass.
    assert multiprocessing.active_children() == []
    with world.store.read() as view:
        assert view.all("sync_state") == []
    assert "passes_since_start" not in world.health()


def test_a_pass_running_past_its_limit_is_stopped_and_its_sources_backed_off(
    world: World,
) -> None:
    inside_read, inside_write = os.pipe()
    clock = [1000.0]  # the parent's monotonic clock, in seconds, moved by the test alone

    def endless_pass(config: Config, store: Store, *, progress: Any, **kw: Any) -> Any:
        os.write(inside_write, b"in")
        while True:  # a server trickling page after page: only a stop ends it
            progress("waiting", 0)
            signal.pause()

    def wait(waitables: Sequence[Any], timeout: float | None) -> list[Any]:
        # 30 minutes (the default [daemon] max_pass_minutes) are left when the child is
        # inside its pass; then they pass, and the parent must stop it at once.
        if clock[0] == 1000.0:
            assert os.read(inside_read, 2) == b"in"
            assert timeout == pytest.approx(30 * 60)
            clock[0] += 30 * 60
            return []
        return wait_on(waitables, timeout)

    daemon = world.start(endless_pass, wait=wait, grace=30.0, monotonic=lambda: clock[0])
    daemon.sync_job()  # reported like a failed pass: the daemon goes on
    os.close(inside_read)
    os.close(inside_write)

    assert multiprocessing.active_children() == []
    with world.store.read() as view:
        assert view.all("sync_state") == []  # the child's transaction was discarded
    health = world.health()
    assert "was still running after 30 minute(s) and was stopped" in health["last_error"]
    assert "max_pass_minutes" in health["last_error"]
    # Every source of the pass is backed off as after any failure: 1 failure, retried later.
    assert {s: st["failures"] for s, st in health["sources"].items()} == {
        "feed:team": 1,
        "feed:gone": 1,
    }
    assert "passes_since_start" not in health


def test_a_lock_another_thread_holds_at_the_fork_does_not_hang_the_child(world: World) -> None:
    # The page's thread may be masking a log line (holding the redaction lock) at the moment
    # the daemon forks its pass; the child, which has no such thread, must not wait for it.
    import threading

    from mendcrm.daemon import redaction

    held, release = threading.Event(), threading.Event()

    def page_thread() -> None:
        with redaction._lock:
            held.set()
            release.wait()

    def wait(waitables: Sequence[Any], timeout: float | None) -> list[Any]:
        # The child answered (or died): only now may the thread let go, so the child cannot
        # have borrowed the parent's release. The parent then takes the lock itself.
        ready = wait_on(waitables, timeout)
        release.set()
        return ready

    thread = threading.Thread(target=page_thread)
    thread.start()
    try:
        assert held.wait(30)
        daemon = world.start(fetching_a_password, wait=wait)  # the child takes the lock
        result = daemon._sync(world.config, ["feed:team"])
        assert result.secrets == [("c0rrect-h0rse-battery", "me")]
    finally:
        release.set()
        thread.join()


def test_a_result_already_sent_when_the_limit_passes_is_taken() -> None:
    # The child finished inside its limit; the parent only looks once the limit has passed
    # (a timeout and the result at the same moment). The pass did its work and committed: it
    # must be taken as it is, not reported as overrun and its sources backed off.
    from mendcrm.daemon.child_pass import run_in_child

    clock = [0.0]

    def wait(waitables: Sequence[Any], timeout: float | None) -> list[Any]:
        if clock[0] == 0.0:
            multiprocessing.connection.wait(waitables[:1])  # the result is in the pipe
            clock[0] += 61.0  # and the one-minute limit has passed meanwhile
            return []
        return wait_on(waitables, timeout)

    result = run_in_child(
        lambda stopping: ChildResult(warnings=["done"]),
        wait=wait,
        stopping=lambda: False,
        grace=0.0,
        limit=60.0,
        monotonic=lambda: clock[0],
    )
    assert result.warnings == ["done"]
    assert multiprocessing.active_children() == []


def test_a_child_ignoring_sigterm_past_its_limit_is_killed() -> None:
    from mendcrm.daemon.child_pass import PassOverran, run_in_child

    inside_read, inside_write = os.pipe()
    clock = [0.0]

    def deaf_pass(stopping: Callable[[], bool]) -> ChildResult:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL can end it now
        os.write(inside_write, b"in")
        while True:
            signal.pause()

    def wait(waitables: Sequence[Any], timeout: float | None) -> list[Any]:
        if clock[0] == 0.0:
            assert os.read(inside_read, 2) == b"in"
            clock[0] += 61.0
            return []
        return wait_on(waitables, timeout)

    try:
        with pytest.raises(PassOverran, match="max_pass_minutes"):
            run_in_child(
                deaf_pass,
                wait=wait,
                stopping=lambda: False,
                grace=0.0,  # no wall-clock wait: SIGTERM, then SIGKILL at once
                limit=60.0,
                monotonic=lambda: clock[0],
            )
    finally:
        os.close(inside_read)
        os.close(inside_write)
    assert multiprocessing.active_children() == []
