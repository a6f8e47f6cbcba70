"""Whole-file copies of the store: the user's backups, restoring one, refreshing ``.bak``.

Each is taken under the store's lock, so no write is half in it. Separate from
:mod:`mendcrm.store.store` because these bypass transactions: they read or replace the file as
a whole (a restore is also how a damaged store is replaced).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mendcrm.errors import StoreError
from mendcrm.store import codec, migrations
from mendcrm.store.layout import EMPTY
from mendcrm.store.migrations import SCHEMA_ID
from mendcrm.store.upgrades import UpgradingStore


class StoreBackups(UpgradingStore):
    """The backup and restore part of :class:`~mendcrm.store.store.Store`."""

    _tx_lock: threading.Lock

    def refresh_backup(self) -> None:
        """Replace the backup copy (``.bak``) with the current version, under the lock: after a
        contact is forgotten the previous version must not keep them. Raise StoreError."""
        with self._tx_lock, self._file.locked():
            if self.path.exists():
                self._file.keep_copy(self.backup_path)

    def write_copy(self, destination: Path, tables: Mapping[str, Any]) -> None:
        """Given a file beside the store and tables, write them there (atomic, 0600); raise
        OSError if that fails."""
        self._file.write_copy(destination, dict(tables))

    def backup_to(self, destination: Path) -> int:
        """Given a file, write a consistent copy of the current version there (mode 0600, taken
        under the lock so no write is half in it); return the number of contacts it holds.
        Raise StoreError if the store cannot be read or the file written."""
        from mendcrm.files import write_private

        with self._tx_lock, self._file.locked():
            tables = self._current(locked=True).tables
            try:
                write_private(destination, json.dumps(tables, ensure_ascii=False) + "\n")
            except OSError as exc:
                raise StoreError(
                    f"cannot write the backup {destination}: {exc.strerror or exc}",
                    hint="choose a folder you can write to",
                ) from exc
        return len(tables.get("contacts", {}))

    def restore_from(self, source: Path) -> int:
        """Given a file written by :meth:`backup_to` (or a store file), make it the current
        version, upgraded to this schema; the version it replaces is kept as ``.bak``. Return the
        number of contacts restored. Raise StoreError, leaving the store as it was, if the file
        cannot be read, is not a MendCRM store, or comes from a newer MendCRM."""
        try:
            data = codec.decode(Path(source).read_bytes().lstrip())
        except OSError as exc:
            raise StoreError(f"cannot read {source}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise StoreError(
                f"{source} is not a MendCRM backup: not JSON ({exc})",
                hint="give a file written by `mendcrm backup`",
            ) from None
        meta = data.get("meta", {}) if isinstance(data, dict) else None
        if not isinstance(meta, dict) or SCHEMA_ID not in meta:
            raise StoreError(
                f"{source} is not a MendCRM backup: it has no schema record",
                hint="give a file written by `mendcrm backup`",
            )
        try:
            version = migrations.schema_version(data)
            if version > migrations.SCHEMA_VERSION:
                raise StoreError(
                    f"{source} was written by a newer MendCRM (schema {version})",
                    hint="upgrade MendCRM to restore it",
                )
            tables = (
                migrations.migrate(data, version) if version < migrations.SCHEMA_VERSION else data
            )
            for name, table in tables.items():
                if not isinstance(table, dict) or not all(
                    isinstance(r, dict) for r in table.values()
                ):
                    raise ValueError(f"table {name!r} is not an object of records")
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            raise StoreError(f"{source} is not a usable MendCRM backup: {exc}") from None
        with self._tx_lock, self._file.locked():
            try:
                base = self._current(locked=True)
            except StoreError:
                base = EMPTY  # a damaged store is what a restore is for; it is kept as .bak
            self._file.commit(migrations.stamp(tables), base)
        return len(tables.get("contacts", {}))


__all__ = ["StoreBackups"]
