"""Keeping secrets out of log lines and recorded errors.

Passwords are never logged on purpose; this is the safety net for a library or plugin that puts
one into an exception message. Whoever obtains a secret calls :func:`remember_secret`; every log
record that passes :class:`RedactingFilter` and every error text passed through :func:`redact`
then shows ``***`` in its place, in every form a secret travels in:

- as typed, and percent-encoded (a URL's userinfo or query, RFC 3986 §2.1);
- inside any base64 token: SMTP ``AUTH PLAIN`` (``\0user\0password``, RFC 4616 §2), ``AUTH
  LOGIN`` (the password alone, draft-murchison-sasl-login) and HTTP Basic (``user:password``,
  RFC 7617 §2), standard or URL-safe alphabet (RFC 4648 §4, §5). Base64 turns every 3 bytes into
  4 characters, so the password's characters depend on where it starts within a 3-byte group:
  for each of the three offsets the characters that encode only password bits are fixed, and a
  token containing any of those three runs is masked whole.

:func:`scrub_tokens` is the other half, for text stored before the secret was known (a store
migration): it masks anything that looks like a credential token.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
_MIN_LENGTH = 4
"""Shorter values would mask innocent text everywhere; such passwords are not worth guarding."""

_lock = threading.Lock()


def _fresh_lock() -> None:
    # A child forked while another thread (the page's) held the lock would wait for it forever:
    # the child gets a lock of its own (the daemon forks a child per sync pass).
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock)

_secrets: set[str] = set()
"""Literal forms: the secret as typed and percent-encoded."""
_signatures: set[str] = set()
"""Runs of base64 characters that only the secret's bytes produce (see the module docstring)."""

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]+=*")
"""A run of characters from either base64 alphabet (RFC 4648 §4 and §5), with its padding."""


def base64_signatures(secret: bytes) -> set[str]:
    """Given a secret's bytes, return the base64 runs that encode it at each of the three byte
    offsets within a 3-byte group, in the standard and the URL-safe alphabet (RFC 4648 §4, §5).

    At offset k the secret's bits start at bit 8k of the encoded stream; character i carries bits
    6i to 6i+5, so the characters from ceil(8k / 6) up to the last one that ends within the
    secret's bits depend on the secret alone, whatever bytes surround it.
    """
    found = set()
    end_bits = 8 * len(secret)
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + secret).decode("ascii")
        run = encoded[(8 * k + 5) // 6 : (8 * k + end_bits) // 6]
        if run:
            found.update({run, run.replace("+", "-").replace("/", "_")})
    return found


def remember_secret(secret: str, *, username: str = "") -> None:
    """Given a secret (and the username it goes with), mask it in everything logged from now on.

    ``username`` is accepted for the callers' convenience: the base64 signatures cover the
    secret inside any token (Basic, AUTH PLAIN), whoever the user is.
    """
    if len(secret) < _MIN_LENGTH:
        return
    percent = {quote(secret, safe=""), quote_plus(secret, safe="")}
    literal = {secret, *percent, *(_lower_hex(form) for form in percent)}
    with _lock:
        _secrets.update(literal)
        _signatures.update(base64_signatures(secret.encode("utf-8")))


def redact(text: str) -> str:
    """Given any text, return it with every remembered secret, in any of its forms (as typed,
    percent-encoded, or inside a base64 token), replaced by ``***``."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
        signatures = tuple(_signatures)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    if signatures:
        text = _BASE64_RUN.sub(
            lambda m: MASK if any(sig in m.group() for sig in signatures) else m.group(), text
        )
    return text


_TOKEN_AFTER = re.compile(
    r"(?i)\b(AUTH\s+(?:PLAIN|LOGIN)|Basic|Bearer|Authorization:?)(\s+)[A-Za-z0-9+/_=.-]+"
)
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{8,}={0,2}(?![A-Za-z0-9+/=_-])")


def scrub_tokens(text: str) -> str:
    """Given text stored without knowing which secret it might hold (an old error message),
    return it with every credential-looking token replaced by ``***``.

    Masked: the word after ``AUTH PLAIN``, ``AUTH LOGIN``, ``Basic``, ``Bearer`` or
    ``Authorization``, and any base64 token of 8+ characters that decodes (length a multiple of
    4 once padded) and does not read as a word: it holds a digit, ``+ / - _ =``, or an
    upper-case letter after a lower-case one. A long ordinary word may be masked too; in an
    error message that costs less than a leaked password.
    """
    text = _TOKEN_AFTER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _CANDIDATE.sub(lambda m: MASK if _looks_encoded(m.group()) else m.group(), text)


ERROR_KEYS = frozenset({"last_error", "error"})
"""Keys whose values are error text (from servers and libraries) wherever a record holds them."""


def clean_error_texts(value: Any, clean: Callable[[str], str] = redact, key: str = "") -> Any:
    """Given a JSON value (a record, a table), return it with ``clean`` applied to every string
    under a key of :data:`ERROR_KEYS`, at any depth; the input is not modified, and an unchanged
    value is returned as the same object."""
    if isinstance(value, dict):
        items = {k: clean_error_texts(v, clean, k) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if isinstance(value, list):
        cleaned = [clean_error_texts(v, clean, key) for v in value]
        return value if all(a is b for a, b in zip(cleaned, value, strict=True)) else cleaned
    if isinstance(value, str) and key in ERROR_KEYS:
        new = clean(value)
        return value if new == value else new
    return value


def _looks_encoded(token: str) -> bool:
    if len(token) % 4:
        return False
    try:
        base64.b64decode(token.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(re.search(r"[0-9+/=_-]|[a-z][A-Z]", token))


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


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


__all__ = [
    "ERROR_KEYS",
    "MASK",
    "RedactingFilter",
    "base64_signatures",
    "clean_error_texts",
    "install_redaction",
    "redact",
    "remember_secret",
    "scrub_tokens",
]
