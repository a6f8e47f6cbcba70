"""A sync pass in a forked child process, so the daemon at rest keeps only its own baseline.

Why: a pass imports the CalDAV, HTTP, XML and iCalendar stack (about 40 MiB resident) and builds
the window's objects, occurrences and plan (another 40–50 MiB at 5,000 events). CPython keeps
most of that after the pass — modules are never unloaded, and freed small objects stay in the
allocator's arenas. A child forked for the pass takes all of it with it when it exits; the
parent never imports the stack at all.

Fork, not spawn: the child inherits the loaded config, the plugin manager (plugins registered in
process included), logging and the remembered secrets as they are, and starts in a millisecond.
Only the forking thread exists in the child, so the child touches nothing another thread of the
parent may hold (the page's thread and its store object): it opens its own :class:`Store`.

What comes back, as one pickled :class:`ChildResult` over a pipe: the failed sources and their
errors and the warnings (for health, back-off and the log), the summary's JSON (for the log),
the encounters detected, changed and withdrawn (the plugins' encounter hooks run in the parent,
where the plugins live, after the child committed), and the secrets the child fetched (so the
parent masks them too). A child that raised sends its error; one that dies sends nothing and
the parent reports how it ended.

Stopping: the parent waits on the child's pipe, its exit and the signal wake-up pipe at once;
when a stop is requested it sends the child SIGTERM (the pass abandons its step, the open
transaction is discarded), waits up to :data:`STOP_GRACE_SECONDS`, then SIGKILLs it (the store's
commit is atomic, so even that leaves it whole), and raises :class:`StopNow`. A pass still
running after its limit (``[daemon] max_pass_minutes``) is stopped the same way and reported as
:class:`PassOverran`: every request has its own deadline, but a server answering each one
slowly, page after page, could otherwise hold the daemon for hours.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

import pluggy

from mendcrm.daemon.signals import StopNow
from mendcrm.errors import MendError
from mendcrm.model import Encounter

log = logging.getLogger("mendcrm.daemon")

STOP_GRACE_SECONDS = 10.0
"""How long a stopped child may take to abandon its pass before it is killed."""

DEFERRED_HOOKS = ("encounter_detected", "encounter_changed", "encounter_withdrawn")
"""Hooks the child leaves to the parent: they notify plugins, whose state lives in the parent."""


@dataclass
class ChildResult:
    """What a pass in the child hands back to the daemon (see the module's docstring)."""

    failed_sources: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    """The pass summary's JSON (``PassSummary.to_json``)."""
    detected: tuple[Encounter, ...] = ()
    changed: tuple[tuple[Encounter, Encounter], ...] = ()
    withdrawn: tuple[Encounter, ...] = ()
    secrets: list[tuple[str, str]] = field(default_factory=list)
    """(secret, username) pairs the child fetched, to be masked in the parent's logs too."""


class PassProcessError(MendError):
    """The pass's child process ended without a result (killed, crashed in C, out of memory)."""


class PassOverran(MendError):
    """The pass was still running after its limit and was stopped."""


Waiter = Callable[[Sequence[Any], float | None], Sequence[Any]]
"""Given waitables (connections, sentinels) and a timeout in seconds (None: none), block until
one is ready, a signal arrives or the timeout passes; return the ready ones."""


def without_hooks(pm: pluggy.PluginManager, hooks: Iterable[str]) -> pluggy.PluginManager:
    """Given a plugin manager, return one with the same plugins in the same order, minus their
    implementations of ``hooks`` (those are called elsewhere)."""
    from types import SimpleNamespace

    from mendcrm.plugins import new_plugin_manager

    dropped = frozenset(hooks)
    copy = new_plugin_manager()
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        # Each plugin is seen through a namespace holding only its other hook implementations
        # (pluggy finds them by attribute, statically, with their markers).
        kept = {
            attr: getattr(plugin, attr)
            for attr in dir(plugin)
            if attr not in dropped and pm.parse_hookimpl_opts(plugin, attr) is not None
        }
        copy.register(SimpleNamespace(**kept), name=name)
    return copy


def has_hooks(pm: pluggy.PluginManager | None, hooks: Iterable[str]) -> bool:
    """Given a plugin manager, return whether any plugin implements any of ``hooks``."""
    return pm is not None and any(getattr(pm.hook, h).get_hookimpls() for h in hooks)


def run_in_child(
    work: Callable[[Callable[[], bool]], ChildResult],
    *,
    wait: Waiter,
    stopping: Callable[[], bool],
    grace: float = STOP_GRACE_SECONDS,
    limit: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> ChildResult:
    """Given the pass as ``work(stopping)``, run it in a forked child and return its result.

    ``stopping`` (in the child) turns true once the child is asked to stop; ``work`` passes it
    on to the pass's progress callback. ``wait`` is how the parent blocks (it must return when a
    signal arrives, see :meth:`SignalClock.wait_for`); ``stopping`` (in the parent) is checked
    each time it returns. ``limit``: seconds the pass may run (by ``monotonic``) before it is
    stopped. Raise StopNow if a stop was requested (the child is ended first), PassOverran if
    the limit passed (likewise), the child's MendError as a MendError, its other exception as
    itself if it can be pickled, and PassProcessError if the child ended without a word.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(work, send, receive), name="mendcrm-pass")
    child.start()
    send.close()
    deadline = None if limit is None else monotonic() + limit
    try:
        message = _await(child, receive, wait, stopping, grace, deadline, monotonic)
    except BaseException:  # a second signal in the parent: the child must not outlive it
        _stop_child(child, grace)
        raise
    finally:
        receive.close()
    child.join()
    kind, value = message
    if kind == "ok":
        return value
    if kind == "stopped":
        raise StopNow()
    if kind == "mend":
        raise MendError(value)
    if kind == "raised":
        raise value
    if kind == "overran":
        minutes = (limit or 0) / 60
        raise PassOverran(
            f"the sync pass was still running after {minutes:g} minute(s) and was stopped; a "
            "server answering very slowly is the usual cause (the log names the source being "
            "read); [daemon] max_pass_minutes sets the limit"
        )
    raise PassProcessError(f"the sync pass's process {_ending(child.exitcode)}")


def _await(
    child: Any,
    receive: Connection,
    wait: Waiter,
    stopping: Callable[[], bool],
    grace: float,
    deadline: float | None,
    monotonic: Callable[[], float],
) -> tuple[str, Any]:
    while True:
        if stopping():
            _stop_child(child, grace)
            raise StopNow()
        timeout = None if deadline is None else max(0.0, deadline - monotonic())
        if timeout == 0.0 and not receive.poll():
            _stop_child(child, grace)
            return ("overran", None)
        ready = wait([receive, child.sentinel], timeout)
        if receive in ready:
            try:
                return receive.recv()
            except EOFError:  # it ended without sending
                child.join()
                return ("ended", None)
        if child.sentinel in ready and not receive.poll():
            child.join()
            return ("ended", None)


def _stop_child(child: Any, grace: float) -> None:
    if child.is_alive():
        os.kill(child.pid, signal.SIGTERM)
        child.join(grace)
    if child.is_alive():
        log.warning("the sync pass did not stop within %.0f s: killing it", grace)
        child.kill()
    child.join()


def _ending(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited ({code}) without a result"


def _child_main(
    work: Callable[[Callable[[], bool]], ChildResult], send: Connection, parents_end: Connection
) -> None:
    parents_end.close()
    stop = _install_child_signals()
    try:
        message: tuple[str, Any] = ("ok", work(lambda: stop.requested))
    except StopNow:
        message = ("stopped", None)
    except MendError as exc:
        message = ("mend", str(exc))
    except BaseException as exc:  # reported to the parent, which logs and backs off
        if stop.requested:
            message = ("stopped", None)
        else:
            log.debug("sync pass crashed", exc_info=True)
            message = ("raised", _picklable(exc))
    send.send(message)
    send.close()


class _StopFlag:
    requested = False


def _install_child_signals() -> _StopFlag:
    """In the child: SIGTERM/SIGINT ask the pass to stop (a second one stops it at once), SIGHUP
    is the parent's business; signals no longer wake the parent's sleep."""
    from mendcrm.sources.request_bounds import stop_requests

    flag = _StopFlag()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        if flag.requested:
            raise StopNow()
        flag.requested = True
        stop_requests()

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    return flag


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    from mendcrm.plugins import one_line

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {one_line(str(exc))}")
    return exc


def result_of(summary: Any, secrets: Iterable[tuple[str, str]]) -> ChildResult:
    """Given a pipeline ``PassSummary`` and the secrets fetched for it, return the result."""
    return ChildResult(
        failed_sources=set(summary.failed_sources),
        errors=dict(summary.errors),
        warnings=list(summary.warnings),
        report=summary.to_json(),
        detected=tuple(summary.plan.detected),
        changed=tuple(summary.plan.changed),
        withdrawn=tuple(summary.plan.withdrawn),
        secrets=list(secrets),
    )


def remember_all(secrets: Iterable[tuple[str, str]]) -> None:
    """Given (secret, username) pairs from the child, mask them in this process's logs too."""
    from mendcrm.daemon.redaction import remember_secret

    for secret, username in secrets:
        remember_secret(secret, username=username)


def as_plan(result: ChildResult) -> Any:
    """Given the child's result, return a plan carrying its encounter changes (for announce)."""
    from mendcrm.planning import Plan

    return Plan(detected=result.detected, changed=result.changed, withdrawn=result.withdrawn)


__all__ = [
    "DEFERRED_HOOKS",
    "STOP_GRACE_SECONDS",
    "ChildResult",
    "PassOverran",
    "PassProcessError",
    "as_plan",
    "has_hooks",
    "remember_all",
    "result_of",
    "run_in_child",
    "without_hooks",
]
