"""Schema versions: upgrading an older file (after a backup), refusing a newer one."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB

from mendcrm.errors import StoreError
from mendcrm.store import SCHEMA_VERSION, TABLES, Store, migrations
from mendcrm.store import storage as storage_module
from mendcrm.store.migrations import Tables

from .conftest import temp_files


def write_version_0(path: Path) -> bytes:
    """Write a store as stock TinyDB did before the meta table: counter ids, no schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with TinyDB(path) as db:
        db.table("contacts").insert_multiple(
            [{"id": "c-ada", "name": "Ada"}, {"id": "c-bob", "name": "Bob"}, {"name": "No Id"}]
        )
        db.table("queue").insert({"id": "q1", "state": "due"})
        db.table("_default").insert({"left": "alone"})
    return path.read_bytes()


def stored(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


@pytest.mark.parametrize("opened_by", ["read", "transaction"])
def test_a_version_0_store_is_upgraded_after_a_backup(store_path: Path, opened_by: str) -> None:
    original = write_version_0(store_path)
    store = Store(store_path)
    if opened_by == "read":
        with store.read() as view:
            contacts = view.all("contacts")
    else:
        with store.transaction() as tx:
            contacts = tx.all("contacts")
            tx.put("contacts", {"id": "c-cy", "name": "Cy"})

    assert [c["name"] for c in contacts] == ["Ada", "Bob", "No Id"]
    data = stored(store_path)
    assert sorted(data["contacts"])[:3] == ["3", "c-ada", "c-bob"]  # keyed by record id
    assert data["contacts"]["3"] == {"id": "3", "name": "No Id"}  # an id-less one keeps its key
    assert data["queue"] == {"q1": {"id": "q1", "state": "due"}}
    assert data["_default"] == {"1": {"left": "alone"}}  # tables we do not know are kept
    assert set(TABLES) <= set(data)
    assert data["meta"]["schema"] == {"id": "schema", "version": SCHEMA_VERSION}

    backup = store_path.with_name(f"{store_path.name}.v0.bak")
    assert backup.read_bytes() == original
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    with Store(store_path).read() as view:
        assert view.get("contacts", "c-ada") == {"id": "c-ada", "name": "Ada"}
    assert temp_files(store_path) == []


def test_an_upgrade_that_would_lose_data_is_refused(store_path: Path) -> None:
    store_path.parent.mkdir()
    store_path.write_text(
        json.dumps({"contacts": {"1": {"id": "same", "n": 1}, "2": {"id": "same", "n": 2}}})
    )
    before = store_path.read_bytes()
    refused = pytest.raises(StoreError, match="two documents with id 'same'")
    with refused as caught, Store(store_path).transaction():
        pass
    assert str(store_path) in caught.value.message
    assert "left as it was" in caught.value.hint
    assert store_path.read_bytes() == before


def test_a_store_from_a_newer_mendcrm_is_refused(store_path: Path) -> None:
    store = Store(store_path)
    with store.transaction() as tx:
        tx.put("contacts", {"id": "c1"})
    newer = store_path.read_bytes().replace(
        b'"version":%d' % SCHEMA_VERSION, b'"version":%d' % (SCHEMA_VERSION + 1)
    )
    store_path.write_bytes(newer)
    for opening in (store.read, store.transaction, Store(store_path).read):
        with pytest.raises(StoreError, match="written by a newer MendCRM") as caught, opening():
            pass
        assert "upgrade MendCRM" in caught.value.hint
    assert store_path.read_bytes() == newer


def test_every_older_version_has_a_step() -> None:
    assert sorted(migrations.MIGRATIONS) == list(range(SCHEMA_VERSION))
    assert migrations.schema_version({}) == SCHEMA_VERSION
    assert migrations.schema_version({"contacts": {}}) == 0


def test_steps_chain_and_each_version_keeps_its_own_backup(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A made-up next version (contacts gain ``tags``) on top of the real steps."""
    current, made_up = SCHEMA_VERSION, SCHEMA_VERSION + 1
    at_current = Store(store_path)
    with at_current.transaction() as tx:
        tx.put("contacts", {"id": "c1", "name": "Ada"})
    current_bytes = store_path.read_bytes()

    def add_tags(tables: Tables) -> Tables:
        contacts = {key: {**doc, "tags": []} for key, doc in tables["contacts"].items()}
        return {**tables, "contacts": contacts}

    monkeypatch.setitem(migrations.MIGRATIONS, current, add_tags)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", made_up)

    with Store(store_path).read() as view:
        assert view.get("contacts", "c1") == {"id": "c1", "name": "Ada", "tags": []}
    assert stored(store_path)["meta"]["schema"]["version"] == made_up
    assert store_path.with_name(f"store.json.v{current}.bak").read_bytes() == current_bytes

    old = store_path.with_name("old.json")
    write_version_0(old)
    with Store(old).transaction() as tx:  # 0 → 1 → … → the made-up one in one go
        assert tx.get("contacts", "c-ada") == {"id": "c-ada", "name": "Ada", "tags": []}
    assert stored(old)["meta"]["schema"]["version"] == made_up
    assert old.with_name("old.json.v0.bak").exists()


def test_a_migration_is_done_once_by_whoever_gets_the_lock(store_path: Path) -> None:
    write_version_0(store_path)
    first, second = Store(store_path), Store(store_path)
    with first.read():
        pass
    upgraded = os.stat(store_path)
    with second.read() as view:
        assert view.get("queue", "q1") == {"id": "q1", "state": "due"}
    assert os.stat(store_path).st_ino == upgraded.st_ino  # nothing written the second time


def test_an_upgrade_that_cannot_keep_its_backup_writes_nothing(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = write_version_0(store_path)
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if os.fspath(dst).endswith(".v0.bak"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst)

    monkeypatch.setattr(storage_module.os, "replace", replace)
    with pytest.raises(StoreError, match="cannot keep a copy") as caught, Store(store_path).read():
        pass
    assert "left as it was" in caught.value.hint
    assert store_path.read_bytes() == original
    assert temp_files(store_path) == []
    monkeypatch.undo()
    with Store(store_path).read() as view:  # and it upgrades once the disk has room
        assert view.get("queue", "q1") == {"id": "q1", "state": "due"}


def test_a_version_1_store_gains_an_empty_dismissals_table(store_path: Path) -> None:
    """Schema 2 added ``dismissals``; a version-1 file keeps its records and gets the table."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    version_1 = {
        "contacts": {"c1": {"id": "c1", "name": "Ada"}},
        "encounters": {"e1": {"id": "e1", "state": "active"}},
        "meta": {"schema": {"id": "schema", "version": 1}},
    }
    store_path.write_text(json.dumps(version_1))
    with Store(store_path).transaction() as tx:
        assert tx.all("dismissals") == []
        assert tx.get("encounters", "e1") == {"id": "e1", "state": "active"}
    data = stored(store_path)
    assert data["dismissals"] == {}
    assert data["contacts"] == version_1["contacts"]
    assert data["meta"]["schema"]["version"] == SCHEMA_VERSION  # 1 → 2 → 3 → 4 in one go
    assert store_path.with_name("store.json.v1.bak").exists()


def test_a_version_3_store_starts_each_flagged_contacts_stage_history(store_path: Path) -> None:
    """Schema 4 added ``stage_history`` and ``removals``: a contact whose stage is known since a
    date starts the history there; one not being mended (stage none) starts none."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    since = "2026-01-05T09:00:00+00:00"
    version_3 = {
        "contacts": {
            "c1": {"id": "c1", "name": "Ada", "stage": "cordial", "stage_since": since},
            "c2": {"id": "c2", "name": "Bo", "stage": "none", "stage_since": None},
        },
        "meta": {"schema": {"id": "schema", "version": 3}},
    }
    store_path.write_text(json.dumps(version_3))
    with Store(store_path).read() as view:
        history = view.all("stage_history")
        assert view.all("removals") == []
    assert [(h["contact_id"], h["at"], h["before"], h["after"]) for h in history] == [
        ("c1", since, None, "cordial")
    ]
    assert stored(store_path)["meta"]["schema"]["version"] == SCHEMA_VERSION
