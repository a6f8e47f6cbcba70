"""Real processes on a real file: concurrent writers, a racing reader, and writers killed mid-write.

Figures these tests establish (asserted, and printed with ``pytest -s``): 4 processes × 250
read-modify-write increments end at exactly 1,000 while a reader parses the file throughout;
a writer SIGKILLed 200 times at random moments always leaves the old or the new version. The
harness's check, run on stock TinyDB's storage (which rewrites in place) killed part-way through
its write, finds every such file damaged: a control showing the check can fail.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from mendcrm.errors import StoreError
from mendcrm.store import Store, Transaction

from .conftest import counter, temp_files

WRITERS = 4
INCREMENTS = 250
KILLS = 200
CONTROL_KILLS = 20
SEED = 20_251_123

fork = multiprocessing.get_context("fork")


def seed_store(path: Path, contacts: int) -> None:
    """Give the store some bulk, so a write takes long enough to be caught half-done."""
    with Store(path).transaction() as tx:
        tx.put_many(
            "contacts",
            [{"id": f"c{i}", "name": f"Person {i}", "history": "x" * 200} for i in range(contacts)],
        )
        bump(tx, 0)


def bump(tx: Transaction, value: int) -> None:
    """Write ``value`` twice: as the counter, and in a contact whose size changes with it.

    The contacts table comes first in the file, so every version shifts the bytes after it: a
    file mixing two versions, or cut short, cannot parse, and if it somehow did, the two copies
    of the value would disagree.
    """
    tx.put("contacts", marker(value))
    tx.put("sync_state", {"id": "counter", "value": value})


def marker(value: int) -> dict[str, Any]:
    return {"id": "c-marker", "value": value, "pad": "p" * (value * 7919 % 20_000)}


def consistent_value(data: dict[str, Any]) -> int:
    """Given a parsed store file, return its counter; fail if the file mixes two versions."""
    value = data["sync_state"]["counter"]["value"]
    marker = data["contacts"]["c-marker"]
    assert marker["value"] == value and len(marker["pad"]) == value * 7919 % 20_000, value
    return int(value)


CHECKPOINT = 25
"""Every this many increments a writer waits until the reader has read the file afresh."""


class ReadCount:
    """The reader's count of whole reads, shared across processes; writers wait on it."""

    def __init__(self) -> None:
        self.value: Synchronized[int] = fork.Value("q", 0)
        self.changed = fork.Condition()

    def bump(self) -> None:
        with self.changed:
            self.value.value += 1
            self.changed.notify_all()

    def wait_for(self, target: int) -> None:
        """Return once ``target`` reads have completed (an event; the bound keeps a dead reader
        from hanging the writer, and the test's own assertions then fail)."""
        with self.changed:
            self.changed.wait_for(lambda: self.value.value >= target, timeout=120)


def increment(path: Path, times: int, go: Event, reads: ReadCount) -> None:
    store = Store(path)
    go.wait()
    for done in range(1, times + 1):
        with store.transaction() as tx:
            doc = tx.get("sync_state", "counter")
            assert doc is not None
            bump(tx, doc["value"] + 1)
        if done % CHECKPOINT == 0:
            # Wait for a whole read that began after this commit (two completions: the one in
            # progress may have begun before it). The reader then saw this writer's latest
            # value or a newer one, whatever the scheduler did: see the test's assertion.
            reads.wait_for(reads.value.value + 2)


def watch(path: Path, go: Event, stop: Event, results: Connection, reads: ReadCount) -> None:
    """Parse the raw file and read through the store until told to stop, counting each read in
    ``reads``; report what was seen."""
    store = Store(path)
    parsed = torn = went_back = 0
    seen: set[int] = set()
    last = -1
    go.wait()
    while not stop.is_set():
        raw = path.read_bytes()
        try:
            raw_value = consistent_value(json.loads(raw))
            parsed += 1
        except (ValueError, AssertionError, KeyError, TypeError):
            torn += 1
            reads.bump()
            continue
        try:
            with store.read() as view:
                doc = view.get("sync_state", "counter")
        except StoreError:
            torn += 1
            reads.bump()
            continue
        value = doc["value"] if doc else -1
        # What the store shows can only be as new or newer than the file we parsed just before.
        if value < raw_value or value < last:
            went_back += 1
        last = value
        seen.add(value)
        reads.bump()
    results.send({"parsed": parsed, "torn": torn, "went_back": went_back, "distinct": len(seen)})


