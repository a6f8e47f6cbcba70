"""One CalDAV account's part of a sync pass: connect, list its calendars, sync those selected.

Calendars the account's stored listing still vouches for are synced directly
(:mod:`mendcrm.sources.known_calendars`); otherwise the account is opened (with its stored
auth scheme and listing, else by discovery), each calendar the config selects is synced on its
own, and calendars no longer listed are kept one more pass or forgotten. Separate from
:mod:`mendcrm.sources.sync`, which runs every source of a pass and collects what they give.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from mendcrm.addresses import own_addresses
from mendcrm.config.model import AccountConfig
from mendcrm.errors import MendError, SecretError, SourceError
from mendcrm.model import to_iso
from mendcrm.sources.backoff import backing_off, backoff_until, one_line
from mendcrm.sources.caldav_account import CalendarSync, calendar_key, make_transport, source_name
from mendcrm.sources.calendar import SUSPICIOUS_MIN_OBJECTS, CalendarWork, SyncEnv
from mendcrm.sources.discovery import (
    CollectionGone,
    DavCalendar,
    discover,
    list_calendars,
    select_calendars,
)
from mendcrm.sources.known_calendars import known_calendars, selection_of, sync_known
from mendcrm.sources.results import CalendarReport, SourceReport
from mendcrm.sources.transport import AuthRejected, Transport

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
PasswordFor = Callable[[AccountConfig], str]


def sync_account(
    account: AccountConfig,
    docs: dict[str, dict[str, Any]],
    env: SyncEnv,
    password_for: PasswordFor,
    sleep: Sleep,
    force: bool,
    max_backoff: timedelta,
    refresh_minutes: int = 0,
) -> tuple[dict[str, dict[str, Any]], SourceReport, bool]:
    """Given an account, its stored documents (the account's and its calendars'), the pass's
    settings and the retry policy, sync it and return its new documents, its report and
    whether it failed or looks suspicious. Never raises for the account's own faults (down,
    refusing the password, sending garbage): they become the report's one-line error and a
    back-off (``listing_refresh_minutes`` is ``[sync] listing_refresh_minutes``)."""
    source = source_name(account)
    report = SourceReport(source=source)
    account_doc: dict[str, Any] = dict(docs.get(source) or {})
    account_doc.update(id=source, kind="account", source=source)
    old_calendars = {k: d for k, d in docs.items() if d.get("kind") == "calendar"}
    out: dict[str, dict[str, Any]] = dict(old_calendars)
    waiting = None if force else backing_off(account_doc, env.now)
    if waiting:
        report.skipped = True
        report.error = f"account {account.name!r}: {waiting}"
        out[source] = account_doc
        return out, report, True
    began = time.perf_counter()
    transport: Transport | None = None
    spent = 0  # requests of a transport closed before the one in use
    failed = False
    try:
        password = password_for(account) if account.username else ""
        refresh = timedelta(minutes=max(0, refresh_minutes))
        known = known_calendars(account, account_doc, old_calendars, env.now, refresh)
        done: dict[str, tuple[dict[str, Any], CalendarReport]] = {}
        if known is not None:
            transport = make_transport(
                account, password, env, account_doc.get("auth") or "basic", sleep
            )
            done = sync_known(transport, known, source, _with_own(env, account_doc), old_calendars)
        if known is not None and len(done) == len(known):
            for key, (doc, calendar_report) in done.items():
                out[key] = doc
                failed = failed or calendar_report.suspicious
                report.calendars.append(calendar_report)
        else:
            if transport is not None:
                spent = transport.requests
                transport.close()
                transport = None
            targets: list[tuple[str, str]] = [
                (t[0], t[1]) for t in account_doc.get("listing") or []
            ]
            if "addresses" not in account_doc:
                targets = []  # stored before the address set was asked for: discover once more
            with_ctag = bool(account_doc.get("ctag"))
            transport, targets, calendars, addresses = _connect(
                account, password, env, account_doc.get("auth"), sleep, targets, with_ctag
            )
            if addresses is not None:
                account_doc["addresses"] = list(addresses)
            listed = _Listed(transport, targets, calendars, with_ctag)
            failed = _sync_listed(
                account, account_doc, listed, env, old_calendars, out, report, done
            )
        assert transport is not None
        account_doc.update(
            auth=transport.auth_type or account_doc.get("auth"),
            failures=0,
            retry_at=None,
            last_error="",
        )
        if any(c.error for c in report.calendars):
            report.error = f"account {account.name!r}: some calendars failed to sync"
    except Exception as exc:  # the account as a whole: discovery, password, connection
        if not isinstance(exc, MendError | SecretError):
            log.exception("sync of account %s failed unexpectedly", account.name)
        failed = True
        report.error = one_line(exc)
        failures = int(account_doc.get("failures") or 0) + 1
        account_doc.update(
            failures=failures,
            retry_at=backoff_until(failures, env.now, max_backoff),
            last_error=report.error,
        )
    finally:
        report.requests = spent
        if transport is not None:
            report.requests += transport.requests
            transport.close()
        report.seconds = round(time.perf_counter() - began, 3)
    out[source] = account_doc
    return out, report, failed


def _with_own(env: SyncEnv, account_doc: Mapping[str, Any]) -> SyncEnv:
    """The calendars are read knowing every address the principal has for the user."""
    own = own_addresses(account_doc.get("addresses") or ())
    return env if own <= env.my_emails else dataclasses.replace(env, my_emails=env.my_emails | own)


@dataclasses.dataclass(slots=True)
class _Listed:
    """An account's open transport and the calendars its listing found."""

    transport: Transport
    targets: list[tuple[str, str]]
    calendars: list[DavCalendar]
    with_ctag: bool


