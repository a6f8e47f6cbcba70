"""Scenario 4: the store, MendCRM's against stock TinyDB doing the same work.

Three parts, all on a store of 2,000 contacts, 10,000 interactions and 5,000 queue items
(2,500 encounters, each with a prep note and a follow-up), generated from a seed:

1. :mod:`bench.store_bench` (the store teammate's bench): builds, a single contact write, full
   reads, file size — MendCRM's store against stock TinyDB's default JSONStorage.
2. ``mendcrm upcoming --json`` as a command (its own process each time, as a user runs it)
   against a stock-TinyDB script printing the same JSON (:mod:`bench.store_peer`).
3. Batched sync writes: one transaction writing N queue items into the full store, for growing
   N; time per item must stay flat (a write pattern that re-serialised the file per item would
   grow quadratically). Stock TinyDB's ``insert_multiple`` (its batched path) runs beside it.

The encounters' times are placed around today (the CLI reads the real clock); everything else
comes from the seed.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import store_bench
from bench.measure import child_env, run_process
from bench.tables import Table, mib, ratio, seconds

Records = dict[str, list[dict[str, Any]]]


def store_records(seed: int, today: datetime) -> Records:
    """Return the full store's records: store_bench's contacts and interactions, plus 2,500
    encounters around ``today`` with a prep note and a follow-up each (5,000 queue items)."""
    from mendcrm.model import Attendee, Encounter, Match, Occurrence, QueueItem

    base = store_bench.build_records(seed, store_bench.FULL)
    rng = random.Random(seed + 1)
    contacts = base["contacts"]
    encounters, queue = [], []
    for i in range(store_bench.FULL["queue"] // 2):
        contact = contacts[rng.randrange(len(contacts))]
        start = today + timedelta(hours=rng.randrange(-60 * 24, 120 * 24))
        end = start + timedelta(minutes=rng.choice((30, 60, 90)))
        occurrence = Occurrence(
            source="account:work",
            calendar="https://dav.example.org/calendars/me/work/",
            href=f"/calendars/me/work/e{i:05d}.ics",
            uid=f"e{i:05d}@example.org",
            start=start,
            end=end,
            etag=f'"{i:08x}"',
            summary=f"Quarterly review {i}",
            location=f"Room {rng.randrange(1, 40)}",
            attendees=tuple(
                Attendee(email=f"person{rng.randrange(2000)}@example.org", cn=f"Person {i}")
                for _ in range(rng.randrange(1, 6))
            ),
            my_partstat="ACCEPTED",
            tzid="Europe/Berlin",
            calendar_name="Work",
        )
        encounter = Encounter(
            id=f"enc{i:05d}",
            contact_id=contact["id"],
            kind="meeting",
            match=Match(by="email", evidence=contact["emails"][0], confidence=1.0),
            occurrence=occurrence,
        )
        encounters.append(encounter.to_record())
        for kind, due in (
            ("prep", start - timedelta(hours=24)),
            ("followup", end + timedelta(hours=2)),
        ):
            queue.append(
                QueueItem(
                    id=f"q-{kind}-{i:05d}",
                    kind=kind,
                    contact_id=contact["id"],
                    due=due,
                    encounter_id=encounter.id,
                    title=f"{kind.title()}: {occurrence.summary}",
                    body=" ".join(rng.choice(store_bench.WORDS) for _ in range(60)),
                ).to_record()
            )
    return {
        "contacts": contacts,
        "interactions": base["interactions"],
        "encounters": encounters,
        "queue": queue,
    }


def write_mendcrm(path: Path, records: Records) -> None:
    from mendcrm.store import Store

    with Store(path).transaction() as tx:
        for table, rows in records.items():
            tx.put_many(table, rows)


def write_stock(path: Path, records: Records) -> None:
    from tinydb import TinyDB

    db = TinyDB(path)
    try:
        for table, rows in records.items():
            db.table(table).insert_multiple(rows)
    finally:
        db.close()


@dataclass
class StoreFigures:
    rows: list[store_bench.Row]
    upcoming: dict[str, tuple[float, int, int]] = field(default_factory=dict)
    """contender → (median wall s, median peak RSS bytes, encounters printed)."""
    runs: int = 0
    batched: list[Batch] = field(default_factory=list)


def mendcrm_command() -> str:
    """Return the ``mendcrm`` console script installed beside this interpreter."""
    beside = Path(sys.executable).with_name("mendcrm")
    return str(beside) if beside.exists() else "mendcrm"


def cli_env(home: Path) -> dict[str, str]:
    """Return an environment whose user folders are all under ``home`` (nothing of the user's)."""
    return child_env(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "MENDCRM_CONFIG": str(home / "config.toml"),
        }
    )


def run_store(
    *,
    seed: int,
    folder: Path,
    repeats: int,
    batch_sizes: tuple[int, ...],
    log: Callable[[str], None] = lambda _: None,
) -> StoreFigures:
    """Run the three parts and return their figures."""
    log("store: stock TinyDB against MendCRM's store (bench/store_bench.py)")
    figures = StoreFigures(rows=store_bench.run(seed, max(5, repeats)))
    work = folder / "store"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    records = store_records(seed, today)
    ours, theirs = work / "data" / "store.json", work / "stock.json"
    write_mendcrm(ours, records)
    write_stock(theirs, records)
    (work / "config.toml").write_text(f'[store]\npath = "{ours}"\n')

    log("store: `mendcrm upcoming --json` against a stock-TinyDB script")
    env = cli_env(work)
    commands = {
        "mendcrm": [mendcrm_command(), "upcoming", "--json"],
        "stock": [sys.executable, "-m", "bench.store_peer", str(theirs), "--days", "30"],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, list[int]] = {name: [] for name in commands}
    found: dict[str, int] = {}
    runs = max(5, repeats * 2 + 1)
    for _ in range(runs):
        for name, argv in commands.items():
            if name == "stock":
                argv = [*argv, "--now", datetime.now(UTC).isoformat()]
            wall, peak, out = run_process(argv, env=env)
            walls[name].append(wall)
            rss[name].append(peak)
            found[name] = len(json.loads(out))
    figures.runs = runs
    for name in commands:
        figures.upcoming[name] = (
            statistics.median(walls[name]),
            int(statistics.median(rss[name])),
            found[name],
        )

    log("store: batched writes of N queue items in one transaction")
    figures.batched = [_batched(work, ours, theirs, n, repeats) for n in batch_sizes]
    return figures


