"""When an account's calendar listing may be skipped: the calendars it found last time, trusted
for ``[sync] listing_refresh_minutes``.

The listing (one PROPFIND, Depth 1, on the calendar home) asks the server for every calendar's
DAV:sync-token. On Radicale that walks every item of every calendar: it costs as much as the
sync-collection REPORT (RFC 6578 §3.2) that follows it whenever a calendar changed, so a pass
with one change paid the walk twice. Within the refresh interval a pass instead sends each
known calendar's REPORT from its stored token at once: an unchanged calendar answers with no
members, a changed one with its changes, in one request either way. On a server whose
DAV:sync-token property costs far less than that REPORT (Xandikos,
:func:`mendcrm.sources.strategy.token_by_property`), the property is read first, and an
unchanged calendar needs no REPORT.

The listing still runs (and this module answers None) when anything it alone can tell may have
moved: the interval has passed (new, removed or renamed calendars, the principal's address
set), the config's choice of calendars changed, a listed calendar has no state yet (its first
sync failed), a calendar is not synced by token, one is held
as suspect after it vanished, or the clock went back. A direct REPORT that fails in any way
(404/410 gone, 403/409 invalid token, a server error) sends the pass on to the listing at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mendcrm.config.model import AccountConfig
from mendcrm.model import from_iso
from mendcrm.sources.caldav_account import CalendarSync, calendar_key
from mendcrm.sources.calendar import CalendarWork, SyncEnv
from mendcrm.sources.discovery import DavCalendar, current_token
from mendcrm.sources.results import CalendarReport
from mendcrm.sources.strategy import token_by_property
from mendcrm.sources.transport import Transport

DIRECT_MAX_CALENDARS = 4
"""Above this many calendars an account is listed on every pass, as before.

Why a rule keyed on the count: on Radicale the listing computes every calendar's token, which
costs the server about what each calendar's no-change REPORT does, so with N calendars the
direct way costs the same server work plus N - 1 more round trips when nothing changed, and
saves one whole REPORT-sized walk (plus a round trip) whenever a calendar changed. Measured on
Radicale over loopback with 3 calendars of 1,700 events (server CPU, medians of 5): the listing
0.303 s, the three no-change REPORTs 0.310 s together, one REPORT 0.104 s; so with one change
the listing way costs about 0.41 s against 0.31 s. Round trips to a remote server are tens of
milliseconds; a few calendars are worth them, dozens are not."""


def selection_of(account: AccountConfig) -> list[Any]:
    """Return what, in the account's config, decides which calendars are read; a stored one
    that differs means the listing must be asked again."""
    return [
        account.url,
        list(account.calendars),
        list(account.exclude),
        account.annotation_calendar or "",
    ]


def known_calendars(
    account: AccountConfig,
    account_doc: Mapping[str, Any],
    calendar_docs: Mapping[str, Mapping[str, Any]],
    now: datetime,
    refresh: timedelta,
) -> list[DavCalendar] | None:
    """Given the account's stored document and its calendars' documents, the pass's time and
    ``[sync] listing_refresh_minutes``, return the calendars to ask directly by token, or None
    if the calendars must be listed (see the module's docstring for when)."""
    listed_at = account_doc.get("listed_at")
    if refresh <= timedelta(0) or not listed_at or "addresses" not in account_doc:
        return None
    if not account_doc.get("listing") or account_doc.get("selection") != selection_of(account):
        return None
    if account.username and not account_doc.get("auth"):
        return None  # the scheme is still to be negotiated, which the listing path does
    try:
        since = now - from_iso(str(listed_at))
    except ValueError:
        return None
    if not timedelta(0) <= since < refresh:
        return None  # stale, or the clock went back: list again
    selected = account_doc.get("selected")
    if not isinstance(selected, list) or not selected or len(selected) > DIRECT_MAX_CALENDARS:
        return None
    if set(selected) != set(calendar_docs):
        return None  # one failed its first sync (no state yet), or one is kept as vanished
    calendars = []
    for key in selected:
        doc = calendar_docs[key]
        if doc.get("suspect") or doc.get("method") != "sync-token" or not doc.get("token"):
            return None
        if not doc.get("calendar"):
            return None
        calendars.append(
            DavCalendar(
                url=str(doc["calendar"]),
                name=str(doc.get("name") or ""),
                components=(),
                # Unknown until the server answers: the REPORT from the stored token tells.
                token=None,
                ctag=doc.get("ctag") or None,
                sync_report=True,
            )
        )
    return calendars


def sync_known(
    transport: Transport,
    calendars: list[DavCalendar],
    source: str,
    env: SyncEnv,
    calendar_docs: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[dict[str, Any], CalendarReport]]:
    """Given the known calendars, sync each by a REPORT from its stored token; return the new
    state document and report of each calendar synced before the first that could not be.

    The first failure of any kind (gone, invalid token, server error, refused password) stops
    here: the caller then lists the account's calendars and syncs the rest as it always has, so
    what it reports is what the listing path would, and the calendars synced here are not asked
    again. A calendar whose stored objects cannot be built on (other reader settings) also
    stops here: its first sync wants the token the listing gives."""
    done: dict[str, tuple[dict[str, Any], CalendarReport]] = {}
    for calendar in calendars:
        key = calendar_key(source, calendar.url)
        work = CalendarWork(key, source, calendar.url, calendar.name, env, calendar_docs.get(key))
        if work.first or not transport.may_send_to(calendar.url):
            break
        try:
            stored = str((calendar_docs.get(key) or {}).get("token") or "")
            if token_by_property(stored):
                # The token as the server holds it: the same one means no REPORT at all.
                calendar = dataclasses.replace(
                    calendar, token=current_token(transport, calendar.url)
                )
            doc = CalendarSync(transport, calendar, work, direct=True).run()
        except Exception:  # every failure is handled by the listing, which reports it
            break
        done[key] = (doc, work.report)
    return done


__all__ = ["DIRECT_MAX_CALENDARS", "known_calendars", "selection_of", "sync_known"]
