"""Logging set-up: one line per record on stderr, journald-friendly when run under systemd.

Under systemd (``$JOURNAL_STREAM`` set) each line starts with a ``<N>`` syslog priority so the
journal keeps the level; elsewhere lines read ``mendcrm: warning: …``.
"""

from __future__ import annotations

import logging
import os
import sys

from mendcrm.daemon.redaction import RedactingFilter

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _Formatter(logging.Formatter):
    def __init__(self, journald: bool) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno <= logging.DEBUG:
            message += "\n" + self.formatException(record.exc_info)
        if self.journald:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{message}"
        return f"mendcrm: {record.levelname.lower()}: {message}"


def configure_logging(verbose: bool = False, *, level: int | None = None) -> None:
    """Given the --verbose flag (or an explicit level), send MendCRM's log to stderr."""
    chosen = level if level is not None else (logging.DEBUG if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(journald=bool(os.environ.get("JOURNAL_STREAM"))))
    handler.addFilter(RedactingFilter())  # a library's message may carry a password
    root = logging.getLogger("mendcrm")
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    root.propagate = False
    if not verbose:
        # The HTTP and CalDAV libraries log request details (URLs, headers) at debug level.
        for noisy in ("caldav", "niquests", "urllib3", "requests"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


__all__ = ["configure_logging"]