def test_four_processes_increment_to_exactly_1000_while_a_reader_never_sees_a_torn_file(
    store_path: Path,
) -> None:
    seed_store(store_path, contacts=50)
    go, stop = fork.Event(), fork.Event()
    receive, send = fork.Pipe(duplex=False)
    reads = ReadCount()  # only the reader adds to it; the writers wait on it
    reader = fork.Process(target=watch, args=(store_path, go, stop, send, reads))
    writers = [
        fork.Process(target=increment, args=(store_path, INCREMENTS, go, reads))
        for _ in range(WRITERS)
    ]
    for process in [reader, *writers]:
        process.start()
    started = time.perf_counter()
    go.set()
    for process in writers:
        process.join(timeout=100)  # within pytest-timeout's 120 s, with room under load
    elapsed = time.perf_counter() - started
    stop.set()
    assert receive.poll(30), "the reader process did not report"
    seen = receive.recv()
    reader.join(timeout=10)

    assert [p.exitcode for p in writers] == [0] * WRITERS
    assert reader.exitcode == 0
    final = counter(Store(store_path))
    print(f"\nincrements: {final} of {WRITERS}×{INCREMENTS} in {elapsed:.2f} s; reader: {seen}")
    assert final == WRITERS * INCREMENTS
    assert seen["torn"] == 0
    assert seen["went_back"] == 0
    # The reader really ran alongside the writers, by construction rather than by luck: at each
    # of a writer's INCREMENTS / CHECKPOINT = 10 checkpoints it saw that writer's latest value
    # or newer, and a value older than its next one (that read ended before the writer went
    # on), so it saw at least 10 distinct versions however the processes were scheduled.
    assert seen["parsed"] >= INCREMENTS // CHECKPOINT
    assert seen["distinct"] >= INCREMENTS // CHECKPOINT
    assert temp_files(store_path) == []


Writer = Callable[[Path, int], None]


def write_through_the_store(path: Path, progress: int) -> None:
    """Increment the counter for ever, announcing each value before and after its commit."""
    store = Store(path)
    while True:
        with store.transaction() as tx:
            doc = tx.get("sync_state", "counter")
            assert doc is not None
            value = doc["value"] + 1
            os.write(progress, b"W%d\n" % value)
            bump(tx, value)
        os.write(progress, b"C%d\n" % value)


def write_in_place_like_stock_tinydb(path: Path, progress: int, cut: float) -> None:
    """The control: one increment through stock TinyDB's JSONStorage, which rewrites in place.

    Its file handle is wrapped so the write stops part-way and says "H": between the first byte
    that differs from the file on disk and the last (a ``cut`` fraction of that span), which is
    where a kill during an in-place rewrite lands. The harness kills it there.
    """
    before = path.read_text()
    with TinyDB(path) as db:
        storage: Any = db.storage
        handle = storage._handle

        class StopsPartWay:
            def __getattr__(self, name: str) -> Any:
                return getattr(handle, name)

            def write(self, text: str) -> None:
                first = next(
                    (i for i, (a, b) in enumerate(zip(text, before, strict=False)) if a != b),
                    min(len(text), len(before)),
                )
                handle.write(text[: first + int((len(text) - first) * cut)])
                handle.flush()
                os.write(progress, b"H\n")
                signal.pause()  # until the harness's SIGKILL

        storage._handle = StopsPartWay()
        data = storage.read()
        value = data["sync_state"]["counter"]["value"] + 1
        data["contacts"]["c-marker"] = marker(value)
        data["sync_state"]["counter"] = {"id": "counter", "value": value}
        storage.write(data)


@dataclass
class Round:
    done: list[int]
    """Values the writer reported committed."""
    tried: list[int]
    """Values the writer reported it was about to commit."""
    mid_write: bool
    """A temporary file was left: the kill landed inside a commit."""
    waited_for: int
    """"W" lines read before the kill: the writer had finished ``waited_for - 1`` commits."""


def start_writer(path: Path, writer: Writer) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:
            os.close(read_end)
            writer(path, write_end)
        finally:
            os._exit(1)
    os.close(write_end)
    return pid, read_end


