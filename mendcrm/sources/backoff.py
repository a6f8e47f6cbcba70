"""A source that failed: its error in one line, and when it may be tried again.

Shared by the account and feed parts of a sync pass (:mod:`mendcrm.sources.sync`,
:mod:`mendcrm.sources.account_sync`): a source that fails keeps its last good state, records
the error, and is skipped until its back-off ends (1, 2, 4… minutes, at most
``[daemon] max_backoff_minutes``) unless the sync is forced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mendcrm.errors import MendError
from mendcrm.model import from_iso, to_iso


def backoff_until(failures: int, now: datetime, cap: timedelta) -> str:
    """Given how many syncs of a source failed in a row, the time and the cap, return when to
    try it again (ISO 8601, UTC): 2**(failures-1) minutes after ``now``, at most ``cap``."""
    # The exponent is bounded before the delay is made: 2**30 minutes (two thousand years) is
    # past any cap, and from the 42nd failure on the delay itself would overflow timedelta.
    return to_iso(now + min(timedelta(minutes=2 ** min(max(0, failures - 1), 30)), cap))


def backing_off(doc: Mapping[str, Any], now: datetime) -> str | None:
    """Given a source's stored document and the time, return why it is skipped now (one line:
    until when, after how many failures, the last error); None if it may be tried."""
    retry_at = doc.get("retry_at")
    if retry_at and from_iso(retry_at) > now:
        return (
            f"skipped: backing off until {retry_at} after {doc.get('failures', 1)} failed "
            f"sync(s); last error: {doc.get('last_error', '')}"
        )
    return None


def one_line(exc: BaseException) -> str:
    """Given what syncing a source raised, return it as one line: a MendError's own message,
    else "unexpected", the exception's type and its first line (at most 200 characters)."""
    if isinstance(exc, MendError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}: {text[:200]}"


__all__ = ["backing_off", "backoff_until", "one_line"]
