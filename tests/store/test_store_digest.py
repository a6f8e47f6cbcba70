"""Table digests: a transaction's and a read view's agree, whatever the view decoded; the pass
memo (mendcrm.pass_memo) relies on it to skip a pass without taking the lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mendcrm.store import Store

NAMES = ("contacts", "queue", "interactions", "meta")


def _fill(path: Path) -> Store:
    store = Store(path)
    with store.transaction() as tx:
        tx.put("contacts", {"id": "c1", "name": "Zoë Brandt", "n": 2**70})  # beyond orjson
        tx.put("queue", {"id": "q1", "due": "2026-03-20T10:00:00+00:00", "body": "é\nx"})
    return store


def test_a_view_digests_tables_it_did_not_decode_as_the_transaction_does(tmp_path: Path) -> None:
    store = _fill(tmp_path / "store.json")
    with store.transaction() as tx:
        expected = tx.digest(NAMES)
    with Store(store.path).read(only=["meta"]) as view:
        assert view.digest(NAMES) == expected
    with Store(store.path).read() as view:
        assert view.digest(NAMES) == expected


def test_digests_differ_when_a_table_does(tmp_path: Path) -> None:
    store = _fill(tmp_path / "store.json")
    with store.transaction() as tx:
        before = tx.digest(NAMES)
        tx.put("queue", {"id": "q1", "due": "2026-03-20T10:00:00+00:00", "body": "é\ny"})
        assert tx.digest(NAMES) != before
        assert tx.digest(["contacts"]) == tx.digest(["contacts"])
    with Store(store.path).read(only=["meta"]) as view:
        assert view.digest(NAMES) != before


def test_a_file_written_by_an_older_version_digests_as_its_next_commit_writes(
    tmp_path: Path,
) -> None:
    # The layout older versions wrote: one table per line, ASCII-escaped stdlib JSON.
    path = tmp_path / "store.json"
    tables = {
        "contacts": {"c1": {"id": "c1", "name": "Zo\u00eb"}},
        "meta": {"schema": {"id": "schema", "version": 4}},
        "queue": {},
    }
    lines = [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in tables.items()]
    path.write_bytes(("{\n" + ",\n".join(lines) + "\n}\n").encode("ascii"))
    with Store(path).read(only=["meta"]) as view:
        seen = view.digest(NAMES)
    store = Store(path)
    with store.transaction() as tx:
        assert tx.digest(NAMES) == seen
        tx.put("interactions", {"id": "i1"})  # a commit rewrites every table in today's layout
        tx.delete("interactions", "i1")
    with Store(path).read(only=["meta"]) as view:
        assert view.digest(NAMES) == seen


def _file_tables(path: Path) -> dict[str, dict[str, object]]:
    return dict(json.loads(path.read_bytes()))


def test_a_commit_after_a_digest_writes_the_tables_as_they_end(tmp_path: Path) -> None:
    # The commit reuses the text a digest encoded a table as, so that a pass does not encode
    # its big tables twice; every change after the digest must still reach the file: a put, a
    # delete, a put_many refused half-way (the records before the refused one stay in the
    # transaction), and a change through TinyDB's API.
    store = _fill(tmp_path / "store.json")
    with store.transaction() as tx:
        tx.digest(NAMES)
        tx.table("contacts").update({"name": "Zoe"}, doc_ids=["c1"])
        tx.put("queue", {"id": "q2", "due": "2026-03-21T10:00:00+00:00", "body": "two"})
        first = tx.digest(NAMES)
        tx.put("queue", {"id": "q3", "due": "2026-03-22T10:00:00+00:00", "body": "three"})
        tx.digest(NAMES)
        tx.delete("queue", "q1")
        tx.digest(NAMES)
        with pytest.raises(TypeError, match="plain JSON"):
            tx.put_many("queue", [{"id": "q4", "body": "four"}, {"id": "q5", "bad": {1, 2}}])
        tx.digest(NAMES)
        tx.put("contacts", {"id": "c2", "name": "Ana"})
        last = tx.digest(NAMES)
    assert last != first
    tables = _file_tables(store.path)
    assert sorted(tables["queue"]) == ["q2", "q3", "q4"]
    assert tables["contacts"]["c1"]["name"] == "Zoe"  # type: ignore[index]
    assert sorted(tables["contacts"]) == ["c1", "c2"]
    with Store(store.path).read() as view:
        assert view.digest(NAMES) == last


def test_a_digest_of_an_unchanged_table_then_a_put_writes_the_put(tmp_path: Path) -> None:
    store = _fill(tmp_path / "store.json")
    with store.transaction() as tx:
        tx.digest(NAMES)  # every table still the one the file holds
        tx.put("queue", {"id": "q1", "due": "2026-03-20T10:00:00+00:00", "body": "changed"})
    assert _file_tables(store.path)["queue"]["q1"]["body"] == "changed"  # type: ignore[index]
