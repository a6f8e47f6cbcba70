"""CalDAV accounts: the incremental sync of each calendar (discovery and the calendar listing
are in :mod:`mendcrm.sources.discovery`).

How a calendar is brought up to date, cheapest first:

1. The account's calendar listing (one PROPFIND, Depth 1, on the calendar home) carries each
   calendar's DAV:sync-token and CS:getctag. Unchanged → nothing more is asked. A re-sync with
   no change therefore costs one request per account. Within ``[sync] listing_refresh_minutes``
   of the last listing the listing is skipped and step 2 is asked directly, one request per
   calendar (:mod:`mendcrm.sources.known_calendars`).
2. sync-token (RFC 6578): a sync-collection REPORT from the stored token asking for
   calendar-data, so changed objects arrive in the same answer; deletions come with it. The
   caldav library's own call would GET each object and, on any error, silently fall back to a
   full download under a fake token [caldav collection.py, PR #583, issue #461]; here an
   invalid token (403 DAV:valid-sync-token) leads to step 3 instead, deliberately.
3. Otherwise (ctag changed, no sync support, lost token): a calendar-query over the horizon
   asking only for ETags, compared with the stored ones.

Whatever the path, members that come without their data (asked for by ETag, or left out by the
server: LINE WORKS answers a time-range query with hrefs only) go to one loader
(:mod:`mendcrm.sources.member_loader`): calendar-multiget in batches, a failing batch split until
the object that spoils it is alone, that one fetched by GET, skipped with a warning only if
that fails too. An answer with data that cannot be parsed is asked again without data.

The first sync, on most servers, never lists the whole calendar: it takes the current sync-token
from the listing (before asking for anything else, so nothing changed in between is lost) and
asks the server for the objects overlapping the horizon only (time-range filtering), so years
of history are neither downloaded nor parsed. A server whose time-range query costs more than
serving everything (Xandikos, recognised by its token: :mod:`mendcrm.sources.strategy`) is
read instead by one sync-collection listing (token and hrefs in one answer) and large
multigets, every object outside the horizon proven so from its raw text and never parsed.
When the window later passes the horizon's end, only the newly
covered slice is asked for, and stored series are expanded again from their stored text.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin

from mendcrm.config.model import AccountConfig
from mendcrm.errors import SourceError
from mendcrm.events.window import Span
from mendcrm.sources import davxml
from mendcrm.sources.calendar import CalendarWork, SyncEnv
from mendcrm.sources.davxml import Member
from mendcrm.sources.discovery import (
    DavCalendar,
    ServerFailed,
    multistatus,
)
from mendcrm.sources.member_loader import (
    MULTIGET_CHUNK,
    Fetched,
    MemberLoader,
    UnreadableAnswer,
    read_multistatus,
)
from mendcrm.sources.request_bounds import response_limit
from mendcrm.sources.state import horizon_of
from mendcrm.sources.strategy import first_pass
from mendcrm.sources.transport import PreconditionFailed, Transport
from mendcrm.urls import inside_collection

MAX_SYNC_PAGES = 50
"""A truncated sync-collection answer is continued at most this many times in one pass."""


def source_name(account: AccountConfig) -> str:
    return f"account:{account.name}"


def calendar_key(source: str, url: str) -> str:
    """Return the stable id of a calendar's state document."""
    return f"{source}|{davxml.href_path(url)}"


def make_transport(
    account: AccountConfig, password: str, env: SyncEnv, auth_type: str | None, sleep: Any
) -> Transport:
    return Transport(
        account.url,
        where=f"account {account.name!r}",
        username=account.username,
        password=password,
        auth_type=auth_type,
        ca_file=account.ca_file,
        timeout=account.timeout_seconds or env.timeout,
        deadline=env.request_deadline,
        max_response_bytes=response_limit(env.max_object_bytes),
        sleep=sleep,
    )


# -- one calendar -----------------------------------------------------------------------------


class InvalidToken(Exception):
    """The server no longer accepts the stored sync token."""


