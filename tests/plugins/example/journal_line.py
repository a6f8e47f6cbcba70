"""journal_line: an example MendCRM plugin — one line per due note appended to a text file.

The README's "writing a plugin" section points here. Put this file in a folder, name the folder
in ``[plugins] paths``, enable it by its file name and give it its own table::

    [plugins]
    paths = ["~/mendcrm-plugins"]
    enabled = ["journal_line"]

    [plugins.journal_line]
    file = "~/mendcrm-journal.txt"

A plugin implements any of the hooks in :mod:`mendcrm.hookspecs`, asking only for the arguments
it uses. ``deliver`` returns a receipt once the item is handed over; raising means "failed, try
again later"; returning None means "not mine".
"""

from __future__ import annotations

from pathlib import Path

from mendcrm.config.model import Config
from mendcrm.errors import ConfigError
from mendcrm.hookspecs import hookimpl
from mendcrm.model import Contact, QueueItem


def journal_file(config: Config) -> Path:
    """Given the config, return the journal file; raise ConfigError if the setting is wrong."""
    value = config.plugins.settings.get("journal_line", {}).get("file")
    if not isinstance(value, str) or not value:
        raise ConfigError(
            "[plugins.journal_line] file is missing", hint='set file = "~/mendcrm-journal.txt"'
        )
    return Path(value).expanduser()


@hookimpl
def validate_config(config: Config) -> None:
    journal_file(config)


@hookimpl
def deliver(item: QueueItem, contact: Contact | None, config: Config) -> str:
    path = journal_file(config)
    who = contact.name if contact else item.contact_id
    with path.open("a", encoding="utf-8") as journal:
        journal.write(f"{item.due:%Y-%m-%d %H:%M} {item.kind} {who}: {item.title}\n")
    return f"{path}"
