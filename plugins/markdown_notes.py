"""markdown_notes: each prep note and follow-up as a Markdown file in a notes folder.

Every due item becomes one ``.md`` file with YAML front matter (title, kind, contact, due, state,
tags) in the folder you name — an Obsidian vault, or any folder of notes. When the note changes
(the event moved, the contact's stage changed), the file is rewritten — unless you edited it: the
plugin keeps a hash of what it wrote (in ``.mendcrm-notes.json`` in that folder), and a file whose
content no longer matches is never touched again; the new version goes beside it as
``… (MendCRM update).md``. Files are written atomically, mode 0600; a folder the plugin creates
is 0700, and a folder you already had is left as it is (with a warning if other users can read
it). File names fit the file system's limit (255 bytes on Linux; a longer name, say 100 CJK
characters, is cut at a character boundary), without control, bidi or zero-width characters.

Config::

    [plugins]
    enabled = ["markdown_notes"]

    [plugins.markdown_notes]
    folder = "~/Notes/MendCRM"     # required
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from mendcrm.config.model import Config
from mendcrm.controls import without_invisibles
from mendcrm.files import private_folder, warn_if_shared, write_private
from mendcrm.hookspecs import hookimpl
from mendcrm.model import Contact, Encounter, QueueItem, to_iso
from mendcrm.plugin_settings import folder_setting, plugin_table
from mendcrm.render import user_zone

NAME = "markdown_notes"
STATE_FILE = ".mendcrm-notes.json"
_KINDS = {"prep": "Prep", "followup": "Follow-up", "nudge": "Nudge", "heads-up": "Heads-up"}
_UNSAFE = re.compile(r'[\\/:*?"<>|#^\[\]\x00-\x1f\x7f-\x9f]+')
_NAME_MAX = 255
"""Bytes in one file name on Linux's file systems (NAME_MAX); asked of the folder when it can be."""
_SUFFIX_ROOM = len(" (MendCRM update) (99).md")
"""Kept free in every new name, so the variants :meth:`Folder._free_name` makes still fit."""


def settings(config: Config) -> Path:
    """Given the config, return the notes folder; raise ConfigError if the table is wrong."""
    table = plugin_table(config, NAME, ("folder",))
    return folder_setting(config, NAME, table, example="~/Notes/MendCRM")


@hookimpl
def validate_config(config: Config) -> None:
    settings(config)


def _yaml(value: Any) -> str:
    # JSON strings, numbers and lists are valid YAML flow scalars: no YAML library needed.
    return json.dumps(value, ensure_ascii=False)


def render(item: QueueItem, contact: Contact | None, encounter: Encounter | None) -> str:
    """Given an item and its context, return the Markdown file's full text."""
    front = {
        "title": item.title or f"{_KINDS.get(item.kind, item.kind)}: {_name(item, contact)}",
        "kind": item.kind,
        "contact": contact.name if contact else item.contact_id,
        "due": to_iso(item.due),
        # Only closing states: due → delivered is not worth rewriting the file for.
        "status": item.state if item.state in {"done", "dismissed", "withdrawn"} else "open",
        "mendcrm_id": item.id,
        "tags": ["mendcrm", item.kind],
    }
    if encounter is not None:
        front["event"] = encounter.occurrence.summary
        front["event_start"] = to_iso(encounter.occurrence.start)
        if encounter.occurrence.location:
            front["location"] = encounter.occurrence.location
    lines = ["---", *(f"{key}: {_yaml(value)}" for key, value in front.items()), "---", ""]
    return "\n".join(lines) + (item.body.rstrip() + "\n" if item.body else "")


def _name(item: QueueItem, contact: Contact | None) -> str:
    return contact.name if contact else item.contact_id