class CalendarSync:
    """Brings one calendar's stored objects up to date, by the cheapest way the server allows."""

    def __init__(
        self,
        transport: Transport,
        calendar: DavCalendar,
        work: CalendarWork,
        *,
        direct: bool = False,
    ) -> None:
        """``direct``: the calendar was not listed this pass (its token is unknown); the REPORT
        from the stored token is sent at once, and an invalid token raises InvalidToken so the
        pass lists the account's calendars (:mod:`mendcrm.sources.known_calendars`)."""
        self.t = transport
        self.cal = calendar
        self.work = work
        self.direct = direct

    def run(self) -> dict[str, Any]:
        """Sync and return the calendar's new state document; raise SourceError if it fails."""
        old = self.work.old or {}
        began = time.perf_counter()
        before = self.t.requests
        try:
            if self.work.first:
                doc = self._first()
            elif old.get("method") == "sync-token" and old.get("token"):
                doc = self._by_token(str(old["token"]))
            elif (
                old.get("method") == "ctag"
                and self.cal.ctag
                and not self.work.grew
                and self.cal.ctag == old.get("ctag")
            ):
                doc = self._unchanged("ctag")
            else:
                doc = self._by_listing(self._method())
        finally:
            self.work.report.requests = self.t.requests - before
            self.work.report.seconds = round(time.perf_counter() - began, 3)
        return doc

    def _method(self) -> str:
        if self.cal.token is not None or self.cal.sync_report:
            return "sync-token"
        return "ctag" if self.cal.ctag else "time-range"

    def _fresh_token(self) -> str | None:
        # Taken before any object is read, so a change made meanwhile shows up next time.
        if self.cal.token is not None:
            return self.cal.token
        if self.cal.sync_report:
            return self._sync_page("", with_data=False)[2]
        return None

    def _document(self, method: str, token: str | None) -> dict[str, Any]:
        self.work.report.method = self.work.report.method or method
        return self.work.document(method, token=token, ctag=self.cal.ctag)

    def _unchanged(self, method: str) -> dict[str, Any]:
        self.work.report.method = "unchanged"
        old = self.work.old or {}
        return self.work.document(method, token=old.get("token"), ctag=self.cal.ctag)

    def _first(self) -> dict[str, Any]:
        method = self._method()
        how = first_pass(self.cal.token, self.cal.sync_report)
        if how.method == "sync-multiget":
            return self._first_by_listing(how.batch)
        token = self._fresh_token() if method == "sync-token" else None
        found = self._query(self.work.horizon, with_data=True)
        self._load_members(found, in_range=True)
        self.work.report.method = method
        return self._document(method, token)

    def _first_by_listing(self, batch: int) -> dict[str, Any]:
        """List every object and take the token in one sync-collection answer, then fetch them
        all in large multigets; the loader hands each batch to the reader as it arrives, and
        the pre-filter keeps the objects outside the horizon from being parsed."""
        listed, _, token = self._sync_changes("", with_data=False)
        wanted = {m.href: m.etag for m in self._objects(listed)}
        del listed  # its members hold the listing's whole XML tree
        self._fetch(wanted, batch=batch)
        self.work.report.method = "sync-multiget"
        return self._document("sync-token", token)

    def _by_token(self, token: str) -> dict[str, Any]:
        unchanged = self.cal.token is not None and self.cal.token == token
        if unchanged and not self.work.grew:
            return self._unchanged("sync-token")
        if unchanged:
            self._slide()
            self.work.report.method = "sync-token"
            return self._document("sync-token", token)
        try:
            changed, deleted, new_token = self._sync_changes(token)
        except InvalidToken:
            if self.direct:
                raise
            self.work.report.warnings.append(
                f"{self.work.source} ({self.work.name}): the server no longer accepts the stored "
                "sync token; compared ETags over the window instead"
            )
            return self._by_listing("sync-token", fallback=True)
        for href in deleted:
            self.work.remove(href)
        self._load_members(changed)
        if self.work.grew:
            self._slide()
        # Asked directly, an answer with no member is what the listing's unchanged token says.
        quiet = self.direct and not changed and not deleted and not self.work.grew
        self.work.report.method = "unchanged" if quiet else "sync-token"
        return self._document("sync-token", new_token)

    def _by_listing(self, method: str, *, fallback: bool = False) -> dict[str, Any]:
        token = self._fresh_token() if method == "sync-token" else None
        found = self._query(self.work.horizon, with_data=False)
        listed = {m.href: m.etag for m in self._objects(found)}
        for href in list(self.work.objects):
            if href not in listed:
                self.work.remove(href)
        if self.work.grew:
            self.work.reexpand_series()
        self._fetch(
            {
                h: etag
                for h, etag in listed.items()
                if h not in self.work.objects or not etag or self.work.objects[h].get("e") != etag
            }
        )
        self.work.report.method = "time-range" if fallback else method
        return self._document(method, token)

    def _slide(self) -> None:
        previous = horizon_of(self.work.old)
        self.work.reexpand_series()
        start = (
            previous.end
            if previous is not None and previous.end > self.work.horizon.start
            else self.work.horizon.start
        )
        found = self._query(Span(start, self.work.horizon.end), with_data=True)
        fresh = [
            m for m in found if self.work.objects.get(m.href, {}).get("e") != m.etag or not m.etag
        ]
        self._load_members(fresh, in_range=True)

    # -- requests --

    def _query(self, span: Span, *, with_data: bool) -> list[Member]:
        body = davxml.calendar_query(span.start, span.end, with_data)
        try:
            return multistatus(self.t, self.cal.url, "REPORT", body, "1").members
        except UnreadableAnswer:
            if not with_data:
                raise
            # One object holding a character XML cannot carry spoils the whole answer: list
            # hrefs and ETags only; the loader then isolates that object.
            return self._query(span, with_data=False)
        except ServerFailed as exc:
            if exc.status < 500 and exc.status not in (400, 403, 501):
                raise
        # Some servers fail the whole time-range query over one object they cannot parse
        # (Xandikos answers 500); reading everything is slower but still works.
        self.work.report.warnings.append(
            f"{self.work.source} ({self.work.name}): the server could not filter by time; "
            "read every object instead"
        )
        found = multistatus(self.t, self.cal.url, "PROPFIND", davxml.propfind("D:getetag"), "1")
        return self._objects(found.members)

    def _objects(self, members: list[Member]) -> list[Member]:
        """Return the members that are calendar objects of this calendar (not collections, not
        the calendar itself); one that lies outside the calendar is left out with a warning:
        MendCRM reads and writes only inside the collections it found."""
        own = davxml.href_path(self.cal.url).rstrip("/")
        objects = []
        for m in members:
            if m.href.endswith("/") or m.href.rstrip("/") == own or m.status == 404:
                continue
            if not inside_collection(urljoin(self.cal.url, m.written or m.href), self.cal.url):
                self.work.report.warnings.append(
                    f"{self.work.source} ({self.work.name}): the server listed "
                    f"{m.written or m.href!r}, "
                    f"which is outside the calendar {davxml.href_path(self.cal.url)}; ignored "
                    "(MendCRM reads and writes only inside the calendars it found); if this "
                    "repeats, report it to the server's admin"
                )
                continue
            objects.append(m)
        return objects

    def _sync_page(
        self, token: str, *, with_data: bool
    ) -> tuple[list[Member], list[str], str, bool]:
        """One sync-collection REPORT: (changed members, deleted hrefs, new token, truncated)."""
        headers = {"Content-Type": "application/xml; charset=utf-8", "Depth": "1"}
        body = davxml.sync_collection(token, with_data)
        try:
            status, found = read_multistatus(self.t, self.cal.url, "REPORT", body, headers)
        except PreconditionFailed as exc:
            if token:
                raise InvalidToken(str(exc)) from exc
            raise
        except UnreadableAnswer:
            if not with_data:
                raise
            # As in _query: ask for hrefs and ETags only, and fetch the objects one batch at a time.
            return self._sync_page(token, with_data=False)
        if status in (400, 403, 409, 412, 422) and token:
            # RFC 6578 3.2 asks for 403 + DAV:valid-sync-token; some servers answer otherwise.
            raise InvalidToken(f"{status}")
        if found is None:
            raise SourceError(
                f"{self.t.where}: sync-collection REPORT on {self.work.name!r} answered {status}",
                hint="MendCRM retries on the next sync",
            )
        if not found.sync_token:
            raise SourceError(f"{self.t.where}: sync-collection answer carries no sync token")
        changed = [m for m in found.members if m.status != 404 and not m.href.endswith("/")]
        deleted = [m.href for m in found.members if m.status == 404]
        return changed, deleted, found.sync_token, found.truncated

    def _sync_changes(
        self, token: str, *, with_data: bool = True
    ) -> tuple[list[Member], list[str], str]:
        changed: dict[str, Member] = {}
        deleted: list[str] = []
        for _ in range(MAX_SYNC_PAGES):
            page, gone, token, truncated = self._sync_page(token, with_data=with_data)
            for member in page:
                changed[member.href] = member
            for href in gone:
                changed.pop(href, None)
                deleted.append(href)
            if not truncated:
                break
        return list(changed.values()), deleted, token

    def _load_members(self, members: list[Member], *, in_range: bool = False) -> None:
        """Read the members that came with their data; fetch the ones listed without it.
        ``in_range``: a time-range query returned them (see :meth:`CalendarWork.load`)."""
        lacking: dict[str, str] = {}
        for member in self._objects(members):
            data = member.calendar_octets
            if data is None or not data.strip():
                # Listed without the data asked for (LINE WORKS, sync-collection answers that
                # leave it out): not an empty object, so fetch it.
                lacking[member.href] = member.etag
                continue
            self.work.load(member.href, member.etag, data, in_range=in_range)
        self._fetch(lacking)

    def _fetch(self, wanted: dict[str, str], *, batch: int = MULTIGET_CHUNK) -> None:
        """Given hrefs and their listed ETags, fetch and read those objects (the one loader),
        each batch read as it arrives."""
        if not wanted:
            return
        where = f"{self.work.source} ({self.work.name})"

        def read(fetched: Fetched) -> None:
            self.work.load(fetched.href, fetched.etag, fetched.data)

        if batch > MULTIGET_CHUNK:
            # A whole calendar: parse each batch while the server computes the next.
            loader = MemberLoader(self.t, self.cal.url, where, batch=batch)
            loaded = loader.load_overlapped(wanted, read)
        else:
            loaded = MemberLoader(self.t, self.cal.url, where, sink=read).load(wanted)
        for href in loaded.gone:
            self.work.remove(href)
        for href, etag, warning in loaded.skipped:
            self.work.skip(href, etag, warning)


__all__ = ["CalendarSync", "InvalidToken", "calendar_key", "make_transport", "source_name"]
