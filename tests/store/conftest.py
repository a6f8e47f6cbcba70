"""Helpers shared by the store tests: store paths, temp-file listing and forked children."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from mendcrm.store import Store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store path whose folder does not exist yet (the store creates it)."""
    return tmp_path / "data" / "store.json"


@pytest.fixture
def store(store_path: Path) -> Store:
    return Store(store_path)


def temp_files(path: Path) -> list[str]:
    """Given a store path, return the names of the store's temporary files in its folder."""
    if not path.parent.exists():
        return []
    return sorted(n for n in os.listdir(path.parent) if n.startswith(f".{path.name}."))


def counter(store: Store) -> int:
    """Return the value of the test counter kept in the sync_state table (0 if absent)."""
    with store.read() as view:
        doc = view.get("sync_state", "counter")
    return 0 if doc is None else int(doc["value"])


def run_in_child(action: Callable[[], object]) -> None:
    """Run ``action`` in a forked process and wait for it; fail the test if it raised."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            action()
        except BaseException:
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child process failed (see stderr)"