def read_lines(fd: int, until_writes: int | None) -> list[bytes]:
    """Read progress lines: until ``until_writes`` "W" lines arrived, or (None) until EOF."""
    buffer = b""
    while True:
        if until_writes is not None and buffer.count(b"W") >= until_writes:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buffer += chunk
    return buffer.split(b"\n")


def killed_writers(path: Path, writer: Writer, rounds: int, rng: random.Random) -> Iterator[Round]:
    """Start ``writer`` ``rounds`` times, SIGKILL it at a random moment, yield what it said."""
    for _ in range(rounds):
        pid, progress = start_writer(path, writer)
        waited_for = rng.randint(1, 3)
        lines = read_lines(progress, until_writes=waited_for)
        # Spin (not sleep) a random moment of up to 2 ms so kills land anywhere in a commit.
        deadline = time.perf_counter() + rng.uniform(0, 0.002)
        while time.perf_counter() < deadline:
            pass
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "writer failed"
        lines += read_lines(progress, until_writes=None)
        os.close(progress)
        yield Round(
            done=[int(line[1:]) for line in lines if line.startswith(b"C")],
            tried=[int(line[1:]) for line in lines if line.startswith(b"W")],
            mid_write=bool(temp_files(path)),
            waited_for=waited_for,
        )


def test_a_writer_killed_at_random_moments_leaves_the_old_or_the_new_version(
    store_path: Path,
) -> None:
    seed_store(store_path, contacts=600)
    committed = survived = caught_mid_write = least_progress = 0
    started = time.perf_counter()
    for round_ in killed_writers(store_path, write_through_the_store, KILLS, random.Random(SEED)):
        # A writer announces "W" before each commit, so the n-th "W" means n - 1 commits done.
        least_progress += round_.waited_for - 1
        allowed = {round_.done[-1] if round_.done else committed}
        if round_.tried and round_.tried[-1] > max(allowed):
            allowed.add(round_.tried[-1])  # killed after its commit, before it could say so
        caught_mid_write += round_.mid_write

        value = counter(Store(store_path))  # a fresh open parses the file...
        assert value in allowed, (value, allowed)
        assert consistent_value(json.loads(store_path.read_bytes())) == value
        consistent_value(json.loads(Path(f"{store_path}.bak").read_bytes()))  # ...and the backup
        with Store(store_path).transaction():
            pass
        assert temp_files(store_path) == []  # ...and the next open cleaned up
        committed = value
        survived += 1

    elapsed = time.perf_counter() - started
    print(
        f"\nkills: {survived} of {KILLS} survived, final value {committed},"
        f" {caught_mid_write} landed mid-commit, {elapsed:.1f} s"
    )
    assert survived == KILLS
    # The writers made progress between kills: at least the commits the harness waited for
    # (a fixed number for the fixed seed, whatever the scheduling).
    assert committed >= least_progress > KILLS // 2
    # Some kills really landed inside commits, not only between them. Where a kill lands
    # depends on the scheduler, so only one of the 200 is required (typically over half do).
    assert caught_mid_write >= 1


def test_the_kill_harness_catches_a_writer_that_rewrites_in_place(store_path: Path) -> None:
    """The harness's check finds the file a writer killed mid-rewrite leaves behind.

    Stock TinyDB's storage rewrites the file in place; each control writer is killed while its
    rewrite is part-way through (at a random point after it began changing bytes), so every
    round must be found damaged: the check of the real writer above can fail.
    """
    seed_store(store_path, contacts=600)
    with TinyDB(store_path) as db:  # in TinyDB's own layout, so bytes differ only where data does
        db.storage.write(db.storage.read())
    good = store_path.read_bytes()
    rng = random.Random(SEED)
    damaged = 0
    for _ in range(CONTROL_KILLS):
        cut = rng.uniform(0.01, 0.99)
        pid, progress = start_writer(
            store_path, functools.partial(write_in_place_like_stock_tinydb, cut=cut)
        )
        said = b""
        while b"H" not in said:
            chunk = os.read(progress, 64)
            assert chunk, "the control writer ended before its write"
            said += chunk
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(progress)
        try:
            consistent_value(json.loads(store_path.read_bytes()))
        except (ValueError, AssertionError, KeyError, TypeError):
            damaged += 1
        store_path.write_bytes(good)  # so the next writer starts from a whole file
    print(f"\ncontrol: {damaged} of {CONTROL_KILLS} kills left stock TinyDB's file damaged")
    assert damaged == CONTROL_KILLS
