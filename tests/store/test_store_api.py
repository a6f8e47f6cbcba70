"""The store's API: transactions, read views, records and the TinyDB tables beneath them.

Every test that goes through ``open_store`` runs twice: once reusing one ``Store`` (its cached
copy of the file) and once opening a new ``Store`` for each step (reading the file afresh), so
the cache and the file always agree.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tinydb import Query

from mendcrm.store import SCHEMA_VERSION, TABLES, Store

OpenStore = Callable[[], Store]


@pytest.fixture(params=["one-instance", "new-instance-per-step"])
def open_store(request: pytest.FixtureRequest, store_path: Path) -> OpenStore:
    if request.param == "one-instance":
        shared = Store(store_path)
        return lambda: shared
    return lambda: Store(store_path)


def contact(record_id: str, **fields: object) -> dict[str, object]:
    return {"id": record_id, "name": f"Name {record_id}", "emails": [], **fields}


def test_put_then_get_returns_an_equal_copy(open_store: OpenStore) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1", emails=("ada@example.org",)))
        assert tx.get("contacts", "c1") == contact("c1", emails=["ada@example.org"])
    with open_store().read() as view:
        got = view.get("contacts", "c1")
        assert got == contact("c1", emails=["ada@example.org"])
        assert view.get("contacts", "nobody") is None
        got["emails"].append("changed@example.org")
        assert view.get("contacts", "c1") == contact("c1", emails=["ada@example.org"])


def test_the_callers_dict_stays_the_callers(open_store: OpenStore) -> None:
    record = contact("c1", aliases=["A"])
    with open_store().transaction() as tx:
        tx.put("contacts", record)
        record["aliases"].append("B")  # type: ignore[attr-defined]
        record["name"] = "changed"
    with open_store().read() as view:
        assert view.get("contacts", "c1") == contact("c1", aliases=["A"])


def test_put_replaces_the_whole_record(open_store: OpenStore) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1", org="Acme", role="CTO"))
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1", org="Globex"))
    with open_store().read() as view:
        assert view.get("contacts", "c1") == contact("c1", org="Globex")


def test_put_many_all_and_delete(open_store: OpenStore) -> None:
    items = [{"id": f"q{i}", "state": "pending", "n": i} for i in range(50)]
    with open_store().transaction() as tx:
        tx.put_many("queue", items)
        tx.put_many("queue", [{"id": "q3", "state": "due", "n": 3}, {"id": "q3", "n": 33}])
    with open_store().transaction() as tx:
        tx.delete("queue", "q0")
        tx.delete("queue", "never-there")
        assert tx.get("queue", "q0") is None
    with open_store().read() as view:
        stored = view.all("queue")
    assert [r["id"] for r in stored] == [f"q{i}" for i in range(1, 50)]
    assert stored[2] == {"id": "q3", "n": 33}


def test_an_exception_discards_every_change(open_store: OpenStore, store_path: Path) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1"))
    before = store_path.read_bytes()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), open_store().transaction() as tx:
        tx.put("contacts", contact("c2"))
        tx.delete("contacts", "c1")
        tx.table("queue").insert({"id": "q1"})
        raise Boom
    assert store_path.read_bytes() == before
    with open_store().read() as view:
        assert [c["id"] for c in view.all("contacts")] == ["c1"]
        assert view.all("queue") == []
    with open_store().transaction() as tx:  # the rolled-back state did not leak into the cache
        assert tx.get("contacts", "c2") is None
        assert tx.get("contacts", "c1") is not None


def test_nothing_is_written_when_nothing_changed(open_store: OpenStore, store_path: Path) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1", aliases=("A",)))
    before = os.stat(store_path)
    with open_store().transaction() as tx:
        tx.get("contacts", "c1")
        tx.put("contacts", contact("c1", aliases=["A"]))  # equal once stored as JSON
        tx.delete("contacts", "absent")
        tx.table("contacts").search(Query().name == "x")
        assert not tx.changed
    after = os.stat(store_path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not Path(f"{store_path}.bak").exists()


def test_a_missing_file_is_an_empty_store_and_the_first_write_creates_every_table(
    open_store: OpenStore, store_path: Path
) -> None:
    with open_store().read() as view:
        assert all(view.all(name) == [] for name in TABLES)
    assert not store_path.parent.exists()  # reading created nothing
    with open_store().transaction() as tx:
        tx.put("interactions", {"id": "i1", "contact_id": "c1"})
    data = json.loads(store_path.read_bytes())
    assert sorted(data) == sorted(TABLES)
    assert data["meta"]["schema"] == {"id": "schema", "version": SCHEMA_VERSION}


def test_an_empty_file_is_an_empty_store(open_store: OpenStore, store_path: Path) -> None:
    store_path.parent.mkdir()
    store_path.write_bytes(b"")
    with open_store().read() as view:
        assert view.all("contacts") == []
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1"))
    assert sorted(json.loads(store_path.read_bytes())) == sorted(TABLES)


def test_the_tinydb_table_uses_record_ids_and_joins_the_transaction(
    open_store: OpenStore,
) -> None:
    due = Query().state == "due"
    with open_store().transaction() as tx:
        tx.put_many(
            "queue", [{"id": f"q{i}", "state": "due" if i % 2 else "pending"} for i in range(6)]
        )
        table = tx.table("queue")
        assert [(d.doc_id, d["id"]) for d in table.search(due)] == [
            ("q1", "q1"),
            ("q3", "q3"),
            ("q5", "q5"),
        ]
        assert table.get(doc_id="q4") == {"id": "q4", "state": "pending"}
        table.update({"state": "done"}, doc_ids=["q1"])
        table.upsert({"id": "q7", "state": "due"}, Query().id == "q7")
        table.insert({"id": "q8", "state": "pending"})
        table.remove(doc_ids=["q0"])
        assert [d.doc_id for d in table.search(due)] == ["q3", "q5", "q7"]
        tx.put("queue", {"id": "q9", "state": "due"})  # the table's query cache must notice
        assert [d.doc_id for d in table.search(due)] == ["q3", "q5", "q7", "q9"]
        assert tx.get("queue", "q1") == {"id": "q1", "state": "done"}
    with open_store().read() as view:
        assert [d.doc_id for d in view.table("queue").search(due)] == ["q3", "q5", "q7", "q9"]
        assert sorted(r["id"] for r in view.all("queue")) == [
            "q1",
            "q2",
            "q3",
            "q4",
            "q5",
            "q7",
            "q8",
            "q9",
        ]


def test_a_tinydb_change_that_breaks_the_id_key_is_refused(open_store: OpenStore) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1"))
    with pytest.raises(ValueError, match="id cannot change"), open_store().transaction() as tx:
        tx.table("contacts").update({"id": "c2"}, doc_ids=["c1"])
    with pytest.raises(ValueError, match="'id'"), open_store().transaction() as tx:
        tx.table("contacts").insert({"name": "no id"})
    with open_store().read() as view:
        assert view.get("contacts", "c1") == contact("c1")


def test_a_read_view_refuses_changes_and_stays_intact(open_store: OpenStore) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1"))
    with open_store().read() as view:
        table = view.table("contacts")
        with pytest.raises(TypeError, match="read view"):
            table.update({"name": "changed"})
        with pytest.raises(TypeError, match="read view"):
            table.insert({"id": "c2"})
        with pytest.raises(TypeError, match="read view"):
            table.remove(doc_ids=["c1"])
        assert view.get("contacts", "c1") == contact("c1")
    with open_store().read() as view:
        assert view.all("contacts") == [contact("c1")]


def test_a_read_view_is_a_snapshot(open_store: OpenStore) -> None:
    with open_store().transaction() as tx:
        tx.put("contacts", contact("c1"))
    with open_store().read() as view:
        with open_store().transaction() as tx:
            tx.put("contacts", contact("c1", org="changed"))
            tx.put("contacts", contact("c2"))
        assert view.all("contacts") == [contact("c1")]
        assert view.table("contacts").get(doc_id="c2") is None
    with open_store().read() as view:
        assert [c["id"] for c in view.all("contacts")] == ["c1", "c2"]


@pytest.mark.parametrize(
    ("table", "record", "error", "match"),
    [
        ("contacts", {"name": "no id"}, ValueError, "'id'"),
        ("contacts", {"id": 7}, ValueError, "'id'"),
        ("contacts", {"id": ""}, ValueError, "'id'"),
        ("contacts", ["not", "a", "mapping"], TypeError, "mapping"),
        (
            "contacts",
            {"id": "c1", "when": datetime(2025, 1, 1, tzinfo=UTC)},
            TypeError,
            "plain JSON",
        ),
        ("contacts", {"id": "c1", "score": math.nan}, TypeError, "plain JSON"),
        ("people", {"id": "c1"}, ValueError, "unknown store table"),
        ("meta", {"id": "schema", "version": 99}, ValueError, "managed by the store"),
    ],
)
def test_bad_records_are_refused_before_anything_is_written(
    store: Store, store_path: Path, table: str, record: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match), store.transaction() as tx:
        tx.put(table, record)  # type: ignore[arg-type]
    assert not store_path.exists()


def test_a_transaction_cannot_be_used_after_it_ends_or_nested(store: Store) -> None:
    with store.transaction() as tx:
        with pytest.raises(RuntimeError, match="already open"), store.transaction():
            pass
        tx.put("contacts", contact("c1"))
    with pytest.raises(RuntimeError, match="ended"):
        tx.get("contacts", "c1")
    with pytest.raises(RuntimeError, match="ended"):
        tx.put("contacts", contact("c2"))


def test_threads_sharing_one_store_take_turns(store: Store) -> None:
    def bump() -> None:
        for _ in range(50):
            with store.transaction() as tx:
                doc = tx.get("sync_state", "counter") or {"id": "counter", "value": 0}
                tx.put("sync_state", {**doc, "value": doc["value"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.read() as view:
        assert view.get("sync_state", "counter") == {"id": "counter", "value": 200}
