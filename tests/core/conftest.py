"""Fixtures shared by the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core import test_incremental_machine as machine


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[machine.IncrementalEqualsFull]:
    """The state machine's world (a feed, a shared calendar, a store with four people), started,
    for cases that drive it step by step; every step checks incremental against full."""
    monkeypatch.setattr(machine, "event", lambda *_: None)  # hypothesis's, outside a test run
    runs = machine.IncrementalEqualsFull()
    runs.start()
    yield runs
    runs.teardown()
