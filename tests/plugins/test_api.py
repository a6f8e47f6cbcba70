"""The read API other tools use: typed objects, read-only, fine while someone writes."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from mendcrm import repository
from mendcrm.api import open_store
from mendcrm.errors import StoreError
from mendcrm.model import Contact, Encounter, Interaction, QueueItem
from mendcrm.store import Store
from tests.plugins.conftest import NOW, sample_item, seed


def test_typed_reads_with_filters(store: Store) -> None:
    seed(store, sample_item(1), sample_item(2, due=NOW + timedelta(days=3), kind="followup"))
    with store.transaction() as tx:
        repository.save(tx, "interactions", Interaction("i1", "c-ana", NOW, outcome="neutral"))
    reader = open_store(store.path)
    [ana] = reader.contacts(flagged=True)
    assert isinstance(ana, Contact) and ana.name == "Ana Lima"
    assert reader.contacts(flagged=False) == []
    assert [type(e) for e in reader.encounters(active_only=True)] == [Encounter]
    assert [q.id for q in reader.queue(kind="prep")] == ["q1"]
    assert [q.id for q in reader.queue(state=("pending",), due_before=NOW)] == ["q1"]
    assert all(isinstance(q, QueueItem) for q in reader.queue())
    assert [i.outcome for i in reader.interactions("c-ana")] == ["neutral"]


def test_reading_while_another_writer_commits(store: Store) -> None:
    seed(store, sample_item(0))
    reader = open_store(store.path)
    stop = threading.Event()
    first_commit = threading.Event()
    written = [1]

    def write() -> None:
        n = 1
        while not stop.is_set():
            with Store(store.path).transaction() as tx:
                repository.save(tx, "queue", sample_item(n))
            written[0] = n + 1
            first_commit.set()
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert first_commit.wait(timeout=60)
        counts = [len(reader.queue()) for _ in range(200)]
    finally:
        stop.set()
        writer.join()
    # Never torn, only ever growing, and the reader saw the writer's commits: the first read
    # came after the first commit, the last read after the writer stopped sees every one.
    assert counts == sorted(counts) and counts[0] >= 2
    assert len(reader.queue()) == written[0]


def test_no_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no MendCRM store at"):
        open_store(tmp_path / "nothing.json")
