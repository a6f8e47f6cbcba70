"""Keeping secrets out of log lines and recorded errors.

Passwords are never logged on purpose; this is the safety net for a library or plugin that puts
one into an exception message. Whoever obtains a secret calls :func:`remember_secret`; every log
record that passes :class:`RedactingFilter` and every error text passed through :func:`redact`
then shows ``***`` in its place (the password, and the ``user:password`` Basic-auth token in
base64, the form an HTTP header would carry).
"""

from __future__ import annotations

import base64
import logging
import threading

MASK = "***"
_MIN_LENGTH = 4
"""Shorter values would mask innocent text everywhere; such passwords are not worth guarding."""

_lock = threading.Lock()
_secrets: set[str] = set()


def remember_secret(secret: str, *, username: str = "") -> None:
    """Given a secret (and the username it goes with), mask it in everything logged from now on."""
    if len(secret) < _MIN_LENGTH:
        return
    forms = {secret}
    if username:
        forms.add(base64.b64encode(f"{username}:{secret}".encode()).decode("ascii"))
    with _lock:
        _secrets.update(forms)


def redact(text: str) -> str:
    """Given any text, return it with every remembered secret replaced by ``***``."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks remembered secrets in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # A formatter would render the traceback later, uncleaned: render it now (debug
            # only, as mendcrm.logs does) and drop the raw exception.
            if record.levelno <= logging.DEBUG:
                cleaned += "\n" + redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(logger_names: tuple[str, ...] = ("mendcrm", "")) -> None:
    """Attach a :class:`RedactingFilter` to the handlers of the named loggers (idempotent)."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


__all__ = ["MASK", "RedactingFilter", "install_redaction", "redact", "remember_secret"]
