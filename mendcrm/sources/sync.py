"""One sync pass over every configured source: the entry point of the *sources* stage.

``sync_sources`` takes the config and the stored ``sync_state`` documents and returns the
occurrences in the window plus the new documents; it never writes anything itself. Each source
is synced on its own: one that fails (down, timing out, refusing the password, sending garbage)
is reported and keeps its last good state, and the others go on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from mendcrm.addresses import own_addresses, user_addresses
from mendcrm.config.model import AccountConfig, Config, FeedConfig
from mendcrm.errors import MendError, SecretError, SourceError
from mendcrm.events.window import sync_window
from mendcrm.events.zones import user_zone
from mendcrm.model import Occurrence, from_iso, to_iso
from mendcrm.sources.caldav_account import CalendarSync, calendar_key, make_transport, source_name
from mendcrm.sources.calendar import SUSPICIOUS_MIN_OBJECTS, CalendarWork, Progress, SyncEnv
from mendcrm.sources.discovery import (
    CollectionGone,
    DavCalendar,
    discover,
    list_calendars,
    select_calendars,
)
from mendcrm.sources.feeds import FeedSync, feed_location, feed_source
from mendcrm.sources.known_calendars import known_calendars, selection_of, sync_known
from mendcrm.sources.results import (
    AccountTestReport,
    CalendarReport,
    SourceReport,
    SyncResult,
)
from mendcrm.sources.state import calendar_occurrences, count_occurrences
from mendcrm.sources.transport import AuthRejected, Transport

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
PasswordFor = Callable[[AccountConfig], str]


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
        out, report, failed = _sync_account(
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


def _backoff(failures: int, now: datetime, cap: timedelta) -> str:
    return to_iso(now + min(timedelta(minutes=2 ** max(0, failures - 1)), cap))


def _backing_off(doc: Mapping[str, Any], now: datetime) -> str | None:
    retry_at = doc.get("retry_at")
    if retry_at and from_iso(retry_at) > now:
        return (
            f"skipped: backing off until {retry_at} after {doc.get('failures', 1)} failed "
            f"sync(s); last error: {doc.get('last_error', '')}"
        )
    return None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, MendError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}: {text[:200]}"


# -- CalDAV accounts --------------------------------------------------------------------------


def _sync_account(
    account: AccountConfig,
    docs: dict[str, dict[str, Any]],
    env: SyncEnv,
    password_for: PasswordFor,
    sleep: Sleep,
    force: bool,
    max_backoff: timedelta,
    refresh_minutes: int = 0,
) -> tuple[dict[str, dict[str, Any]], SourceReport, bool]:
    source = source_name(account)
    report = SourceReport(source=source)
    account_doc: dict[str, Any] = dict(docs.get(source) or {})
    account_doc.update(id=source, kind="account", source=source)
    old_calendars = {k: d for k, d in docs.items() if d.get("kind") == "calendar"}
    out: dict[str, dict[str, Any]] = dict(old_calendars)
    waiting = None if force else _backing_off(account_doc, env.now)
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
        report.error = _one_line(exc)
        failures = int(account_doc.get("failures") or 0) + 1
        account_doc.update(
            failures=failures,
            retry_at=_backoff(failures, env.now, max_backoff),
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
            work.report.error = _one_line(exc)
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
    waiting = None if force or old is None else _backing_off(old, env.now)
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
        work.report.error = report.error = _one_line(exc)
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
            retry_at=_backoff(failures, env.now, max_backoff),
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
