"""A programme's part of the sync pass: fetch it, report it, keep the last good copy.

Called by :func:`mendcrm.sources.sync.sync_sources` after the accounts and feeds. A programme that
fails (down, 404, a web page, a document that cannot be read) is reported with one line naming
it, counts as a failed source (its encounters are neither withdrawn nor moved), keeps its last
good programme and backs off like a feed; the daemon retries it after the back-off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from mendcrm.config.model import ProgrammeConfig
from mendcrm.errors import MendError
from mendcrm.model import from_iso, to_iso
from mendcrm.programmes.fetch import fetch_programme, programme_location, programme_source
from mendcrm.sources.calendar import SyncEnv
from mendcrm.sources.results import CalendarReport, SourceReport

log = logging.getLogger(__name__)


def sync_programme(
    programme: ProgrammeConfig,
    old: dict[str, Any] | None,
    env: SyncEnv,
    sleep: Callable[[float], None],
    force: bool,
    max_backoff: timedelta,
) -> tuple[dict[str, Any], SourceReport, bool]:
    """Given a programme's config and stored document, return (its new document, its report,
    whether it failed); after a failure it backs off 1, 2, 4… minutes up to ``max_backoff``
    (``[daemon] max_backoff_minutes``), as feeds do. Never raises for the programme's own
    faults."""
    source = programme_source(programme)
    report = SourceReport(source=source)
    calendar = CalendarReport(source=source, calendar=programme_location(programme))
    calendar.name = programme.name
    report.calendars.append(calendar)
    retry_at = (old or {}).get("retry_at")
    if not force and retry_at and from_iso(retry_at) > env.now:
        report.skipped = True
        report.error = calendar.error = (
            f"programme {programme.name!r}: skipped: backing off until {retry_at}; "
            f"last error: {(old or {}).get('last_error', '')}"
        )
        return dict(old or {}), report, True
    began = time.perf_counter()
    try:
        fetched = fetch_programme(
            programme, old, now=env.now, timeout=env.timeout, force=force, sleep=sleep
        )
        document, failed = fetched.document, False
        calendar.method = fetched.method
        calendar.requests = report.requests = fetched.requests
        if fetched.method == "read":
            calendar.fetched = 1
            sessions = len(document["programme"]["sessions"])
            calendar.changed = sessions
            if not document["programme"].get("has_speakers", True):
                calendar.warnings.append(
                    f"programme {programme.name!r}: the programme lists no speakers, so no one "
                    "can be found in it"
                )
    except Exception as exc:  # one programme failing must not stop the pass
        if not isinstance(exc, MendError):
            log.exception("sync of programme %s failed unexpectedly", programme.name)
        failed = True
        message = str(exc) if isinstance(exc, MendError) else f"unexpected {type(exc).__name__}"
        report.error = calendar.error = message
        failures = int((old or {}).get("failures") or 0) + 1
        document = dict(old) if old else {"id": source, "kind": "programme", "source": source}
        document.update(
            failures=failures,
            retry_at=to_iso(
                env.now + min(timedelta(minutes=2 ** min(failures - 1, 20)), max_backoff)
            ),
            last_error=message,
        )
    report.seconds = calendar.seconds = round(time.perf_counter() - began, 3)
    return document, report, failed


__all__ = ["sync_programme"]
