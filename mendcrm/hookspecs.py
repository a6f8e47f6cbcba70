"""Every hook a MendCRM plugin can implement, in one place.

A plugin is a module (or object) with functions decorated by :data:`hookimpl` and named after the
hooks below. As with pluggy generally, an implementation may accept any subset of a hook's
arguments, in any order — ask only for what you use::

    from mendcrm.hookspecs import hookimpl

    @hookimpl
    def deliver(item, config):
        ...

Plugins read their own settings from ``config.plugins.settings[NAME]`` (the ``[plugins.NAME]``
table of the config file) and check them in :func:`validate_config`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from mendcrm.config.model import Config
    from mendcrm.model import Contact, Encounter, QueueItem

PROJECT = "mendcrm"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def validate_config(name: str, settings: dict[str, Any], config: Config) -> None:
    """Given this plugin's own ``[plugins.NAME]`` table (``settings``, possibly empty), check it.

    Called once for each enabled plugin when the plugin manager is built, with that plugin's table
    only. Raise :class:`mendcrm.errors.ConfigError` with a one-line message naming the table and
    key, e.g. ``[plugins.email] port must be a whole number from 1 to 65535``, and a hint. A
    plugin that raises here is not registered, and the daemon or command stops with that message.
    """


@hookspec
def deliver(
    item: QueueItem,
    contact: Contact | None,
    encounter: Encounter | None,
    config: Config,
    now: datetime,
    batch: tuple[QueueItem, ...],
) -> Any:
    """Given a due queue item (a prep note, follow-up, nudge or heads-up), hand it to the user;
    return a receipt. ``item.kind`` says which; a ``heads-up`` tells that a flagged contact
    speaks at a conference programme the user does not attend (its ``encounter_id`` is one of
    the sessions).

    Return something truthy (a short string such as a file path or a Message-ID is best; it is
    recorded in ``item.deliveries[PLUGIN]``) once the item has been delivered. Return ``None`` to
    say "not mine" or "not yet" (a daily digest before its hour): the item is offered again on a
    later round, with no penalty. Raise to signal a failure: the error is logged with the plugin's
    name and the call is retried with exponential back-off.

    Each plugin is called separately, in a worker thread with a time limit
    (``[plugins] timeout_seconds``); a plugin that already delivered an item is never called again
    for it. Delivery is at-least-once: make repeats harmless (e.g. overwrite the same file).
    ``item.body`` is the rendered note in Markdown, ``item.title`` its one-line title. ``batch``
    holds every item this plugin is offered in the same round (``item`` included), for plugins
    that send one digest instead of one message per item.
    """


@hookspec
def queue_snapshot(
    items: list[QueueItem],
    contacts: dict[str, Contact],
    encounters: dict[str, Encounter],
    config: Config,
    now: datetime,
) -> None:
    """Given the whole queue after each delivery round, bring a copy of it up to date.

    For plugins that mirror the queue (an export file) or keep what they delivered current (a
    note whose event moved). ``contacts`` and ``encounters`` map ids to objects. Called in a
    worker thread with the same time limit as :func:`deliver`; errors are logged and recorded
    with the plugin's name. Write only when something changed: this runs every round.
    """


@hookspec
def encounter_detected(encounter: Encounter, contact: Contact | None, config: Config) -> None:
    """Given an encounter seen for the first time by a sync pass, react to it (no return value).

    Errors are logged with the plugin's name and never stop the sync. The daemon runs each pass
    in a child process but calls the three encounter hooks in its own, after the pass committed.
    """


@hookspec
def encounter_changed(
    encounter: Encounter, previous: Encounter, contact: Contact | None, config: Config
) -> None:
    """Given an encounter whose event moved or changed (``previous`` is the stored version), react.

    Errors are logged with the plugin's name and never stop the sync.
    """


@hookspec
def encounter_withdrawn(
    encounter: Encounter, contact: Contact | None, reason: str, config: Config
) -> None:
    """Given an encounter that no longer holds (event cancelled, deleted, declined), react.

    ``reason`` says why in a few words. Errors are logged with the plugin's name.
    """


@hookspec
def contact_forgotten(contact_id: str, item_ids: list[str], config: Config) -> None:
    """Given a contact the user asked MendCRM to forget and the ids of their queue items, remove
    every copy the plugin keeps of them (notes written, entries exported).

    Called after the store forgot them, and again on later passes until every plugin succeeded:
    it must be idempotent. An exception is logged with the plugin's name, shown by ``status``,
    and the call retried.
    """


@hookspec
def prep_note_sections(
    item: QueueItem, contact: Contact | None, encounter: Encounter | None, config: Config
) -> str | list[str] | None:
    """Given a prep note or follow-up being rendered, return extra Markdown sections for it.

    Return one Markdown string (e.g. ``"## From my notes\\n\\n…"``), a list of them, or None.
    They are appended after the built-in sections, in plugin registration order. In the daemon
    this runs in the pass's child process: what a plugin keeps in memory here does not last.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Given the ``mendcrm`` click group, add commands to it (``@cli.command()``).

    Called when the CLI starts, for enabled plugins only.
    """


__all__ = [
    "PROJECT",
    "contact_forgotten",
    "deliver",
    "encounter_changed",
    "encounter_detected",
    "encounter_withdrawn",
    "hookimpl",
    "hookspec",
    "prep_note_sections",
    "queue_snapshot",
    "register_commands",
    "validate_config",
]
