"""A heads-up reaches plugins like any queue item: a markdown note named for it, and the export
plugin's queue JSON with ``"kind": "heads-up"``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mendcrm.clock import FrozenClock
from mendcrm.delivery import deliver_due
from mendcrm.model import QueueItem, replace
from mendcrm.plugins import make_plugin_manager
from mendcrm.store import Store
from tests.plugins.conftest import NOW, make_config, sample_item, seed


def test_heads_up_delivered_to_markdown_and_exported(
    tmp_path: Path, store: Store, queue_of: Callable[[], dict[str, QueueItem]]
) -> None:
    item = replace(
        sample_item(1),
        kind="heads-up",
        title="Ana Lima speaks at FinOps Summit 2027 on 12 March",
        body="# Ana Lima speaks at FinOps Summit 2027 on 12 March\n",
    )
    seed(store, item)
    notes, export = tmp_path / "vault", tmp_path / "export"
    config = make_config(
        ("markdown_notes", "export"),
        {"markdown_notes": {"folder": str(notes)}, "export": {"folder": str(export)}},
    )
    deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    receipt = Path(queue_of()[item.id].deliveries["markdown_notes"])
    local = item.due.astimezone()
    assert receipt.name == f"{local:%Y-%m-%d %H%M} Heads-up - Ana Lima.md"
    assert 'title: "Ana Lima speaks at FinOps Summit 2027 on 12 March"' in receipt.read_text()
    [record] = json.loads((export / "mendcrm-queue.json").read_text())["items"]
    assert (record["kind"], record["title"]) == ("heads-up", item.title)