def _batched(work: Path, ours: Path, theirs: Path, n: int, repeats: int) -> Batch:
    from tinydb import TinyDB

    from mendcrm.store import Store

    items = [
        {"id": f"batch-{i:06d}", "kind": "prep", "contact_id": "c00001", "state": "pending",
         "due": "2026-06-01T09:00:00+00:00", "title": f"Prep {i}", "body": "x" * 400}
        for i in range(n)
    ]  # fmt: skip

    def one_transaction(path: Path) -> float:
        store = Store(path)
        began = time.perf_counter()
        with store.transaction() as tx:
            tx.put_many("queue", items)
        return time.perf_counter() - began

    full, empty, stock = [], [], []
    for attempt in range(max(1, repeats)):
        scratch = work / f"batch-{attempt}"
        scratch.mkdir()
        shutil.copyfile(ours, scratch / "full.json")
        full.append(one_transaction(scratch / "full.json"))
        empty.append(one_transaction(scratch / "empty" / "store.json"))
        shutil.copyfile(theirs, scratch / "stock.json")
        began = time.perf_counter()
        db = TinyDB(scratch / "stock.json")
        db.table("queue").insert_multiple(items)
        db.close()
        stock.append(time.perf_counter() - began)
        shutil.rmtree(scratch)
    return Batch(n, statistics.median(full), statistics.median(empty), statistics.median(stock))


@dataclass(frozen=True)
class Batch:
    """One transaction writing ``n`` queue items: into the full store, into an empty one, and
    stock TinyDB's ``insert_multiple`` into the full stock file (seconds, medians)."""

    n: int
    full: float
    empty: float
    stock: float


def store_tables(figures: StoreFigures) -> list[Table]:
    """Return scenario 4's tables."""
    first = Table(
        "The store: 2,000 contacts, 10,000 interactions, 5,000 queue items (bench/store_bench.py)",
        ["operation", "MendCRM", "stock TinyDB", "stock ÷ MendCRM", "note"],
    )
    for row in figures.rows:
        first.add(
            row.label,
            f"{row.mendcrm:.3g} {row.unit}",
            f"{row.stock:.3g} {row.unit}",
            ratio(row.stock, row.mendcrm),
            row.note,
        )
    first.notes.append(
        "The one-write-per-record build runs at 1/20 size: stock TinyDB rewrites the whole file"
        " per insert (quadratic). MendCRM's writes also take a cross-process lock, fsync the"
        " folder and keep a backup; stock TinyDB does neither."
    )
    upcoming = Table(
        f"`upcoming --json` on that store plus 2,500 encounters, a process each run; median of"
        f" {figures.runs}",
        ["contender", "wall s", "÷M", "peak RSS MiB", "÷M", "encounters printed"],
    )
    ours_wall, ours_rss, _ = figures.upcoming["mendcrm"]
    labels = {"mendcrm": "mendcrm upcoming --json", "stock": "stock TinyDB script"}
    for name, (wall, rss, count) in figures.upcoming.items():
        upcoming.add(labels[name], seconds(wall), ratio(wall, ours_wall), mib(rss),
                     ratio(rss, ours_rss), f"{count:,}")  # fmt: skip
    target = "MET" if ours_wall < 0.3 else "MISSED"
    upcoming.notes.append(f"target (read command < 0.3 s): {target} ({seconds(ours_wall)} s)")
    batched = Table(
        "Batched sync writes: one transaction writing N queue items",
        ["N", "into the full store s", "µs/item", "into an empty store s", "µs/item",
         "stock insert_multiple s", "µs/item", "÷M"],
    )  # fmt: skip
    for b in figures.batched:
        batched.add(
            f"{b.n:,}",
            seconds(b.full),
            f"{b.full / b.n * 1e6:.0f}",
            seconds(b.empty),
            f"{b.empty / b.n * 1e6:.0f}",
            seconds(b.stock),
            f"{b.stock / b.n * 1e6:.0f}",
            ratio(b.stock, b.full),
        )
    if len(figures.batched) > 1:
        low, high = figures.batched[0], figures.batched[-1]
        items = high.n / low.n
        for label, t0, t1 in (("empty", low.empty, high.empty), ("full", low.full, high.full)):
            growth = t1 / t0
            verdict = "linear or better" if growth < items * 1.5 else "WORSE than linear"
            batched.notes.append(
                f"{label} store: {items:.0f}× the items took {growth:.1f}× the time: {verdict}"
                f" (quadratic would be about {items**2:.0f}×)."
            )
        batched.notes.append(
            "Each figure includes writing the whole file once (the full store is 8 MB before"
            " the batch), which is why small batches into it cost about the same."
        )
    return [first, upcoming, batched]


__all__ = ["StoreFigures", "run_store", "store_records", "store_tables"]
