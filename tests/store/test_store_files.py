"""The store on disk: modes, backups, damaged and unreadable files, failed writes, stale caches."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB

from mendcrm.errors import StoreError
from mendcrm.store import SCHEMA_VERSION, TABLES, Store
from mendcrm.store import storage as storage_module
from mendcrm.store.store import StoreTable

from .conftest import counter, run_in_child, temp_files


class StringIdTinyDB(TinyDB):
    table_class = StoreTable


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def put_counter(store: Store, value: int, **extra: Any) -> None:
    with store.transaction() as tx:
        tx.put("sync_state", {"id": "counter", "value": value, **extra})


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


# -- modes and backups --------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o177])
def test_files_are_0600_and_created_folders_0700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mask: int
) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "share" / "mendcrm" / "store.json"
    temp_modes: list[int] = []
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            temp_modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", spying_fsync)
    with umask(mask):
        store = Store(path)
        put_counter(store, 1)
        put_counter(store, 2)
    assert temp_modes and set(temp_modes) == {0o600}
    for made in (path, Path(f"{path}.bak"), Path(f"{path}.lock")):
        assert mode(made) == 0o600, made
    assert mode(tmp_path / "share") == 0o700
    assert mode(tmp_path / "share" / "mendcrm") == 0o700
    assert mode(tmp_path) == 0o755  # an existing folder is left alone


def test_the_backup_is_the_previous_version(store: Store, store_path: Path) -> None:
    put_counter(store, 1)
    assert not Path(f"{store_path}.bak").exists()
    first = store_path.read_bytes()
    put_counter(store, 2)
    assert Path(f"{store_path}.bak").read_bytes() == first
    put_counter(store, 3)
    assert json.loads(Path(f"{store_path}.bak").read_bytes())["sync_state"]["counter"]["value"] == 2


def test_where_hard_links_are_refused_the_backup_is_a_copy(
    store: Store, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_counter(store, 1)
    first = store_path.read_bytes()
    monkeypatch.setattr(storage_module.os, "link", failing(errno.EPERM))
    put_counter(store, 2)
    backup = Path(f"{store_path}.bak")
    assert backup.read_bytes() == first
    assert os.stat(backup).st_ino != os.stat(store_path).st_ino
    assert mode(backup) == 0o600
    assert temp_files(store_path) == []


# -- damaged and unreadable files ---------------------------------------------------------------


DAMAGED = {
    "torn": lambda good: good[: len(good) // 2],
    "garbage": lambda good: b"\x00\xff\x13 not json at all",
    "a list": lambda good: b"[1, 2, 3]",
    "a table that is a list": lambda good: b'{"contacts": [1, 2]}',
    "a document that is a string": lambda good: b'{"contacts": {"c1": "Ada"}}',
    "a broken table line": lambda good: good.replace(b'"value":1', b'"value":1,,', 1),
    "a bad schema version": lambda good: good.replace(
        b'"version":%d' % SCHEMA_VERSION, b'"version":"one"', 1
    ),
}


@pytest.mark.parametrize("kind", DAMAGED)
@pytest.mark.parametrize("with_backup", [True, False], ids=["backup", "no-backup"])
def test_a_damaged_file_is_refused_and_never_written(
    store_path: Path, kind: str, with_backup: bool
) -> None:
    put_counter(Store(store_path), 1)
    if with_backup:
        put_counter(Store(store_path), 1, note="second version")
    damaged = DAMAGED[kind](store_path.read_bytes())
    store_path.write_bytes(damaged)
    backup = Path(f"{store_path}.bak")
    assert backup.exists() == with_backup

    store = Store(store_path)
    with pytest.raises(StoreError) as caught, store.read():
        pass
    error = caught.value
    assert str(store_path) in error.message
    assert str(backup) in error.hint
    assert ("copy" in error.hint) == with_backup
    assert ("no backup" in error.hint) == (not with_backup)
    assert store_path.read_bytes() == damaged

    ran = []
    for _ in range(2):  # and again: a refused file stays refused
        with pytest.raises(StoreError, match="damaged"), store.transaction() as tx:
            ran.append(True)
            tx.put("contacts", {"id": "c1"})
        assert store_path.read_bytes() == damaged
    assert not ran
    assert temp_files(store_path) == []


def test_an_unreadable_file_is_named_with_a_hint(
    store: Store, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_counter(Store(store_path), 1)
    before = store_path.read_bytes()
    real_open = os.open

    def denied(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(store_path):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(storage_module.os, "open", denied)
    with pytest.raises(StoreError) as caught, store.transaction():
        pass
    assert f"cannot read the store {store_path}: Permission denied" == caught.value.message
    assert "readable" in caught.value.hint
    monkeypatch.undo()
    assert store_path.read_bytes() == before


def test_a_folder_in_place_of_the_file_is_refused(store_path: Path) -> None:
    store_path.mkdir(parents=True)
    with pytest.raises(StoreError, match="not a regular file"), Store(store_path).read():
        pass


# -- failed writes ------------------------------------------------------------------------------


def failing(error: int) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(error, os.strerror(error))

    return fail


def partial_then_full(real: Callable[..., int]) -> Callable[..., int]:
    calls = 0

    def writev(fd: int, buffers: list[Any]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:  # a short write lands half the first buffer, then the disk is full
            return real(fd, [bytes(buffers[0])[: max(1, len(buffers[0]) // 2)]])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return writev


FAILURES: dict[str, Callable[[Path], tuple[str, Callable[..., Any]]]] = {
    "write ENOSPC": lambda path: ("writev", failing(errno.ENOSPC)),
    "write EIO": lambda path: ("writev", failing(errno.EIO)),
    "short write then ENOSPC": lambda path: ("writev", partial_then_full(os.writev)),
    "fsync EIO": lambda path: ("fsync", failing(errno.EIO)),
    "fsync ENOSPC": lambda path: ("fsync", failing(errno.ENOSPC)),
    "replace over the store EIO": lambda path: ("replace", replace_failing_for(path, errno.EIO)),
    "replace over the store EACCES": lambda path: (
        "replace",
        replace_failing_for(path, errno.EACCES),
    ),
    "any replace ENOSPC": lambda path: ("replace", failing(errno.ENOSPC)),
    "backup link EIO": lambda path: ("link", failing(errno.EIO)),
    "temp file EACCES": lambda path: ("open", open_failing_for_temps(path, errno.EACCES)),
}


def replace_failing_for(path: Path, error: int) -> Callable[..., None]:
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if os.fspath(dst) == str(path):
            raise OSError(error, os.strerror(error))
        real(src, dst)

    return replace


def open_failing_for_temps(path: Path, error: int) -> Callable[..., int]:
    real = os.open

    def open_(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.path.basename(os.fspath(name)).startswith(f".{path.name}."):
            raise OSError(error, os.strerror(error))
        return real(name, flags, *args, **kwargs)

    return open_


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_write_raises_and_leaves_the_file_as_it_was(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    store = Store(store_path)
    put_counter(store, 1)
    put_counter(store, 2)
    before = store_path.read_bytes()
    name, replacement = FAILURES[failure](store_path)
    monkeypatch.setattr(storage_module.os, name, replacement)
    with pytest.raises(StoreError) as caught, store.transaction() as tx:
        tx.put("sync_state", {"id": "counter", "value": 3, "pad": "x" * 100_000})
    monkeypatch.undo()

    assert caught.value.message.startswith(f"cannot write the store {store_path}: ")
    assert "left as it was" in caught.value.hint
    assert store_path.read_bytes() == before
    assert temp_files(store_path) == []
    assert counter(store) == 2  # the failed version did not reach the cache either
    assert counter(Store(store_path)) == 2
    put_counter(store, 3)  # and the store still works once the disk does
    assert counter(Store(store_path)) == 3


def test_a_disk_full_error_says_so(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_module.os, "writev", failing(errno.ENOSPC))
    with pytest.raises(StoreError, match="No space left on device") as caught:
        put_counter(store, 1)
    assert "free some disk space" in caught.value.hint


def test_a_folder_that_cannot_be_flushed_is_reported(
    store: Store, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_counter(store, 1)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", fsync)
    with pytest.raises(StoreError, match="written but its folder could not be flushed"):
        put_counter(store, 2)
    monkeypatch.undo()
    assert counter(Store(store_path)) == 2
    assert temp_files(store_path) == []


# -- crash leftovers, locking, layout -----------------------------------------------------------


def test_stray_temp_files_are_removed_when_the_store_is_next_opened(
    store: Store, store_path: Path
) -> None:
    put_counter(store, 1)
    strays = [f".{store_path.name}.{suffix}.tmp" for suffix in ("0123456789ab", "deadbeef0000")]
    keep = [f".{store_path.name}.notes.tmp", "other.tmp", f"{store_path.name}.bak"]
    for name in strays + keep:
        (store_path.parent / name).write_bytes(b'{"half": ')
    with Store(store_path).read() as view:  # reading takes no lock and removes nothing
        assert view.get("sync_state", "counter") is not None
    with Store(store_path).transaction():
        pass
    left = os.listdir(store_path.parent)
    assert not set(strays) & set(left)
    assert set(keep) <= set(left)


def test_a_busy_lock_times_out_with_a_clear_error(store_path: Path) -> None:
    put_counter(Store(store_path), 1)
    holder = os.open(f"{store_path}.lock", os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(StoreError, match="busy") as caught:
            put_counter(Store(store_path, lock_timeout=0.05), 2)
        assert "try again" in caught.value.hint
        assert counter(Store(store_path)) == 1  # readers need no lock
    finally:
        os.close(holder)
    put_counter(Store(store_path, lock_timeout=0.05), 2)
    assert counter(Store(store_path)) == 2


def test_a_file_in_another_json_layout_is_read_and_rewritten(store_path: Path) -> None:
    store_path.parent.mkdir()
    data = {
        "contacts": {"c1": {"id": "c1", "name": "Ada"}},
        "meta": {"schema": {"id": "schema", "version": SCHEMA_VERSION}},
    }
    store_path.write_text(json.dumps(data, indent=2))
    store = Store(store_path)
    with store.read() as view:
        assert view.get("contacts", "c1") == {"id": "c1", "name": "Ada"}
    with store.transaction() as tx:
        tx.put("contacts", {"id": "c2", "name": "Bob"})
    rewritten = store_path.read_bytes()
    # "{", one line per table, "}"
    assert rewritten.startswith(b"{\n") and rewritten.count(b"\n") == len(TABLES) + 2
    # Still a file stock TinyDB's JSONStorage reads (given a table class with string ids).
    with StringIdTinyDB(store_path) as stock:
        assert sorted(d.doc_id for d in stock.table("contacts").all()) == ["c1", "c2"]


# -- caches across processes --------------------------------------------------------------------


def test_a_reader_sees_what_another_process_wrote(store_path: Path) -> None:
    reader = Store(store_path)
    put_counter(reader, 10, other="x" * 5000)
    # Same-size values, written fast: the inode check must catch what size and mtime miss.
    for value in range(11, 31):
        assert counter(reader) == value - 1
        with reader.transaction() as tx:  # a transaction also starts from the file's version
            assert tx.get("sync_state", "counter")["value"] == value - 1  # type: ignore[index]
        run_in_child(lambda v=value: put_counter(Store(store_path), v, other="x" * 5000))  # type: ignore[misc]
        assert counter(reader) == value


def test_a_reader_sees_a_change_made_by_stock_tinydb_in_place(store_path: Path) -> None:
    reader = Store(store_path)
    put_counter(reader, 1)
    assert counter(reader) == 1

    def stock_write() -> None:  # JSONStorage rewrites the same inode
        with StringIdTinyDB(store_path) as stock:
            stock.table("sync_state").update({"value": 1234}, doc_ids=["counter"])

    run_in_child(stock_write)
    assert counter(reader) == 1234
    with reader.read() as view:
        assert view.get("meta", "schema") == {"id": "schema", "version": SCHEMA_VERSION}


def test_only_changed_tables_are_parsed_again(store_path: Path) -> None:
    reader = Store(store_path)
    with reader.transaction() as tx:
        tx.put_many("contacts", [{"id": f"c{i}", "name": f"N{i}"} for i in range(100)])
        tx.put("sync_state", {"id": "counter", "value": 1})
    with reader.read() as first:
        pass
    run_in_child(lambda: put_counter(Store(store_path), 2))
    with reader.read() as second:
        assert second.get("sync_state", "counter") == {"id": "counter", "value": 2}
        assert second.all("contacts") == first.all("contacts")
    # Unchanged tables are shared with the previous version rather than parsed again.
    assert second._tables["contacts"] is first._tables["contacts"]
    assert second._tables["sync_state"] is not first._tables["sync_state"]


# -- read views of some tables ------------------------------------------------------------------


def test_a_view_of_some_tables_decodes_only_those_and_refuses_the_others(store_path: Path) -> None:
    writer = Store(store_path)
    with writer.transaction() as tx:
        tx.put_many("contacts", [{"id": f"c{i}", "name": f"N{i}"} for i in range(3)])
        tx.put("interactions", {"id": "i1", "contact_id": "c1"})
        tx.put("queue", {"id": "q1", "contact_id": "c2"})
    reader = Store(store_path)  # a fresh process: nothing cached
    with reader.read(only=("contacts", "queue")) as view:
        assert [r["id"] for r in view.all("contacts")] == ["c0", "c1", "c2"]
        assert view.get("queue", "q1") == {"id": "q1", "contact_id": "c2"}
        assert view.table("contacts").get(doc_id="c1") == {"id": "c1", "name": "N1"}
        # Interactions are not decoded; the queue is held as text, its q1 decoded alone.
        assert set(view._tables) == {"contacts", "meta"}
        assert set(view._texts) == {"queue"}
        for refused in (
            lambda: view.all("interactions"),
            lambda: view.get("interactions", "i1"),
            lambda: view.table("encounters"),
        ):
            with pytest.raises(ValueError, match="holds only contacts, queue"):
                refused()
    with reader.read() as full:  # the whole view is unchanged by the partial one
        assert full.get("interactions", "i1") == {"id": "i1", "contact_id": "c1"}


def test_a_view_of_some_tables_follows_other_writers_and_damage_in_its_tables(
    store_path: Path,
) -> None:
    reader = Store(store_path)
    put_counter(reader, 1)
    with reader.read(only=("sync_state",)) as view:
        assert view.get("sync_state", "counter") == {"id": "counter", "value": 1}
    run_in_child(lambda: put_counter(Store(store_path), 2))
    with reader.read(only=("sync_state",)) as view:
        assert view.get("sync_state", "counter") == {"id": "counter", "value": 2}
    # Damage inside a table the view decodes is refused as a whole read refuses it.
    raw = store_path.read_bytes()
    start = raw.index(b'"sync_state":')
    store_path.write_bytes(raw[: start + 14] + b"{oops" + raw[start + 14 :])
    with pytest.raises(StoreError, match="damaged"), Store(store_path).read(only=("sync_state",)):
        pass


def test_a_view_of_some_tables_on_an_older_store_upgrades_it_first(store_path: Path) -> None:
    # A file from before the meta table (version 0): the view must not read it as current.
    store_path.parent.mkdir()
    store_path.write_text(json.dumps({"contacts": {"c1": {"id": "c1", "name": "Ada"}}}))
    with Store(store_path).read(only=("contacts",)) as view:
        assert view.get("contacts", "c1") is not None
    with Store(store_path).read(only=("meta",)) as view:
        assert view.get("meta", "schema") == {"id": "schema", "version": SCHEMA_VERSION}


def test_select_copies_only_the_kept_records_and_they_are_the_callers(store_path: Path) -> None:
    store = Store(store_path)
    with store.transaction() as tx:
        tx.put_many("queue", [{"id": f"q{i}", "kind": ("prep", "nudge")[i % 2]} for i in range(4)])
        kept_in_tx = tx.select("queue", lambda r: r["kind"] == "nudge")
        assert [r["id"] for r in kept_in_tx] == ["q1", "q3"]
    for only in (None, ("queue",)):
        with store.read(only=only) as view:
            kept = view.select("queue", lambda r: r["kind"] == "prep")
            assert kept == [{"id": "q0", "kind": "prep"}, {"id": "q2", "kind": "prep"}]
            kept[0]["kind"] = "changed by the caller"  # a copy: the snapshot is untouched
            assert view.get("queue", "q0") == {"id": "q0", "kind": "prep"}
    with store.read(only=("contacts",)) as view, pytest.raises(ValueError, match="holds only"):
        view.select("queue", lambda r: True)
