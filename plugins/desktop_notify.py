"""desktop_notify: a desktop notification when a prep note or follow-up is due.

Uses the first that is available: ``osascript`` on macOS; elsewhere ``notify-send`` (libnotify),
then ``gdbus`` calling the freedesktop ``org.freedesktop.Notifications`` service on the session
bus. Where none is available it says so once in the log and stays quiet; items are then left for
the other plugins (and ``mendcrm prep``).

Held at night: a note that comes up outside the user's day (``[me] day_starts`` to
``[me] day_ends``) is shown at the next ``day_starts`` instead — except a prep note whose meeting
starts before then, which is shown at once (read late beats read after the meeting).

Discreet by default, because screens are glanced at: the notification names the person and says
a prep note (or follow-up) is ready — no stage, no history. ``detail = "full"`` adds the note's
title and first lines.

Event text is made safe for each tool: control characters (NUL among them, which no argv can
carry) are dropped, and the body, which notification servers read as markup (the Desktop
Notifications spec's ``body-markup``), has ``&``, ``<`` and ``>`` escaped, so ``<a href=…>`` in
an invitation shows as text.

Config::

    [plugins.desktop_notify]
    detail = "discreet"   # or "full"
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import subprocess
import sys
from datetime import datetime

from mendcrm.config.model import Config
from mendcrm.due_times import UserDay, held_until
from mendcrm.errors import ConfigError
from mendcrm.hookspecs import hookimpl
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.plugin_settings import plugin_table

NAME = "desktop_notify"
APP_NAME = "MendCRM"
_TIMEOUT = 15.0
log = logging.getLogger(f"mendcrm.plugin.{NAME}")
_said_unavailable = False


def detail(config: Config) -> str:
    """Given the config, return "discreet" or "full"; raise ConfigError for anything else."""
    table = plugin_table(config, NAME, ("detail",))
    value = table.get("detail", "discreet")
    if value not in ("discreet", "full"):
        raise ConfigError(
            f'[plugins.{NAME}] detail must be "discreet" or "full", not {value!r}',
            hint='detail = "discreet" names the person only',
        )
    return str(value)


@hookimpl
def validate_config(config: Config) -> None:
    detail(config)


def message(item: QueueItem, contact: Contact | None, level: str) -> tuple[str, str]:
    """Given an item, its contact and the detail level, return the notification's title and body."""
    who = contact.name if contact else "someone"
    what = {"prep": "A prep note is ready", "followup": "A follow-up is due"}.get(
        item.kind, "A note is ready"
    )
    title = f"{APP_NAME}: {who}"
    body = f"{what} for {who}."
    if level == "full":
        first = " ".join(item.body.split())[:240]
        body = f"{item.title or body}\n{first}".strip()
    return title, body


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 but TAB and LF, DEL and C1: an argv cannot hold NUL, and no notification wants the rest."""


def _plain(text: str) -> str:
    return _CONTROLS.sub("", text)


def _gvariant_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def command(title: str, body: str) -> list[str] | None:
    """Given a title and body (plain text), return the argv that shows the notification here, or
    None; control characters are dropped and the body's markup characters escaped for the tools
    that read markup (notify-send, the freedesktop service)."""
    title, body = _plain(title), _plain(body)
    markup_body = html.escape(body, quote=False)
    if sys.platform == "darwin" and shutil.which("osascript"):

        def quote(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        return ["osascript", "-e", f"display notification {quote(body)} with title {quote(title)}"]
    if shutil.which("notify-send"):
        return ["notify-send", f"--app-name={APP_NAME}", "--", title, markup_body]
    if shutil.which("gdbus"):
        return [
            "gdbus",
            "call",
            "--session",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "org.freedesktop.Notifications.Notify",
            _gvariant_string(APP_NAME),
            "0",
            "''",
            _gvariant_string(title),
            _gvariant_string(markup_body),
            "[]",
            "{}",
            "-1",
        ]
    return None


def waits_until(
    item: QueueItem, encounter: Encounter | None, config: Config, now: datetime
) -> datetime | None:
    """Given an item offered at ``now``, return the morning its notification waits for, or None
    to show it now: at night it waits for ``[me] day_starts``, unless it is a prep note whose
    meeting starts before that."""
    morning = held_until(now, UserDay.of(config))
    if morning is None:
        return None
    if item.kind == "prep" and encounter is not None and encounter.occurrence.start <= morning:
        return None
    return morning


@hookimpl
def deliver(
    item: QueueItem,
    contact: Contact | None,
    encounter: Encounter | None,
    config: Config,
    now: datetime,
) -> str | None:
    global _said_unavailable
    if item.kind not in ("prep", "followup"):
        return None
    morning = waits_until(item, encounter, config, now)
    if morning is not None:
        log.debug("desktop_notify: %s waits for the morning (%s)", item.id, morning.isoformat())
        return None  # "not yet": offered again on every round until morning
    title, body = message(item, contact, detail(config))
    argv = command(title, body)
    if argv is None:
        if not _said_unavailable:
            log.warning(
                "desktop_notify: no notification tool found (notify-send, gdbus or "
                "osascript); notifications are off"
            )
            _said_unavailable = True
        return None
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        reason = " ".join(result.stderr.split())[:200] or f"exit status {result.returncode}"
        raise RuntimeError(f"{argv[0]} failed: {reason}")
    return f"notified via {argv[0]}"
