"""export: the queue as files other tools can read — an iCalendar file and a JSON file.

After every delivery round the plugin rewrites, only when their content changed:

- ``mendcrm.ics``: a VTODO per queue item (DUE = when it is due; STATUS follows the item:
  NEEDS-ACTION, COMPLETED once done or delivered, CANCELLED when withdrawn or dismissed) and a
  VEVENT per active encounter (the meeting itself), for calendar and task apps that subscribe to
  a local file;
- ``mendcrm-queue.json``: ``{"items": [...]}``, each item's stored record (times in ISO 8601
  UTC) plus the contact's name, for scripts. No timestamp of its own, so an unchanged queue
  leaves the file untouched.

Both are written atomically (temporary file, fsync, rename), mode 0600. Text in the .ics loses
the control characters RFC 5545 §3.3.11 excludes from TEXT (NUL among them; TAB and line breaks
stay, escaped by the writer). ``ics`` and ``json`` must be plain file names: no folder part, not
``.`` or ``..``, no NUL — checked with the config, not at every delivery.

Config::

    [plugins.export]
    folder = "~/.local/share/mendcrm/export"   # required
    ics = "mendcrm.ics"                        # file names inside folder (optional)
    json = "mendcrm-queue.json"
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from icalendar import Calendar, Event, Todo

from mendcrm.config.model import Config
from mendcrm.errors import ConfigError
from mendcrm.files import write_private
from mendcrm.hookspecs import hookimpl
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.plugin_settings import folder_setting, plugin_table

NAME = "export"
_STATUS = {
    "done": "COMPLETED",
    "delivered": "COMPLETED",
    "withdrawn": "CANCELLED",
    "dismissed": "CANCELLED",
}


_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _plain_file_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in "/\\\x00")
        and len(name.encode("utf-8", "surrogatepass")) <= 255
    )


def paths(config: Config) -> tuple[Path, Path]:
    """Given the config, return the .ics and .json paths; raise ConfigError naming the key and
    the config file if the table is bad (a file name with a folder part, ``.`` or ``..``)."""
    table = plugin_table(config, NAME, ("folder", "ics", "json"))
    base = folder_setting(config, NAME, table, example="~/.local/share/mendcrm/export")
    names = []
    where = f" (in {config.source})" if config.source is not None else ""
    for key, default in (("ics", "mendcrm.ics"), ("json", "mendcrm-queue.json")):
        name = table.get(key, default)
        if not _plain_file_name(name):
            raise ConfigError(
                f"[plugins.{NAME}] {key} = {name!r} is not a plain file name{where}",
                hint=f'name a file inside folder, e.g. {key} = "{default}"',
            )
        names.append(base / name)
    return names[0], names[1]


def _text(value: str) -> str:
    # CR LF is a line break like LF (the writer escapes it as \\n); every other control goes.
    return _TEXT_CONTROLS.sub("", value.replace("\r\n", "\n"))


@hookimpl
def validate_config(config: Config) -> None:
    paths(config)


def to_ics(
    items: list[QueueItem], contacts: dict[str, Contact], encounters: dict[str, Encounter]
) -> bytes:
    """Given the queue and context, return the iCalendar file's bytes (same input, same bytes)."""
    calendar = Calendar()
    calendar.add("prodid", "-//MendCRM//export//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "MendCRM")
    for item in items:
        todo = Todo()
        todo.add("uid", f"{item.id}@mendcrm")
        todo.add("dtstamp", item.due)
        who = contacts[item.contact_id].name if item.contact_id in contacts else item.contact_id
        todo.add("summary", _text(item.title or f"{item.kind}: {who}"))
        todo.add("due", item.due)
        todo.add("status", _STATUS.get(item.state, "NEEDS-ACTION"))
        if item.body:
            todo.add("description", _text(item.body))
        calendar.add_component(todo)
    wanted = {i.encounter_id for i in items if i.encounter_id}
    for encounter in sorted(encounters.values(), key=lambda e: e.id):
        if encounter.state != "active" or encounter.id not in wanted:
            continue
        occurrence = encounter.occurrence
        event = Event()
        event.add("uid", f"{encounter.id}@mendcrm")
        event.add("dtstamp", occurrence.start)
        event.add("dtstart", occurrence.start)
        event.add("dtend", occurrence.end)
        event.add("summary", _text(occurrence.summary or "Encounter"))
        if occurrence.location:
            event.add("location", _text(occurrence.location))
        calendar.add_component(event)
    return calendar.to_ical()


def to_json(items: list[QueueItem], contacts: dict[str, Contact]) -> bytes:
    """Given the queue, return the JSON file's bytes."""
    records = []
    for item in items:
        record = item.to_record()
        contact = contacts.get(item.contact_id)
        record["contact_name"] = contact.name if contact else ""
        records.append(record)
    return (json.dumps({"items": records}, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


@hookimpl
def queue_snapshot(
    items: list[QueueItem],
    contacts: dict[str, Contact],
    encounters: dict[str, Encounter],
    config: Config,
    now: datetime,
) -> None:
    ics_path, json_path = paths(config)
    write_private(ics_path, to_ics(items, contacts, encounters), only_if_changed=True)
    write_private(json_path, to_json(items, contacts), only_if_changed=True)


__all__ = ["NAME", "paths", "queue_snapshot", "to_ics", "to_json", "validate_config"]
