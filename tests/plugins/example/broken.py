"""Test plugins that misbehave on purpose: ``mode`` in [plugins.broken] picks how."""

from __future__ import annotations

import threading

from mendcrm.config.model import Config
from mendcrm.hookspecs import hookimpl
from mendcrm.model import QueueItem

calls: list[str] = []
release = threading.Event()


@hookimpl
def deliver(item: QueueItem, config: Config) -> str:
    calls.append(item.id)
    mode = config.plugins.settings.get("broken", {}).get("mode", "raise")
    if mode == "hang":
        release.wait(30)  # the test releases it at the end, so no thread outlives the test long
        return "late"
    if mode == "sometimes" and len(calls) > 1:
        return "ok"
    raise RuntimeError(f"broken plugin refuses {item.id}")
