"""The daemon's memory between jobs: one malloc heap for all its threads, trimmed before it sleeps.

A daemon rests for minutes between jobs, so what a job leaves behind should go back to the
system. Python's own small-object arenas are returned once empty; larger blocks (strings, dict
tables, the store's decoded tables) come from the C library's malloc, which keeps freed memory
until told otherwise. On glibc, :func:`release_memory` asks it back (``malloc_trim``), and
:func:`one_heap` keeps every thread on the main heap (``M_ARENA_MAX = 1``): by default a thread
such as the page's gets an arena of its own, whose freed blocks stay resident (about 11 MiB
after one page view on the 5,000-event bench store). Threads here take turns anyway (the GIL),
so sharing one heap costs nothing measurable. Elsewhere (musl, macOS) both do nothing.
"""

from __future__ import annotations

import gc
from typing import Any

from mendcrm.store import Store

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number for the most arenas (``malloc.h``)."""

_libc: Any = None


def _glibc() -> Any:
    """Return the process's C library if it has glibc's malloc controls, else None."""
    global _libc
    if _libc is None:
        import ctypes

        try:
            found = ctypes.CDLL(None)  # the process's own C library
            found.malloc_trim, found.mallopt  # noqa: B018 - both or neither
            _libc = found
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


def one_heap() -> None:
    """Keep threads started from now on allocating from the main malloc heap (glibc only)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 1)


def trim_heap() -> None:
    """Return the allocator's free memory to the system (glibc's ``malloc_trim``)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def release_memory(store: Store) -> None:
    """Given the daemon's store, drop its cached copy and hand freed memory back to the system.

    Called before the daemon sleeps: the cache (about 4× the file's size once decoded) only
    saves re-reading a file that the pass's child changes anyway; the page's requests load what
    they need while the daemon sleeps.
    """
    store.close()
    gc.collect()
    trim_heap()


__all__ = ["one_heap", "release_memory", "trim_heap"]
