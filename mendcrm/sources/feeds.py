"""Read-only feeds: an https ``.ics`` URL, a local ``.ics`` file, or a vdir folder.

An unchanged feed costs one small request (conditional GET with the stored ETag and
Last-Modified → 304) or one ``stat`` per file. A changed feed is split into its events by UID
at the octet level (nothing is decoded before the reader unfolds it), and only the events
whose octets changed are parsed again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mendcrm.config.model import FeedConfig
from mendcrm.errors import SourceError
from mendcrm.sources.calendar import CalendarWork
from mendcrm.sources.feedsplit import FeedEvent, FeedHeader, line_tzids, split_feed
from mendcrm.sources.request_bounds import response_limit
from mendcrm.sources.transport import Transport

FEED_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Safari/537.36"
)
"""The User-Agent an https feed is fetched with unless its ``user_agent`` key says otherwise.

A browser's, because that is what outlook.office365.com serves published calendars to. Since
mid-2025 it checks the User-Agent per tenant and answers others with a 302 to an HTML error page
(``/owa/auth/errorfe.aspx?httpCode=500…OwaBasicUnsupportedException``, "not supported on this
browser"). Refused in the reports: ``Nextcloud Webcal Service`` and a bare ``Mozilla/5.0``
(nextcloud/server #54799, GAS-ICS-Sync #500), ICSx5's own ``ICSx5/…`` (bitfireAT/icsx5 #655,
which added a per-subscription user agent for it), plugin names such as ``TaskNotes-Plugin/1.0``.
Accepted: current Chrome and Firefox strings (``Mozilla/5.0 (X11) Chrome/139.0.0.0`` was the
minimal one found in #54799; full Chrome and Firefox desktop strings elsewhere). Other feed hosts
serve any client, so one browser-like default costs nothing; CalDAV keeps MendCRM's own name
(:data:`mendcrm.sources.transport.USER_AGENT`)."""

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)


def feed_source(feed: FeedConfig) -> str:
    return f"feed:{feed.name}"


def feed_location(feed: FeedConfig) -> str:
    """Return the feed's URL (webcal:// read as https://) or its path, as the calendar's id."""
    if feed.path is not None:
        return str(Path(feed.path).expanduser())
    url = feed.url.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    return url


def is_web_page(content_type: str, body: bytes) -> bool:
    """Given an answer's Content-Type and body, return True if it is an HTML page (a login or
    error page) rather than a calendar: ``text/html``, or a body opening with a doctype or an
    ``<html>`` tag (a UTF-8 byte order mark skipped) whatever the Content-Type claims."""
    if content_type.split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        return True
    return bool(_HTML_START.match(body[:512].removeprefix(b"\xef\xbb\xbf")))


class FeedSync:
    """Brings one feed's stored events up to date."""

    def __init__(
        self, feed: FeedConfig, work: CalendarWork, sleep: Callable[[float], None]
    ) -> None:
        self.feed = feed
        self.work = work
        self.sleep = sleep
        self.location = feed_location(feed)

    def run(self) -> dict[str, Any]:
        """Sync and return the feed's new state document; raise SourceError if it fails."""
        began = time.perf_counter()
        try:
            if self.feed.path is not None:
                path = Path(self.location)
                if path.is_dir():
                    return self._vdir(path)
                return self._file(path)
            if not self.feed.url:
                raise SourceError(f"feed {self.feed.name!r}: neither url nor path is set")
            return self._url()
        finally:
            self.work.report.seconds = round(time.perf_counter() - began, 3)

    def _validator(self) -> dict[str, Any]:
        return dict((self.work.old or {}).get("validator") or {})

    def _unchanged(self, validator: dict[str, Any]) -> dict[str, Any]:
        self.work.report.method = "unchanged"
        return self.work.document("feed", validator=validator)

    def _url(self) -> dict[str, Any]:
        transport = Transport(
            self.location,
            where=f"feed {self.feed.name!r}",
            timeout=self.work.env.timeout,
            deadline=self.work.env.request_deadline,
            max_response_bytes=response_limit(self.work.env.max_object_bytes),
            sleep=self.sleep,
            user_agent=self.feed.user_agent or FEED_USER_AGENT,
        )
        try:
            validator = self._validator()
            headers: dict[str, str] = {"Accept": "text/calendar"}
            if not self.work.grew and not self.work.first:
                if validator.get("etag"):
                    headers["If-None-Match"] = validator["etag"]
                if validator.get("last_modified"):
                    headers["If-Modified-Since"] = validator["last_modified"]
            response = transport.request(self.location, "GET", "", headers)
            final_url = transport.last_url
        finally:
            self.work.report.requests = transport.requests
            transport.close()
        if response.status == 304:
            return self._unchanged(validator)
        body = response._raw_body or (response._raw if isinstance(response._raw, bytes) else b"")
        if is_web_page(response.headers.get("Content-Type", ""), body):
            raise self._web_page(response.status, final_url)
        if response.status != 200:
            raise SourceError(
                f"feed {self.feed.name!r}: GET {self.location} answered {response.status}",
                hint="check the feed URL; MendCRM retries on the next sync",
            )
        new_validator = {
            "etag": response.headers.get("ETag", ""),
            "last_modified": response.headers.get("Last-Modified", ""),
        }
        self._load_feed(body, self.location)
        return self.work.document("feed", validator=new_validator)

    def _web_page(self, status: int, final_url: str) -> SourceError:
        """The error for a feed that answered with an HTML page: its stored events stay as they
        were (the caller keeps the last good state of a failed source)."""
        where = ""
        if final_url != self.location:
            parts = urlsplit(final_url)
            where = f", after a redirect to {parts.path or '/'}"
        return SourceError(
            f"feed {self.feed.name!r}: {self.location} answered with a web page (HTTP {status}"
            f"{where}), not a calendar; the events from the last good fetch are kept",
            hint="check that the url is the calendar's published .ics link; if that link works "
            'in a browser, the server refuses this client: set user_agent = "…" in this '
            "[[feeds]] entry to your browser's User-Agent",
        )

    def _file(self, path: Path) -> dict[str, Any]:
        try:
            stat = path.stat()
            validator = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
            if not self.work.grew and not self.work.first and validator == self._validator():
                return self._unchanged(validator)
            body = path.read_bytes()
        except OSError as exc:
            raise SourceError(
                f"feed {self.feed.name!r}: cannot read {path} ({exc.strerror or exc})",
                hint="check the path in the [[feeds]] entry",
            ) from exc
        self._load_feed(body, str(path))
        return self.work.document("feed", validator=validator)

    def _load_feed(self, body: bytes, href: str) -> None:
        work = self.work
        # An https feed was already cut off at this limit while it arrived (request_bounds).
        if len(body) > response_limit(work.env.max_object_bytes):
            raise SourceError(f"feed {self.feed.name!r}: {len(body)} bytes is too big to read")
        events = split_feed(body)
        work.report.method = "feed"
        if events is None:
            # Not shaped like a calendar: let the reader say exactly what is wrong with it.
            for href_key in list(work.objects):
                work.remove(href_key)
            work.load(href, "", body, h=href)
            return
        seen = set()
        cutoff = (work.horizon.start - timedelta(days=2)).strftime("%Y%m%d")
        for event in events:
            seen.add(event.key)
            stored = work.objects.get(event.key)
            if stored is not None and stored.get("e") == event.digest:
                continue
            if event.last_day is not None and event.last_day < cutoff:
                work.remove(event.key)
                continue
            work.load(event.key, event.digest, event.data, h=href)
        for key in list(work.objects):
            if key not in seen:
                work.remove(key)

    def _vdir(self, folder: Path) -> dict[str, Any]:
        work = self.work
        work.report.method = "feed"
        try:
            files = {
                p.name: p for p in folder.iterdir() if p.suffix.lower() == ".ics" and p.is_file()
            }
        except OSError as exc:
            raise SourceError(
                f"feed {self.feed.name!r}: cannot list {folder} ({exc.strerror or exc})",
                hint="check the path in the [[feeds]] entry",
            ) from exc
        rescan = work.grew or work.first
        # Files with nothing in the horizon are not stored; re-read one only if it changed since
        # the last scan (a second of slack for coarse file system clocks).
        since = int(self._validator().get("scanned_ns") or 0) - 1_000_000_000
        scanned_ns = time.time_ns()
        for name, path in sorted(files.items()):
            try:
                stat = path.stat()
                etag = f"{stat.st_mtime_ns}-{stat.st_size}"
                stored = work.objects.get(name)
                if not rescan and stored is not None and stored.get("e") == etag:
                    continue
                if not rescan and stored is None and stat.st_mtime_ns < since:
                    continue
                work.load(name, etag, path.read_bytes())
            except OSError as exc:
                work.report.warnings.append(
                    f"{work.source} ({work.name}): {name}: cannot read ({exc.strerror or exc}); "
                    "skipped"
                )
        for name in list(work.objects):
            if name not in files:
                work.remove(name)
        return work.document("feed", validator={"scanned_ns": scanned_ns})


__all__ = [
    "FEED_USER_AGENT",
    "FeedEvent",
    "FeedHeader",
    "FeedSync",
    "feed_location",
    "feed_source",
    "is_web_page",
    "line_tzids",
    "split_feed",
]
