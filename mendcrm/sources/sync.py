"""One sync pass over every configured source: the entry point of the *sources* stage.

``sync_sources`` takes the config and the stored ``sync_state`` documents and returns the
occurrences in the window plus the new documents; it never writes anything itself. Each source
is synced on its own: one that fails (down, timing out, refusing the password, sending garbage)
is reported and keeps its last good state, and the others go on.

A CalDAV account's part of the pass is in :mod:`mendcrm.sources.account_sync`, the back-off
of a failed source in :mod:`mendcrm.sources.backoff`; a feed's part (one fetch) and
``test_account`` (``mendcrm account test``) are here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mendcrm.addresses import own_addresses, user_addresses
from mendcrm.config.model import AccountConfig, Config, FeedConfig
from mendcrm.errors import MendError
from mendcrm.events.window import sync_window
from mendcrm.events.zones import user_zone
from mendcrm.model import Occurrence
from mendcrm.sources.account_sync import PasswordFor, Sleep, sync_account
from mendcrm.sources.backoff import backing_off, backoff_until, one_line
from mendcrm.sources.caldav_account import source_name
from mendcrm.sources.calendar import CalendarWork, Progress, SyncEnv
from mendcrm.sources.discovery import discover, list_calendars, select_calendars
from mendcrm.sources.feeds import FeedSync, feed_location, feed_source
from mendcrm.sources.results import (
    AccountTestReport,
    CalendarReport,
    SourceReport,
    SyncResult,
)
from mendcrm.sources.state import calendar_occurrences, count_occurrences
from mendcrm.sources.transport import AuthRejected, Transport

log = logging.getLogger(__name__)


def make_env(
    config: Config,
    now: datetime,
    progress: Progress | None = None,
    state: Mapping[str, Mapping[str, Any]] | None = None,
) -> SyncEnv:
    """Given the config, the current time and the stored sync_state documents, return the
    settings shared by one sync pass; raise ConfigError if ``[me] timezone`` is unknown.

    The user's addresses are ``[me] emails`` and the calendar-user-address-sets stored for the
    accounts (:func:`mendcrm.addresses.user_addresses`)."""
    lookahead = config.sync.lookahead_days
    return SyncEnv(
        now=now,
        window=sync_window(now, lookahead),
        # The horizon reaches this far past the window, so it moves (and costs a query) rarely.
        margin=timedelta(days=max(7, lookahead // 4)),
        zone=user_zone(config.me.timezone),
        my_emails=user_addresses(config.me.emails, state or {}),
        max_occurrences=config.sync.max_occurrences_per_series,
        max_object_bytes=config.sync.max_object_bytes,
        timeout=config.sync.timeout_seconds,
        progress=progress,
        request_deadline=config.sync.request_deadline_seconds,
    )


def sync_sources(
    config: Config,
    state: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime,
    password_for: PasswordFor,
    progress: Progress | None = None,
    only: set[str] | None = None,
    sleep: Sleep = time.sleep,
    force: bool = False,
) -> SyncResult:
    """Given the config, the stored sync_state documents and the time, sync every source (or the
    ``only`` ones, named ``account:NAME`` / ``feed:NAME``) and return the result.

    A source that failed recently is skipped until its back-off ends, unless ``force``.
    Raise ConfigError only for a config that cannot be used at all (an unknown time zone).
    """
    env = make_env(config, now, progress, state)
    docs = {key: dict(doc) for key, doc in state.items()}
    result = SyncResult()
    new_state: dict[str, dict[str, Any]] = {}
    max_backoff = timedelta(minutes=max(1, config.daemon.max_backoff_minutes))
    for account in config.accounts:
        source = source_name(account)
        mine = _docs_of(docs, source)
        if only is not None and source not in only:
            new_state.update(mine)
            continue
        out, report, failed = sync_account(
            account,
            mine,
            env,
            password_for,
            sleep,
            force,
            max_backoff,
            config.sync.listing_refresh_minutes,
        )
        _collect(result, new_state, out, report, failed)
        # What this principal said the user is counts for the sources read after it too.
        found = own_addresses(out.get(source, {}).get("addresses") or ())
        if not found <= env.my_emails:
            env = dataclasses.replace(env, my_emails=env.my_emails | found)
    for feed in config.feeds:
        source = feed_source(feed)
        mine = _docs_of(docs, source)
        if only is not None and source not in only:
            new_state.update(mine)
            continue
        out, report, failed = _sync_feed(feed, mine, env, sleep, force, max_backoff)
        _collect(result, new_state, out, report, failed)
    if config.programmes:
        from mendcrm.programmes.step import sync_programme

        for programme in config.programmes:
            source = f"programme:{programme.name}"
            mine = _docs_of(docs, source)
            if only is not None and source not in only:
                new_state.update(mine)
                continue
            out, report, failed = sync_programme(
                programme, mine.get(source), env, sleep, force, max_backoff
            )
            _collect(result, new_state, {source: out}, report, failed)
    result.state = new_state
    result.expand_from_state(env.window)
    result.stale_keys = set(state) - set(new_state)
    counts: dict[tuple[str, str], int] = {}
    for doc in new_state.values():
        if doc.get("kind") == "calendar":
            pair = (doc.get("source", ""), doc.get("calendar", ""))
            counts[pair] = counts.get(pair, 0) + count_occurrences(doc, env.window)
    for calendar_report in result.reports:
        calendar_report.occurrences = counts.get(
            (calendar_report.source, calendar_report.calendar), 0
        )
    return result


def stored_occurrences(
    config: Config, state: Mapping[str, Mapping[str, Any]], *, now: datetime
) -> list[Occurrence]:
    """Given the config and the stored sync_state documents, return the occurrences in the window
    as last synced, without any network (for ``mendcrm events`` and checks)."""
    window = sync_window(now, config.sync.lookahead_days)
    known = {source_name(a) for a in config.accounts} | {feed_source(f) for f in config.feeds}
    out = [
        occurrence
        for doc in state.values()
        if doc.get("kind") == "calendar" and doc.get("source") in known
        for occurrence in calendar_occurrences(doc, window)
    ]
    out.sort(key=lambda o: (o.start, o.source, o.uid, o.recurrence_id or ""))
    return out


def _docs_of(docs: Mapping[str, dict[str, Any]], source: str) -> dict[str, dict[str, Any]]:
    return {key: doc for key, doc in docs.items() if doc.get("source") == source or key == source}


def _collect(
    result: SyncResult,
    new_state: dict[str, dict[str, Any]],
    out: dict[str, dict[str, Any]],
    report: SourceReport,
    failed: bool,
) -> None:
    new_state.update(out)
    result.sources.append(report)
    result.reports.extend(report.calendars)
    if report.error and not report.calendars:
        result.reports.append(CalendarReport(source=report.source, calendar="", error=report.error))
    if failed:
        result.failed_sources.add(report.source)


# -- feeds ------------------------------------------------------------------------------------


def _sync_feed(
    feed: FeedConfig,
    docs: dict[str, dict[str, Any]],
    env: SyncEnv,
    sleep: Sleep,
    force: bool,
    max_backoff: timedelta,
) -> tuple[dict[str, dict[str, Any]], SourceReport, bool]:
    source = feed_source(feed)
    report = SourceReport(source=source)
    old = docs.get(source)
    out: dict[str, dict[str, Any]] = dict(docs)
    work = CalendarWork(source, source, feed_location(feed), feed.name, env, old)
    waiting = None if force or old is None else backing_off(old, env.now)
    if waiting:
        report.skipped = True
        report.error = f"feed {feed.name!r}: {waiting}"
        return out, report, True
    began = time.perf_counter()
    failed = False
    try:
        out[source] = FeedSync(feed, work, sleep).run()
        failed = work.report.suspicious
    except Exception as exc:  # one feed failing must not stop the others
        if not isinstance(exc, MendError):
            log.exception("sync of feed %s failed unexpectedly", feed.name)
        failed = True
        work.report.error = report.error = one_line(exc)
        failures = int((old or {}).get("failures") or 0) + 1
        base: dict[str, Any] = (
            dict(old)
            if old
            else {
                "id": source,
                "kind": "calendar",
                "source": source,
                "calendar": work.url,
                "name": feed.name,
                "objects": {},
            }
        )
        base.update(
            failures=failures,
            retry_at=backoff_until(failures, env.now, max_backoff),
            last_error=report.error,
        )
        out[source] = base
    report.calendars.append(work.report)
    report.requests = work.report.requests
    report.seconds = round(time.perf_counter() - began, 3)
    return out, report, failed


# -- mendcrm account test ---------------------------------------------------------------------


def test_account(
    account: AccountConfig,
    password: str,
    *,
    timeout: float = 30.0,
    sleep: Sleep = time.sleep,
) -> AccountTestReport:
    """Given an account and its password, connect, find its calendars and return what was
    found; raise SourceError (one line, with a hint) if the account cannot be used."""
    began = time.perf_counter()
    env_timeout = account.timeout_seconds or timeout

    def connect(auth_type: str | None) -> Transport:
        return Transport(
            account.url,
            where=f"account {account.name!r}",
            username=account.username,
            password=password,
            auth_type=auth_type,
            ca_file=account.ca_file,
            timeout=env_timeout,
            sleep=sleep,
        )

    transport = connect("basic")
    try:
        try:
            found = discover(transport, account.url)
        except AuthRejected:
            transport.close()
            transport = connect(None)
            found = discover(transport, account.url)
        calendars = list_calendars(transport, found.targets, with_ctag=True)
        selected = {c.url for c in select_calendars(account, calendars)}
        infos = tuple(c.info(selected=c.url in selected) for c in calendars)
        return AccountTestReport(
            account=account.name,
            url=account.url,
            principal=found.principal,
            home=", ".join(url for url, _ in found.targets),
            calendars=infos,
            sync_token=any(i.sync_token for i in infos if i.selected),
            requests=transport.requests,
            seconds=round(time.perf_counter() - began, 3),
            addresses=found.addresses,
        )
    finally:
        transport.close()


test_account.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name


__all__ = ["make_env", "stored_occurrences", "sync_sources", "test_account"]
