"""email: due prep notes and follow-ups by e-mail, one message each or a daily digest.

Sends through your SMTP server with STARTTLS (port 587) or implicit TLS (port 465), the server's
certificate always verified (``ca_file`` adds a private CA). ``security = "plain"`` (no TLS) is
accepted only for a server on this machine (localhost, 127.0.0.1, ::1 or another loopback
address), e.g. a local relay.

The password never goes in the config: it is read from the system keyring, service ``mendcrm``,
username ``smtp:USER@HOST`` (store it with
``keyring set mendcrm smtp:me@example.org@smtp.example.org``), or from ``password_command``
(an argv list run without a shell, e.g. ``["pass", "show", "smtp"]``). No ``username`` means no
login.

``mode = "digest"`` sends one message a day at ``digest_time`` (local time) with every item that
became due before it; items due later wait for the next day's digest.

Config::

    [plugins.email]
    host = "smtp.example.org"
    security = "starttls"          # "starttls" (default), "tls", or "plain" (loopback only)
    port = 587                     # default by security: 587, 465, 25
    username = "me@example.org"
    password_command = ["pass", "show", "smtp"]   # optional; else the keyring
    from = "MendCRM <me@example.org>"
    to = ["me@example.org"]
    mode = "each"                  # or "digest"
    digest_time = "08:00"
    ca_file = "/path/to/ca.pem"    # optional
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mendcrm.config.model import Config
from mendcrm.controls import one_line
from mendcrm.errors import ConfigError
from mendcrm.hookspecs import hookimpl
from mendcrm.model import Contact, QueueItem
from mendcrm.urls import is_loopback

NAME = "email"
_KEYS = {
    "host",
    "port",
    "security",
    "username",
    "password_command",
    "from",
    "to",
    "mode",
    "digest_time",
    "ca_file",
    "timeout_seconds",
}
_PORTS = {"starttls": 587, "tls": 465, "plain": 25}


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    security: str
    username: str
    password_command: tuple[str, ...]
    sender: str
    recipients: tuple[str, ...]
    mode: str
    digest_time: time
    ca_file: Path | None
    timeout: float

    @property
    def keyring_name(self) -> str:
        return f"smtp:{self.username}@{self.host}"


def _bad(key: str, problem: str, hint: str) -> ConfigError:
    return ConfigError(f"[plugins.{NAME}] {key} {problem}", hint=hint)


def settings(config: Config) -> Settings:
    """Given the config, return the e-mail settings; raise ConfigError naming a wrong key."""
    table: dict[str, Any] = dict(config.plugins.settings.get(NAME, {}))
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise _bad(unknown[0], "is not a known key", f"known keys: {', '.join(sorted(_KEYS))}")
    host = table.get("host")
    if not isinstance(host, str) or not host:
        raise _bad("host", "is missing", 'set host = "smtp.example.org"')
    security = table.get("security", "starttls")
    if security not in _PORTS:
        raise _bad(
            "security",
            f"must be starttls, tls or plain, not {security!r}",
            'use security = "starttls" for port 587',
        )
    if security == "plain" and not is_loopback(host):
        raise _bad(
            "security",
            '= "plain" is allowed only for a server on this machine',
            'use "starttls" or "tls" for a remote server',
        )
    port = table.get("port", _PORTS[security])
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise _bad("port", "must be a whole number from 1 to 65535", "e.g. port = 587")
    sender = table.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        raise _bad(
            "from", "is missing or not an e-mail address", 'set from = "MendCRM <me@example.org>"'
        )
    to = table.get("to")
    recipients = (to,) if isinstance(to, str) else tuple(to) if isinstance(to, list) else ()
    if not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
        raise _bad(
            "to", "is missing or not a list of e-mail addresses", 'set to = ["me@example.org"]'
        )
    mode = table.get("mode", "each")
    if mode not in ("each", "digest"):
        raise _bad("mode", f'must be "each" or "digest", not {mode!r}', 'e.g. mode = "digest"')
    try:
        digest_time = time.fromisoformat(str(table.get("digest_time", "08:00")))
    except ValueError:
        raise _bad(
            "digest_time", 'must be a time of day such as "08:00"', 'e.g. digest_time = "07:30"'
        ) from None
    command = table.get("password_command", [])
    if not isinstance(command, list) or not all(isinstance(w, str) for w in command):
        raise _bad(
            "password_command",
            "must be a list of strings (the command's argv)",
            'e.g. password_command = ["pass", "show", "smtp"]',
        )
    username = table.get("username", "")
    if not isinstance(username, str):
        raise _bad("username", "must be a string", 'e.g. username = "me@example.org"')
    ca_file = table.get("ca_file")
    timeout = table.get("timeout_seconds", 30)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise _bad("timeout_seconds", "must be a positive number", "e.g. timeout_seconds = 30")
    return Settings(
        host,
        port,
        security,
        username,
        tuple(command),
        sender,
        recipients,
        mode,
        digest_time,
        Path(ca_file).expanduser() if ca_file else None,
        float(timeout),
    )


@hookimpl
def validate_config(config: Config) -> None:
    settings(config)


def _password(s: Settings) -> str:
    from mendcrm.daemon.redaction import remember_secret
    from mendcrm.secrets import keyring_get, run_password_command

    if s.password_command:
        password = run_password_command(s.password_command, f"[plugins.{NAME}]")
    else:
        password = keyring_get(s.keyring_name)
    remember_secret(password, username=s.username)
    return password


def send(s: Settings, message: EmailMessage) -> None:
    """Given settings and a message, send it; raise an OSError or SMTPException if that fails."""
    context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
    smtp: smtplib.SMTP
    if s.security == "tls":
        smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
    else:
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
    with smtp:
        smtp.ehlo()
        if s.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if s.username:
            smtp.login(s.username, _password(s))
        smtp.send_message(message)


def _encodable(text: str) -> str:
    # A lone surrogate (from a broken invitation) cannot be encoded at all; show it as U+FFFD.
    return _SURROGATE.sub("\ufffd", text)


def _message(s: Settings, subject: str, body: str, item_ids: list[str]) -> EmailMessage:
    """Given a subject and body from event text, return the message; odd text never fails it.

    The Subject is one line (RFC 5322 §2.2: no CR or LF in a header), with no other control
    character; the email library encodes non-ASCII as RFC 2047 encoded words and folds it.
    The body loses NUL and the other C0 controls but TAB and LF (RFC 5322 §2.3 allows none).
    """
    message = EmailMessage()
    message["From"] = s.sender
    message["To"] = ", ".join(s.recipients)
    message["Subject"] = one_line(_encodable(subject)) or "MendCRM"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="mendcrm.invalid")
    message["X-MendCRM-Items"] = " ".join(item_ids)
    message.set_content(_BODY_CONTROLS.sub("", _encodable(body).replace("\r\n", "\n")))
    return message


_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _subject(item: QueueItem, contact: Contact | None) -> str:
    if item.title:
        return item.title
    who = contact.name if contact else item.contact_id
    return f"{'Prep note' if item.kind == 'prep' else 'Follow-up'}: {who}"


def last_digest_moment(s: Settings, now: datetime, config: Config) -> datetime:
    """Given the time, return the latest digest moment at or before it (aware)."""
    zone = ZoneInfo(config.me.timezone) if config.me.timezone else None
    local = now.astimezone(zone) if zone else now.astimezone()
    moment = datetime.combine(local.date(), s.digest_time, tzinfo=local.tzinfo)
    return moment if moment <= local else moment - timedelta(days=1)


# Within one delivery round the plugin is called once per item; the digest goes out on the
# first call and the other items of that digest get its receipt (or its error) without a resend.
_round_lock = threading.Lock()
_round: dict[str, Any] = {"now": None, "receipts": {}, "error": None}


def _digest(
    s: Settings, item: QueueItem, batch: tuple[QueueItem, ...], now: datetime, config: Config
) -> str | None:
    moment = last_digest_moment(s, now, config)
    if item.due > moment:
        return None  # waits for the next digest
    with _round_lock:
        if _round["now"] != now:
            _round.update(now=now, receipts={}, error=None)
            members = sorted((i for i in batch if i.due <= moment), key=lambda i: i.due)
            if item not in members:
                members.append(item)
            parts = [f"# {one_line(i.title or i.kind)}\n\n{i.body.strip()}\n" for i in members]
            body = ("\n\n---\n\n").join(parts)
            subject = f"MendCRM digest: {len(members)} note{'s' if len(members) != 1 else ''}"
            message = _message(s, subject, body, [i.id for i in members])
            try:
                send(s, message)
            except Exception as exc:
                _round["error"] = exc
                raise
            _round["receipts"] = {i.id: str(message["Message-ID"]) for i in members}
        if _round["error"] is not None:
            raise RuntimeError(f"the digest could not be sent: {_round['error']}")
        receipt: str | None = _round["receipts"].get(item.id)
        return receipt


@hookimpl
def deliver(
    item: QueueItem,
    contact: Contact | None,
    config: Config,
    now: datetime,
    batch: tuple[QueueItem, ...],
) -> str | None:
    s = settings(config)
    if s.mode == "digest":
        return _digest(s, item, batch, now, config)
    message = _message(s, _subject(item, contact), item.body or item.title, [item.id])
    send(s, message)
    return str(message["Message-ID"])
