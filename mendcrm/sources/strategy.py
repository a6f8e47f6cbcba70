"""How a calendar's first sync reads it: the cheapest way for the server, told from what the
server itself hands out in the calendar listing, never from timing on the user's machine.

Two ways, measured with the bench (``python -m bench --only sync``: a 5,000-event calendar,
the window 38 days of two years):

- ``time-range`` (every server but the ones below): a calendar-query over the horizon asking
  for the data (RFC 4791 §7.8), so only the window is downloaded and parsed. Servers that keep
  an index of start and end times (SabreDAV/Nextcloud, Cyrus, Google, iCloud) answer it from
  the index. Radicale 3.9 has none but keeps each item's time range in its item cache: its
  time-range answer cost 0.83–0.90 s of server CPU against 0.97–1.0 s for the full
  sync-collection with data (7.1 MB before gzip against 1.0 MB), so it keeps this way too.
- ``sync-multiget`` (Xandikos): a sync-collection REPORT without data lists every object and
  hands out the token in one answer (RFC 6578 §3.2), then calendar-multiget fetches them in
  batches growing to :data:`LARGE_MULTIGET` (RFC 4791 §7.9; the loader keeps each answer
  within its size cap), each parsed while the server computes the next, and objects whose
  raw text proves them
  outside the horizon are never parsed (:mod:`mendcrm.events.prefilter`). Xandikos keeps no
  index until it has answered several time-range queries and then answers from an index that
  reads zoned times as UTC (it lost 4 of 474 objects at the window's edges in the bench), so
  without one it parses every object per query: 5.7 s of server CPU against 0.15–0.26 s for
  the listing and 2.5 s for the multigets, whatever the batch size (100 to 5,000 hrefs).
  Xandikos answers sync-collection without calendar-data even when asked for it, and hands
  out a bare git commit id (40 hexadecimal digits) as its sync-token: its calendars are git
  repositories. That token is how it is recognised; a token is meant to be a URI
  (RFC 6578 §3.2), so no other server seen hands out one of that shape.

Later passes ask a known calendar for its changes by a REPORT from the stored token
(:mod:`mendcrm.sources.known_calendars`). Xandikos answers that REPORT by walking both
versions' trees even when the token has not moved (≈40 ms of server CPU at 5,000 objects),
while its DAV:sync-token property — the token such a REPORT would hand out (RFC 6578 §4) — is
read from the repository's head (≈2 ms). So for a token of its shape the pass reads the
property first (:func:`token_by_property`) and sends the REPORT only when it moved. Radicale
computes the property by walking every item, as its REPORT does: there one REPORT stays
cheaper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mendcrm.sources.member_loader import MULTIGET_CHUNK

LARGE_MULTIGET = 1000
"""Hrefs per calendar-multiget when a whole calendar is fetched from a server known to answer
large ones in full (the loader asks again for what a capped answer leaves out, in any case)."""

_GIT_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, slots=True)
class FirstPass:
    """How to read a calendar the first time: ``method`` as reported, multiget batch size."""

    method: str
    batch: int = MULTIGET_CHUNK


TIME_RANGE = FirstPass("time-range")
SYNC_MULTIGET = FirstPass("sync-multiget", LARGE_MULTIGET)


def first_pass(token: str | None, sync_report: bool) -> FirstPass:
    """Given a calendar's sync-token as listed (None if it has none) and whether it offers the
    sync-collection REPORT, return how its first sync reads it (see the module's text)."""
    if token is not None and sync_report and _GIT_COMMIT.fullmatch(token.strip()):
        return SYNC_MULTIGET
    return TIME_RANGE


def token_by_property(token: str) -> bool:
    """Given a calendar's stored sync-token, return True if the server behind it (Xandikos,
    told by the token's shape) answers a PROPFIND for DAV:sync-token far more cheaply than a
    sync-collection REPORT from that token (see the module's text)."""
    return bool(_GIT_COMMIT.fullmatch(token.strip()))


__all__ = [
    "LARGE_MULTIGET",
    "SYNC_MULTIGET",
    "TIME_RANGE",
    "FirstPass",
    "first_pass",
    "token_by_property",
]
