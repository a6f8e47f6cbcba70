"""Lazy package exports: a package names what it offers without importing it at start-up.

The sources, events and annotations packages pull in the CalDAV client, lxml and icalendar;
commands that only read the store must not pay for that (``mendcrm upcoming`` starts in a
fraction of a second). A package lists its exports and where each lives::

    __getattr__ = lazy_exports(__name__, {"sync_sources": "mendcrm.sources.sync"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """Given a package name and {name: module}, return a module ``__getattr__`` importing on use."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__


__all__ = ["lazy_exports"]
