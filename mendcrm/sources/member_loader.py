"""Fetching calendar objects a server listed without their data: the one loader every sync path
uses (the first sync, the sliding window, sync-collection and ETag comparisons alike).

A server may list members by href (and ETag) only where data was asked for: LINE WORKS answers a
time-range calendar-query with an href and an empty 200 propstat per object; sync-collection and
ETag listings carry no data by design. Those members are fetched by calendar-multiget
(RFC 4791 §7.9) in batches. One object holding a character XML cannot carry (U+0001, U+FFFE:
XML 1.0 §2.2) makes the server's whole multistatus unparsable, so a batch that fails is split in
halves until the bad object is alone, and that one is fetched by a plain GET, whose body is
iCalendar, not XML. Only if that fails too is it skipped, with one warning naming its href.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin

from lxml import etree

from mendcrm.errors import SourceError
from mendcrm.sources import davxml
from mendcrm.sources.davxml import Multistatus, NotMultistatus
from mendcrm.sources.transport import RETRY_STATUSES, Transport
from mendcrm.urls import inside_collection

MULTIGET_CHUNK = 100
"""Hrefs per calendar-multiget: servers cap bigger ones silently [vdirsyncer #988]."""

_NO_MULTIGET = frozenset({405, 501})
"""Answers meaning the server has no calendar-multiget at all: GET every object instead."""

_GONE = frozenset({404, 410})


class _Stopped(Exception):
    """Raised in the loader's worker when the reading side has given up."""


class UnreadableAnswer(SourceError):
    """A 207 answer that is not well-formed multistatus XML."""


def read_multistatus(
    transport: Transport, url: str, method: str, body: str, headers: dict[str, str]
) -> tuple[int, Multistatus | None]:
    """Given a request, send it and return (status, parsed multistatus or None if not 207);
    raise UnreadableAnswer if a 207 answer cannot be parsed (e.g. an object in it holds a
    character XML 1.0 §2.2 does not allow), SourceError if the server cannot be reached."""
    try:
        response = transport.request(url, method, body, headers)
    except etree.XMLSyntaxError as exc:
        # The caldav library parses an XML-typed answer at once and raises on a malformed one.
        raise UnreadableAnswer(
            f"{transport.where}: the {method} answer from {davxml.href_path(url)} is not "
            f"well-formed XML ({exc})",
            hint="an object on the server likely holds a character XML cannot carry",
        ) from exc
    if response.status != 207:
        return response.status, None
    try:
        return 207, davxml.parse_multistatus(response.tree)
    except NotMultistatus as exc:
        raise UnreadableAnswer(
            f"{transport.where}: {method} {davxml.href_path(url)} returned something other "
            f"than WebDAV XML ({exc})",
            hint="check that the url points at a CalDAV server",
        ) from exc


@dataclass(frozen=True, slots=True)
class Fetched:
    """One object's octets as fetched: a multiget's calendar-data encoded back to UTF-8
    (lossless, see :attr:`davxml.Member.calendar_octets`), or a GET body as received."""

    href: str
    etag: str
    data: bytes


@dataclass(slots=True)
class Loaded:
    """What the loader found: objects read, hrefs gone (404/410), and hrefs skipped, each with
    its ETag as listed and its one warning line."""

    objects: list[Fetched] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


def _key(href: str) -> str:
    # Servers answer with the href percent-encoded their own way (%40 or @) or made absolute.
    return unquote(davxml.href_path(href))


class MemberLoader:
    """Fetches listed members of one calendar collection, isolating the ones that spoil a batch."""

    def __init__(
        self,
        transport: Transport,
        calendar_url: str,
        where: str,
        *,
        batch: int = MULTIGET_CHUNK,
        sink: Callable[[Fetched], None] | None = None,
    ) -> None:
        self.t = transport
        self.url = calendar_url
        self.where = where
        self.multiget_works = True
        self.batch = max(1, batch)
        self.largest = 0
        """The largest object fetched so far, in octets: it bounds how large batches grow."""
        self.sink = sink
        """Called with each object as its batch arrives (then not kept in :class:`Loaded`), so
        a large listing is read batch by batch instead of held whole."""

    def load(self, wanted: Mapping[str, str]) -> Loaded:
        """Given hrefs mapped to their listed ETags ("" if none), fetch each object's data and
        return what was found; raise SourceError only if the server cannot be reached at all."""
        out = Loaded()
        hrefs = []
        for href in wanted:
            if inside_collection(urljoin(self.url, href), self.url):
                hrefs.append(href)
            else:  # never fetched: the credentials would go with it to wherever it points
                warning = (
                    f"{self.where}: object {href} lies outside the calendar {self.url}; not "
                    "read (MendCRM reads only inside the calendars it found); ask the server's "
                    "admin"
                )
                out.skipped.append((href, wanted[href], warning))
        start = 0
        while start < len(hrefs):
            size = self._next_size()
            self._batch(hrefs[start : start + size], wanted, out)
            start += size
        return out

    def _next_size(self) -> int:
        """Return how many hrefs the next multiget asks for: the usual hundred first (one
        answer's size cap, :func:`request_bounds.response_limit`, has room for a hundred of
        the largest objects allowed), then up to ``batch`` while a quarter of the cap still
        holds that many of the largest object seen so far."""
        if self.batch <= MULTIGET_CHUNK or not self.largest:
            return min(self.batch, MULTIGET_CHUNK)
        room = self.t.max_response_bytes // (4 * self.largest)
        return max(MULTIGET_CHUNK, min(self.batch, room))

    def load_overlapped(self, wanted: Mapping[str, str], read: Callable[[Fetched], None]) -> Loaded:
        """Given hrefs mapped to their listed ETags and what to do with each object, fetch them
        in a worker thread and hand each object to ``read`` in the calling thread as it
        arrives; return what :meth:`load` returns (its objects handed over, not kept); raise
        what either side raised.

        The requests stay one at a time and in order, in the worker; the calling thread parses
        batch N while the server computes batch N + 1, so the server's time hides the
        client's. Used for whole-calendar listings, where both are large."""
        handoff: queue.Queue[Fetched | None] = queue.Queue(maxsize=2 * self.batch)
        stop = threading.Event()
        outcome: list[Loaded | BaseException] = []

        def hand_over(fetched: Fetched) -> None:
            if stop.is_set():
                raise _Stopped
            handoff.put(fetched)

        def work() -> None:
            try:
                outcome.append(self.load(wanted))
            except BaseException as exc:  # handed to the calling thread, raised there
                outcome.append(exc)
            finally:
                handoff.put(None)

        self.sink = hand_over
        worker = threading.Thread(target=work, name="mendcrm-multiget", daemon=True)
        worker.start()
        try:
            while (fetched := handoff.get()) is not None:
                read(fetched)
        except BaseException:
            stop.set()  # the worker stops at its next object; drain so it is never blocked
            while handoff.get() is not None:
                pass
            raise
        finally:
            worker.join()
            self.sink = None
        result = outcome[0]
        if isinstance(result, _Stopped) or not isinstance(result, Loaded):
            raise result
        return result

    def _found(self, fetched: Fetched, out: Loaded) -> None:
        self.largest = max(self.largest, len(fetched.data))
        if self.sink is not None:
            self.sink(fetched)
        else:
            out.objects.append(fetched)

    def _batch(self, hrefs: list[str], wanted: Mapping[str, str], out: Loaded) -> None:
        if not self.multiget_works:
            for href in hrefs:
                self._get(href, wanted[href], out, "the server has no calendar-multiget")
            return
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        why = ""
        try:
            status, found = read_multistatus(
                self.t, self.url, "REPORT", davxml.multiget(hrefs), headers
            )
        except UnreadableAnswer:
            status, found, why = 207, None, "the server's multiget answer for it is not valid XML"
        if status in RETRY_STATUSES:
            # Busy or down, not one bad object: splitting would only multiply the requests.
            raise self._unavailable(status)
        if status in _NO_MULTIGET:
            self.multiget_works = False
            self._batch(hrefs, wanted, out)
            return
        if found is None:
            why = why or f"the server answered {status} to a multiget holding it"
            if len(hrefs) == 1:
                self._get(hrefs[0], wanted[hrefs[0]], out, why)
                return
            # Halve until the object that spoils the answer is alone; its siblings read fine.
            middle = len(hrefs) // 2
            self._batch(hrefs[:middle], wanted, out)
            self._batch(hrefs[middle:], wanted, out)
            return
        by_key = {_key(m.href): m for m in found.members}
        missing: list[str] = []
        for href in hrefs:
            member = by_key.get(_key(href))
            data = member.calendar_octets if member is not None else None
            if member is not None and member.status in _GONE:
                out.gone.append(href)
            elif member is None or data is None or not data.strip():
                missing.append(href)
            else:
                self._found(Fetched(href, member.etag or wanted[href], data), out)
        if not missing:
            return
        if len(missing) < len(hrefs):
            # A server that caps a multiget silently answers part of it: ask again for the rest.
            self._batch(missing, wanted, out)
            return
        for href in missing:
            self._get(href, wanted[href], out, "the server's multiget answer left it out")

    def _get(self, href: str, etag: str, out: Loaded, why: str) -> None:
        try:
            response = self.t.request(urljoin(self.url, href), "GET")
        except etree.XMLSyntaxError:
            # Labelled as XML yet not XML: not a calendar object either.
            out.skipped.append((href, etag, self._warning(href, why, "GET gave no iCalendar")))
            return
        if response.status in _GONE:
            out.gone.append(href)
            return
        if response.status in RETRY_STATUSES:
            raise self._unavailable(response.status)
        # The body's own bytes (the library keeps them for non-XML answers; ``raw`` has its
        # line ends rewritten), so a reader unfolding octets gets exactly what the server sent.
        body = getattr(response, "_raw_body", b"") or (response.raw or "").encode("utf-8")
        if response.status != 200 or b"BEGIN:VCALENDAR" not in body.upper():
            what = f"GET answered {response.status}" + (
                "" if response.status != 200 else " without iCalendar data"
            )
            out.skipped.append((href, etag, self._warning(href, why, what)))
            return
        self._found(Fetched(href, response.headers.get("ETag") or etag, body), out)

    def _unavailable(self, status: int) -> SourceError:
        return SourceError(
            f"{self.where}: the server answered {status} while objects were fetched",
            hint="MendCRM retries on the next sync",
        )

    def _warning(self, href: str, why: str, what: str) -> str:
        return (
            f"{self.where}: object {href} could not be read ({why}; {what}); skipped until it "
            "changes; open and save it again in your calendar app, or ask the server's admin"
        )


__all__ = [
    "MULTIGET_CHUNK",
    "Fetched",
    "Loaded",
    "MemberLoader",
    "UnreadableAnswer",
    "read_multistatus",
]
