"""Opening the store at this MendCRM's schema: an older file is upgraded, a newer one refused.

An upgrade keeps the old file as ``<name>.v<N>.bak`` first (:mod:`mendcrm.store.migrations`
holds the steps themselves); when a step scrubs secrets out of the old tables, no copy of the
unscrubbed text is left. Separate from :mod:`mendcrm.store.store` because it happens once per
file version, beside the transactions and reads every command makes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from mendcrm.errors import StoreError
from mendcrm.store import migrations
from mendcrm.store.layout import Snapshot
from mendcrm.store.migrations import Tables
from mendcrm.store.storage import StoreFile

log = logging.getLogger(__name__)


class UpgradingStore:
    """The part of :class:`~mendcrm.store.store.Store` that gives the current version at this
    schema, upgrading the file if it is older."""

    _file: StoreFile

    @property
    def path(self) -> Path:
        return self._file.path

    @property
    def backup_path(self) -> Path:
        """Where the previous version is kept (``<name>.bak``)."""
        return self._file.backup_path

    def _current(self, *, locked: bool) -> Snapshot:
        snapshot = self._file.load()
        try:
            version = migrations.schema_version(snapshot.tables)
        except ValueError as exc:
            raise self._file.damaged(str(exc)) from None
        if version > migrations.SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer MendCRM (schema {version}; this"
                f" one knows up to {migrations.SCHEMA_VERSION})",
                hint="upgrade MendCRM to use this store",
            )
        if version == migrations.SCHEMA_VERSION:
            return snapshot
        if not locked:
            # Upgrading writes, and writing needs the lock; another process may get there first.
            with self._file.locked():
                return self._current(locked=True)
        return self._migrate(snapshot, version)

    def _migrate(self, snapshot: Snapshot, version: int) -> Snapshot:
        backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
        try:
            tables = migrations.migrate(snapshot.tables, version)
            scrubbed = migrations.scrub(snapshot.tables, version)
        except (ValueError, LookupError) as exc:
            raise StoreError(
                f"cannot upgrade the store {self.path} from schema {version}: {exc}",
                hint="the file was left as it was; repair it by hand or ask for help",
            ) from exc
        if scrubbed is snapshot.tables:
            self._file.keep_copy(backup)
            migrated = self._file.commit(tables, snapshot)
        else:
            migrated = self._migrate_scrubbing(snapshot, scrubbed, tables, backup, version)
        log.info(
            "upgraded the store %s from schema %d to %d; the old file is kept as %s",
            self.path,
            version,
            migrations.SCHEMA_VERSION,
            backup,
        )
        return migrated

    def _migrate_scrubbing(
        self, snapshot: Snapshot, scrubbed: Tables, tables: Tables, backup: Path, version: int
    ) -> Snapshot:
        """Upgrade through a scrubbing step so that no copy of the unscrubbed text is left.

        The old version's backup is the scrubbed old tables. The store file is first replaced by
        them (its ``.bak`` then links the unscrubbed file), then by the upgraded tables (its
        ``.bak`` now links the scrubbed old one, and the unscrubbed file has no name left). A crash
        in between leaves a scrubbed store of the old version, upgraded again on the next open.
        Older ``.vN.bak`` files are scrubbed in place.
        """
        try:
            self._file.write_copy(backup, scrubbed)
        except OSError as exc:
            raise StoreError(
                f"cannot keep a copy of the store {self.path} as {backup}: {exc.strerror or exc}",
                hint="the store was left as it was; free disk space or fix permissions and retry",
            ) from exc
        base = self._file.commit(scrubbed, snapshot)
        migrated = self._file.commit(tables, base)
        for older in sorted(self.path.parent.glob(f"{self.path.name}.v*.bak")):
            if older != backup:
                self._scrub_backup(older)
        return migrated

    def _scrub_backup(self, path: Path) -> None:
        try:
            old = json.loads(path.read_bytes())
            version = migrations.schema_version(old)
            cleaned = migrations.scrub(old, version)
            if cleaned is not old and cleaned != old:
                self._file.write_copy(path, cleaned)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning(
                "could not scrub the old store backup %s (%s); delete it if you do not need it:"
                " it may hold an SMTP password's base64",
                path,
                exc,
            )


__all__ = ["UpgradingStore"]
