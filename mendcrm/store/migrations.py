"""Schema versions of the store file and the steps that upgrade an older one.

The ``meta`` table's ``schema`` document records the version a file was written with. A
migration is a pure function registered for one step: it takes the tables of version N and
returns those of version N+1 without touching its input. :func:`migrate` chains the steps;
:mod:`mendcrm.store.upgrades` keeps a copy of the old file as ``<name>.v<N>.bak`` and writes the
result in one transaction.

To change the schema: raise :data:`SCHEMA_VERSION` by one and register a step for the old
version with ``@migration(old_version)``. A step that removes something that must not survive
anywhere (a leaked secret) is registered with ``@migration(old_version, scrubs=True)``: the store
then applies it to the old file's backups too (see :meth:`mendcrm.store.Store`), and the step
must therefore accept tables of any earlier version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Tables = dict[str, dict[str, dict[str, Any]]]
"""The whole store in memory: table name → record id → record."""

Migration = Callable[[Tables], Tables]

SCHEMA_VERSION = 4
"""The schema this code writes. Version 0 is a file from before the ``meta`` table existed;
version 2 added the ``dismissals`` table; version 3 masked credentials in stored error text;
version 4 added ``stage_history`` (every stage change) and ``removals`` (forgotten contacts whose
remote traces are still to remove)."""

TABLES: tuple[str, ...] = (
    "contacts",
    "interactions",
    "encounters",
    "queue",
    "sync_state",
    "meta",
    "dismissals",
    "stage_history",
    "removals",
)
"""The tables every store file holds once written."""

SCHEMA_ID = "schema"
"""Id of the ``meta`` document that holds the schema version; the store manages it."""

MIGRATIONS: dict[int, Migration] = {}
"""Registered steps, keyed by the version each one upgrades from."""

SCRUBS: dict[int, Migration] = {}
"""The registered steps that scrub, keyed likewise: their backups are scrubbed too."""


def migration(from_version: int, *, scrubs: bool = False) -> Callable[[Migration], Migration]:
    """Given the version a step upgrades from (and whether it scrubs data that must not survive
    in a backup), return a decorator that registers the step."""

    def register(step: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from schema {from_version} is already registered")
        MIGRATIONS[from_version] = step
        if scrubs:
            SCRUBS[from_version] = step
        return step

    return register


def scrub(tables: Tables, from_version: int) -> Tables:
    """Given tables of ``from_version`` (a store or one of its backups), return them with every
    scrubbing step from that version on applied, still at their own version; the input is not
    modified."""
    for version in range(from_version, SCHEMA_VERSION):
        step = SCRUBS.get(version)
        if step is not None:
            tables = step(tables)
    return tables


def schema_version(tables: Mapping[str, Mapping[str, Any]]) -> int:
    """Given the tables read from a file, return the schema version they were written with.

    An empty file is a new store (the current version); tables without a ``schema`` document
    are version 0. Raise ValueError if the recorded version is not a whole number ≥ 0.
    """
    if not tables:
        return SCHEMA_VERSION
    doc = tables.get("meta", {}).get(SCHEMA_ID)
    if doc is None:
        return 0
    version = doc.get("version")
    # bool is an int subclass; a "version": true would otherwise pass as 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"the meta table's schema version is {version!r}, not a whole number")
    return version


def migrate(tables: Tables, from_version: int) -> Tables:
    """Given tables of an older schema, return them upgraded to :data:`SCHEMA_VERSION` and stamped.

    Raise ValueError if a step finds data it cannot convert, LookupError if a step is missing.
    """
    for version in range(from_version, SCHEMA_VERSION):
        step = MIGRATIONS.get(version)
        if step is None:
            raise LookupError(f"no migration registered from schema {version} to {version + 1}")
        tables = step(tables)
    return stamp(tables)


def stamp(tables: Tables) -> Tables:
    """Given tables about to be written, return them with every table present and the version set.

    The input is not modified: tables that need a change are copied, the rest are shared (the
    storage recognises shared tables and does not serialise them again).
    """
    out = dict(tables)
    for name in TABLES:
        if name not in out:
            out[name] = {}
    wanted = {"id": SCHEMA_ID, "version": SCHEMA_VERSION}
    if out["meta"].get(SCHEMA_ID) != wanted:
        out["meta"] = {**out["meta"], SCHEMA_ID: wanted}
    return out


@migration(0)
def _key_documents_by_record_id(tables: Tables) -> Tables:
    """Given version-0 tables, return them keyed by each record's own ``id``.

    Version 0 files come from TinyDB's stock storage, which keys documents by its own counter
    ("1", "2", …); from version 1 on a record is found by its id without a scan. A document
    with no string id keeps its old key as id. Raise ValueError if two documents share an id,
    since keeping either would silently drop the other.
    """
    out: Tables = {}
    for name, docs in tables.items():
        if name not in TABLES:
            # Tables MendCRM does not know (e.g. TinyDB's "_default") are kept as they were.
            out[name] = docs
            continue
        keyed: dict[str, dict[str, Any]] = {}
        for key, doc in docs.items():
            record_id = doc.get("id")
            if not isinstance(record_id, str) or not record_id:
                record_id = str(key)
            if record_id in keyed:
                raise ValueError(f"table {name!r} holds two documents with id {record_id!r}")
            keyed[record_id] = {**doc, "id": record_id}
        out[name] = keyed
    return out


@migration(1)
def _add_dismissals(tables: Tables) -> Tables:
    """Given version-1 tables, return them with an empty ``dismissals`` table.

    The version is raised (rather than letting the table appear on the next write) so that an
    older MendCRM refuses the file instead of ignoring the user's "not this person" and
    bringing dismissed encounters back.
    """
    return {**tables, "dismissals": dict(tables.get("dismissals", {}))}


@migration(2, scrubs=True)
def _scrub_stored_error_text(tables: Tables) -> Tables:
    """Given tables of any version, return them with credential-looking tokens masked in every
    stored error text (any ``last_error`` or ``error`` value, at any depth: queue items, sync
    state, the daemon's and the plugins' health documents); unchanged tables are the input.

    Before schema 3 an SMTP server that repeated the AUTH token in its rejection left the
    password's base64 in these texts; which password is not known here, so every token that looks
    like a credential is masked (:func:`mendcrm.daemon.redaction.scrub_tokens`).
    """
    from mendcrm.daemon.redaction import clean_error_texts, scrub_tokens

    cleaned: Tables = clean_error_texts(tables, scrub_tokens)
    return cleaned


@migration(3)
def _add_stage_history(tables: Tables) -> Tables:
    """Given version-3 tables, return them with empty ``stage_history`` and ``removals`` tables.

    Each contact's current stage becomes the first entry of its history, dated ``stage_since``
    when known, so the timeline starts where the store's knowledge starts.
    """
    history = dict(tables.get("stage_history", {}))
    for record in tables.get("contacts", {}).values():
        stage, since = record.get("stage", "none"), record.get("stage_since")
        if stage == "none" or not since:
            continue
        entry_id = f"{record['id']}:{since}"
        history.setdefault(
            entry_id,
            {
                "id": entry_id,
                "contact_id": record["id"],
                "at": since,
                "before": None,
                "after": stage,
                "by": "migration",
                "reason": "the stage held when the history began",
            },
        )
    return {**tables, "stage_history": history, "removals": dict(tables.get("removals", {}))}


__all__ = [
    "MIGRATIONS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "SCRUBS",
    "TABLES",
    "Migration",
    "Tables",
    "migrate",
    "migration",
    "schema_version",
    "scrub",
    "stamp",
]