def _sync_listed(
    account: AccountConfig,
    account_doc: dict[str, Any],
    listed: _Listed,
    env: SyncEnv,
    old_calendars: Mapping[str, dict[str, Any]],
    out: dict[str, dict[str, Any]],
    report: SourceReport,
    done: Mapping[str, tuple[dict[str, Any], CalendarReport]],
) -> bool:
    """Sync each listed calendar the config selects (those in ``done``, already synced
    directly this pass, are taken as they are); return whether something failed or looks
    suspicious; raise SourceError if none of the configured calendars is there. Record the
    listing in ``account_doc``."""
    source = source_name(account)
    failed = False
    transport, targets, with_ctag = listed.transport, listed.targets, listed.with_ctag
    env = _with_own(env, account_doc)
    selected = select_calendars(account, listed.calendars)
    if not with_ctag and any(c.token is None for c in selected):
        # No sync-token here: list again with ctags, and ask for them from now on.
        with_ctag = True
        selected = select_calendars(account, list_calendars(transport, targets, with_ctag=True))
    if account.calendars and not selected:
        raise SourceError(
            f"account {account.name!r}: none of the calendars {list(account.calendars)} found",
            hint="run 'mendcrm account test' to see the calendars the server has",
        )
    seen: set[str] = set()
    for calendar in selected:
        key = calendar_key(source, calendar.url)
        seen.add(key)
        if key in done:
            out[key], calendar_report = done[key]
            failed = failed or calendar_report.suspicious
            report.calendars.append(calendar_report)
            continue
        work = CalendarWork(key, source, calendar.url, calendar.name, env, old_calendars.get(key))
        try:
            out[key] = CalendarSync(transport, calendar, work).run()
            failed = failed or work.report.suspicious
        except Exception as exc:  # one calendar failing must not stop the others
            if not isinstance(exc, MendError):
                log.exception("sync of %s failed unexpectedly", calendar.url)
            work.report.error = one_line(exc)
            failed = True
        report.calendars.append(work.report)
    failed = _vanished(source, old_calendars, seen, out, report, env) or failed
    account_doc.update(
        listing=[list(t) for t in targets],
        ctag=with_ctag,
        listed_at=to_iso(env.now),
        selection=selection_of(account),
        selected=sorted(seen),
    )
    return failed


def _connect(
    account: AccountConfig,
    password: str,
    env: SyncEnv,
    auth_type: str | None,
    sleep: Sleep,
    targets: list[tuple[str, str]],
    with_ctag: bool,
) -> tuple[Transport, list[tuple[str, str]], list[DavCalendar], tuple[str, ...] | None]:
    """Open the account and list its calendars (from the stored listing places, else by
    discovery); return the transport, the places, the calendars and, when discovery ran, the
    principal's calendar-user-address-set.

    Credentials go out with the first request: waiting for the server's 401 challenge costs a
    round trip, and Radicale delays every failed login by a second. A server that wants another
    scheme gets one more try with the scheme negotiated from its challenge.
    """
    guessed = auth_type is None and bool(account.username)
    transport = make_transport(account, password, env, auth_type or "basic", sleep)
    try:
        return transport, *_list(transport, account, targets, with_ctag)
    except AuthRejected:
        transport.close()
        if not guessed:
            raise
    transport = make_transport(account, password, env, None, sleep)
    try:
        return transport, *_list(transport, account, targets, with_ctag)
    except BaseException:
        transport.close()
        raise


def _list(
    transport: Transport, account: AccountConfig, targets: list[tuple[str, str]], with_ctag: bool
) -> tuple[list[tuple[str, str]], list[DavCalendar], tuple[str, ...] | None]:
    if targets and not all(transport.may_send_to(url) for url, _ in targets):
        targets = []  # listed for another url than the configured one now: discover afresh
    if targets:
        try:
            return targets, list_calendars(transport, targets, with_ctag=with_ctag), None
        except CollectionGone:
            pass
    found = discover(transport, account.url)
    targets = list(found.targets)
    return targets, list_calendars(transport, targets, with_ctag=with_ctag), found.addresses


def _vanished(
    source: str,
    old_calendars: Mapping[str, dict[str, Any]],
    seen: set[str],
    out: dict[str, dict[str, Any]],
    report: SourceReport,
    env: SyncEnv,
) -> bool:
    """Handle calendars stored before but no longer listed; return True if one looks suspicious.

    A calendar with many objects that disappears is kept for one more pass (the listing may be
    a server glitch); an empty one, or one still missing the second time, is forgotten.
    """
    suspicious = False
    for key, doc in old_calendars.items():
        if key in seen:
            continue
        held = len(doc.get("objects") or {})
        if held >= SUSPICIOUS_MIN_OBJECTS and not doc.get("suspect"):
            out[key] = {**doc, "suspect": to_iso(env.now)}
            gone = CalendarReport(
                source=source, calendar=doc.get("calendar", ""), name=doc.get("name", "")
            )
            gone.suspicious = True
            gone.warnings.append(
                f"{source} ({doc.get('name', '')}): calendar with {held} objects is no longer "
                "listed by the server; keeping it until the next sync confirms it is gone"
            )
            report.calendars.append(gone)
            suspicious = True
        else:
            out.pop(key, None)
    return suspicious


__all__ = ["PasswordFor", "Sleep", "sync_account"]