def fit_bytes(text: str, limit: int) -> str:
    """Given text and a byte budget, return its longest prefix whose UTF-8 fits the budget,
    cut between characters (never inside one), trailing spaces removed."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore").rstrip()


def name_limit(folder: Path) -> int:
    """Given the notes folder, return the longest file name in bytes it accepts (255 where the
    file system does not say)."""
    try:
        return min(_NAME_MAX, os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return _NAME_MAX


def _file_name(
    item: QueueItem, contact: Contact | None, zone: tzinfo, limit: int = _NAME_MAX
) -> str:
    # The user's own time in the name: it is what they see in their calendar.
    due = item.due.astimezone(zone)
    base = f"{due:%Y-%m-%d %H%M} {_KINDS.get(item.kind, item.kind)} - {_name(item, contact)}"
    stem = " ".join(_UNSAFE.sub(" ", without_invisibles(base)).split())
    return fit_bytes(stem, limit - _SUFFIX_ROOM) + ".md"


class Folder:
    """The notes folder and its record of what the plugin wrote (file name and content hash);
    new files are named by their due time in ``zone``."""

    def __init__(self, path: Path, zone: tzinfo) -> None:
        self.path = path
        self.zone = zone
        self.state_path = path / STATE_FILE
        try:
            self.state: dict[str, dict[str, str]] = json.loads(self.state_path.read_text("utf-8"))
        except FileNotFoundError:
            self.state = {}

    def save_state(self) -> None:
        write_private(self.state_path, json.dumps(self.state, indent=1, sort_keys=True) + "\n")

    def _free_name(self, wanted: str) -> str:
        taken = {entry["file"] for entry in self.state.values()}
        limit = name_limit(self.path)
        stem, n = wanted[:-3], 1
        name = fit_bytes(stem, limit - 3) + ".md"
        while name in taken or (self.path / name).exists():
            n += 1
            tail = f" ({n}).md"
            name = fit_bytes(stem, limit - len(tail.encode())) + tail
        return name

    def write(self, item: QueueItem, text: str, contact: Contact | None) -> Path:
        """Write (or update) the item's file unless the user edited it; return the file used."""
        if not private_folder(self.path):
            warn_if_shared(self.path, "the notes folder")
        entry = self.state.get(item.id)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if entry is None:
            name = self._free_name(_file_name(item, contact, self.zone, name_limit(self.path)))
        else:
            name = entry["file"]
            target = self.path / name
            if entry["sha256"] == digest and target.exists():
                return target  # nothing changed
            if target.exists() and _hash(target) != entry["sha256"]:
                # The user edited it: leave it alone for good, write the update beside it.
                name = self._free_name(f"{Path(name).stem} (MendCRM update).md")
        write_private(self.path / name, text)
        self.state[item.id] = {"file": name, "sha256": digest}
        self.save_state()
        return self.path / name


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@hookimpl
def deliver(
    item: QueueItem, contact: Contact | None, encounter: Encounter | None, config: Config
) -> str:
    folder = Folder(settings(config), user_zone(config.me))
    return str(folder.write(item, render(item, contact, encounter), contact))


@hookimpl
def queue_snapshot(
    items: list[QueueItem],
    contacts: dict[str, Contact],
    encounters: dict[str, Encounter],
    config: Config,
    now: datetime,
) -> None:
    folder = Folder(settings(config), user_zone(config.me))
    for item in items:
        if item.id not in folder.state:
            continue  # only notes this plugin delivered are kept current
        encounter = encounters.get(item.encounter_id) if item.encounter_id else None
        contact = contacts.get(item.contact_id)
        folder.write(item, render(item, contact, encounter), contact)


@hookimpl
def contact_forgotten(item_ids: list[str], config: Config) -> None:
    """Delete the notes written for a forgotten contact's items, edited ones and the updates
    written beside them too: the user asked for every trace to go."""
    folder = Folder(settings(config), user_zone(config.me))
    gone = [i for i in item_ids if i in folder.state]
    for item_id in gone:
        name = folder.state[item_id]["file"]
        # Once the user edited a note, the state names the update written beside it; the
        # edited original is the part of the name before " (MendCRM update)".
        first = Path(name).stem.split(" (MendCRM update)")[0]
        updates = folder.path.glob(f"{glob.escape(first)} (MendCRM update)*.md")
        for path in {folder.path / name, folder.path / f"{first}.md", *updates}:
            path.unlink(missing_ok=True)
        del folder.state[item_id]
    if gone:
        folder.save_state()
