"""The store against stock TinyDB, measured in the same run.

Builds a store of 2,000 contacts, 10,000 interactions and 5,000 queue items (deterministic, from
a seed) with MendCRM's store and with stock TinyDB (its default JSONStorage), then times a
single contact write and a full read of the three tables on each. Run::

    .venv/bin/python bench/store_bench.py [--seed N] [--repeat N]

Stock TinyDB inserting one record at a time rewrites and re-parses the whole file on every
insert, so building the full store that way takes many minutes. That row is measured on a
scaled-down store (both tools, same records, one write per record) and says so; the full-size
stock file for the write and read rows is built with ``insert_multiple``, its fastest path.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from mendcrm.model import STAGES, Contact, Interaction, QueueItem
from mendcrm.store import Store

FULL = {"contacts": 2_000, "interactions": 10_000, "queue": 5_000}
SCALE_DOWN = 20
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
WORDS = (
    *("roadmap", "budget", "launch", "hiring", "review", "partner", "pricing", "design"),
    *("offsite", "research", "onboarding", "migration", "support", "quarterly"),
    *("architecture", "conference", "coffee", "interview", "workshop", "keynote"),
)

Records = dict[str, list[dict[str, Any]]]


def build_records(seed: int, counts: dict[str, int]) -> Records:
    """Given a seed and how many records per table, return realistic store records."""
    rng = random.Random(seed)

    def text(words: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."

    contacts = [
        Contact(
            id=f"c{i:05d}",
            name=f"Person {i}",
            aliases=(f"P{i}",),
            emails=(f"person{i}@example.org",),
            org=rng.choice(("Acme", "Globex", "Initech", "Umbrella")),
            role=rng.choice(("engineer", "manager", "director", "founder")),
            stage=rng.choice(STAGES),
            history=text(25),
            strengths=text(8),
            goal=text(8),
            affinity=(rng.choice(("PyCon", "FOSDEM", "KubeCon")),),
            notes=text(10),
        ).to_record()
        for i in range(counts["contacts"])
    ]
    interactions = [
        Interaction(
            id=f"i{i:06d}",
            contact_id=f"c{rng.randrange(counts['contacts']):05d}",
            when=EPOCH + timedelta(hours=i),
            kind=rng.choice(("meeting", "call", "note")),
            outcome=rng.choice(("positive", "neutral", "negative")),
            note=text(12),
        ).to_record()
        for i in range(counts["interactions"])
    ]
    queue = [
        QueueItem(
            id=f"q{i:06d}",
            kind=rng.choice(("prep", "followup")),
            contact_id=f"c{rng.randrange(counts['contacts']):05d}",
            due=EPOCH + timedelta(hours=2 * i),
            title=f"Prep for a meeting with person {i}",
            body=text(60),
        ).to_record()
        for i in range(counts["queue"])
    ]
    return {"contacts": contacts, "interactions": interactions, "queue": queue}


def scaled(counts: dict[str, int], factor: int) -> dict[str, int]:
    return {name: max(1, n // factor) for name, n in counts.items()}


@dataclass
class Row:
    label: str
    mendcrm: float
    stock: float
    unit: str = "ms"
    note: str = ""


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_ms(action: Callable[[int], object], repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


@contextmanager
def stock_db(path: Path) -> Iterator[TinyDB]:
    db = TinyDB(path)
    try:
        yield db
    finally:
        db.close()


def build_mendcrm_batched(path: Path, records: Records) -> None:
    with Store(path).transaction() as tx:
        for table, rows in records.items():
            tx.put_many(table, rows)


def build_mendcrm_one_by_one(path: Path, records: Records) -> None:
    store = Store(path)
    for table, rows in records.items():
        for row in rows:
            with store.transaction() as tx:
                tx.put(table, row)


def build_stock_batched(path: Path, records: Records) -> None:
    with stock_db(path) as db:
        for table, rows in records.items():
            db.table(table).insert_multiple(rows)


def build_stock_one_by_one(path: Path, records: Records) -> None:
    with stock_db(path) as db:
        for table, rows in records.items():
            target = db.table(table)
            for row in rows:
                target.insert(row)


def run(seed: int, repeat: int) -> list[Row]:
    records = build_records(seed, FULL)
    small = build_records(seed, scaled(FULL, SCALE_DOWN))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mendcrm-bench-") as tmp:
        folder = Path(tmp)
        ours, theirs = folder / "mendcrm" / "store.json", folder / "stock.json"
        ours_small, theirs_small = folder / "small" / "store.json", folder / "stock-small.json"

        rows.append(
            Row(
                "build, batched (full size)",
                timed(lambda: build_mendcrm_batched(ours, records)),
                timed(lambda: build_stock_batched(theirs, records)),
                "s",
                "MendCRM: one transaction; stock: insert_multiple per table",
            )
        )
        small_total = sum(len(r) for r in small.values())
        rows.append(
            Row(
                f"build, one write per record (1/{SCALE_DOWN} size)",
                timed(lambda: build_mendcrm_one_by_one(ours_small, small)),
                timed(lambda: build_stock_one_by_one(theirs_small, small)),
                "s",
                f"{small_total:,} records, one transaction / insert() each",
            )
        )

        contact = dict(records["contacts"][1234])
        store = Store(ours)
        with store.read() as view:  # warm the cache as a running daemon would have it
            view.get("contacts", contact["id"])

        def ours_warm(i: int) -> None:
            with store.transaction() as tx:
                tx.put("contacts", {**contact, "notes": f"warm write {i}"})

        def ours_cold(i: int) -> None:
            with Store(ours).transaction() as tx:
                tx.put("contacts", {**contact, "notes": f"cold write {i}"})

        with stock_db(theirs) as db:
            stock_contacts = db.table("contacts")
            doc_id = next(d.doc_id for d in stock_contacts.all() if d["id"] == contact["id"])

            def stock_write(i: int) -> None:
                stock_contacts.update({"notes": f"write {i}"}, doc_ids=[doc_id])

            stock_ms = median_ms(stock_write, repeat)
        rows.append(
            Row(
                "single contact write, store open",
                median_ms(ours_warm, repeat),
                stock_ms,
                note="stock: update by doc id; no lock, in-place rewrite",
            )
        )
        rows.append(
            Row(
                "single contact write, fresh open",
                median_ms(ours_cold, repeat),
                stock_ms,
                note="MendCRM: new Store each time (a CLI command)",
            )
        )

        def read_ours(target: Store) -> int:
            with target.read() as view:
                return sum(len(view.all(t)) for t in records)

        def read_stock(_: int) -> int:
            with stock_db(theirs) as db:
                return sum(len(db.table(t).all()) for t in records)

        assert read_ours(Store(ours)) == read_stock(0) == sum(FULL.values())
        rows.append(
            Row(
                "full read of 3 tables, fresh open",
                median_ms(lambda _: read_ours(Store(ours)), repeat),
                median_ms(read_stock, repeat),
                note="stock parses the file once per table",
            )
        )
        rows.append(
            Row(
                "full read of 3 tables, store open",
                median_ms(lambda _: read_ours(store), repeat),
                median_ms(read_stock, repeat),
                note="MendCRM: file unchanged, cache reused",
            )
        )
        rows.append(
            Row(
                "file size",
                os.path.getsize(ours) / 1e6,
                os.path.getsize(theirs) / 1e6,
                "MB",
            )
        )
    return rows


def render(rows: list[Row]) -> str:
    header = f"{'':42} {'MendCRM':>10} {'stock TinyDB':>13} {'stock/ours':>11}  notes"
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = row.stock / row.mendcrm if row.mendcrm else float("inf")
        ours = f"{row.mendcrm:.3g} {row.unit}"
        theirs = f"{row.stock:.3g} {row.unit}"
        lines.append(f"{row.label:42} {ours:>10} {theirs:>13} {ratio:>10.1f}×  {row.note}".rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=15, help="runs per timed row (median)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.seed, args.repeat)
    print(
        f"store: {FULL['contacts']:,} contacts, {FULL['interactions']:,} interactions,"
        f" {FULL['queue']:,} queue items (seed {args.seed}; medians of {args.repeat} runs)"
    )
    print(render(rows))
    print(
        f"\nThe one-write-per-record build is measured at 1/{SCALE_DOWN} size: stock TinyDB"
        " rewrites and re-parses the whole file per insert (quadratic), so the full-size run"
        " would take many minutes. MendCRM's writes also fsync the folder and keep a backup;"
        " stock TinyDB fsyncs the file only and takes no lock."
    )
    print(f"total bench time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
