"""The bounds every HTTP exchange with a server is held to, whatever the server does.

- **Time**: a total deadline per request (``[sync] request_deadline_seconds``), on top of the
  idle timeout per read (``timeout_seconds``), which a server sending one byte every few seconds
  never trips. The exchange runs in a worker thread and the caller waits for it with the
  deadline, so a drip anywhere (status line, headers or body) cannot hold the caller longer.
- **Stop**: the daemon's SIGTERM handler calls :func:`stop_requests`; a caller waiting on an
  exchange notices within :data:`POLL_SECONDS` and raises :class:`Stopped`, even mid-request.
- **Size**: the body is streamed and counted in *decoded* bytes as they arrive (after
  Content-Encoding, so a few kilobytes of gzip that inflate to gigabytes stop at the limit),
  with or without Content-Length (chunked); it is never read whole first.
- **XML**: an answer whose prolog declares a DTD is refused before any XML parser sees it:
  entities (billion laughs, external entities reading files or URLs) need one, and no
  WebDAV/CalDAV answer has one (RFC 4918 §20.6 asks to reject such documents early). The
  caldav library then parses what is left with lxml's ``resolve_entities=False`` and
  ``no_network=True`` (``load_dtd`` stays False), so nothing is expanded or fetched either way.

A worker that was given up on is abandoned (a daemon thread): its body loop stops at its next
chunk, and its socket is closed with the transport; a server still dripping its *headers* holds
only that thread until the idle timeout or until it stops sending.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mendcrm.errors import SourceError

T = TypeVar("T")

DEFAULT_DEADLINE_SECONDS = 300.0
"""``[sync] request_deadline_seconds``: a large first REPORT of a big calendar is legitimate."""

POLL_SECONDS = 0.2
"""How often a caller waiting on an exchange looks at the stop flag."""

CHUNK_BYTES = 64 * 1024
"""Decoded bytes asked of the HTTP library per read: the most one read can add past the limit
(urllib3 inflates at most this much per read, holding the rest compressed)."""

_UTF16 = (
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"<\0?\0", "utf-16-le"),
    (b"\0<\0?", "utf-16-be"),
)

_stop = threading.Event()
_exchange = threading.local()


class Stopped(BaseException):
    """Raised in a request's caller when the process was asked to stop (SIGTERM) mid-request.

    A BaseException like the daemon's StopNow: no ``except Exception`` on the way up may turn it
    into a source failure; the store discards the open transaction.
    """


def stop_requests() -> None:
    """Ask every request in flight, and every later one, to end at once (signal-handler safe)."""
    _stop.set()


def allow_requests() -> None:
    """Undo :func:`stop_requests` (a daemon starting, or a test after one)."""
    _stop.clear()


def stopping() -> bool:
    return _stop.is_set()


def response_limit(max_object_bytes: int) -> int:
    """Given ``[sync] max_object_bytes``, return the most decoded bytes one answer may have:
    room for a hundred objects that size (a calendar-multiget asks for 100), at least 64 MiB."""
    return max(max_object_bytes * 100, 64 * 1024 * 1024)


def run_within(call: Callable[[], T], until: float, expired: Callable[[], BaseException]) -> T:
    """Given an exchange, a ``time.monotonic()`` deadline and the error for missing it, run the
    exchange in a worker thread and return its result (or raise what it raised); raise
    ``expired()`` at the deadline and :class:`Stopped` once :func:`stop_requests` was called."""
    done = threading.Event()
    cancel = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        _exchange.cancel = cancel
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller, who re-raises it
            box["error"] = exc
        finally:
            done.set()

    if _stop.is_set():
        raise Stopped()
    if time.monotonic() >= until:
        raise expired()
    worker = threading.Thread(target=work, name="mendcrm-request", daemon=True)
    worker.start()
    while not done.wait(max(0.0, min(POLL_SECONDS, until - time.monotonic()))):
        if _stop.is_set():
            cancel.set()
            raise Stopped()
        if time.monotonic() >= until:
            cancel.set()
            raise expired()
    if "error" in box:
        raise box["error"]
    return box["value"]


class Abandoned(Exception):
    """Raised in a worker whose caller has already given up on it; nobody reads it."""


def read_body(response: Any, *, limit: int, where: str, host: str) -> bytes:
    """Given a streamed requests/niquests response, read its body counting decoded bytes and
    return it; raise SourceError past ``limit`` bytes or for a DTD in an XML prolog.

    The body is kept where the library keeps a body it read itself, so ``response.content``
    (which the caldav library reads) returns it.
    """
    cancel: threading.Event | None = getattr(_exchange, "cancel", None)
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        if cancel is not None and cancel.is_set():
            response.close()
            raise Abandoned()
        total += len(chunk)
        if total > limit:
            response.close()
            raise SourceError(
                f"{where}: {host} sent an answer of more than {limit} bytes (counted after "
                "decompression); MendCRM stopped reading it",
                hint="check the server; if the calendar is really that large, raise [sync] "
                "max_object_bytes (the limit is 100 times it)",
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    if declares_dtd(body):
        raise SourceError(
            f"{where}: {host} answered with XML that declares a DTD (entities); refused unread",
            hint="no CalDAV server needs one: check that the url points at your real server",
        )
    # requests and niquests keep a body they read in ``_content``; ``content`` returns it.
    response._content = body
    return body


def declares_dtd(body: bytes) -> bool:
    """Given an answer's octets, return True if its XML prolog (XML 1.0 §2.8: after the XML
    declaration, comments and processing instructions) holds a document type declaration that
    could declare entities: any but a bare ``<!DOCTYPE html …>``, which an HTML error page
    carries and which has no internal subset. UTF-16 (XML 1.0 §4.3.3, with or without its byte
    order mark, as libxml2 detects it) is read as such first."""
    for mark, codec in _UTF16:
        if body.startswith(mark):
            return declares_dtd(body.decode(codec, errors="replace").encode("utf-8"))
    at = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    size = len(body)
    while at < size:
        while at < size and body[at] in b" \t\r\n":
            at += 1
        if body.startswith(b"<?", at):
            end = body.find(b"?>", at)
        elif body.startswith(b"<!--", at):
            end = body.find(b"-->", at)
        else:
            break
        if end < 0:
            return False
        at = end + 2
    if not body.startswith(b"<!DOCTYPE", at):
        return False
    declaration = body[at : body.find(b">", at) + 1 or at + 512]
    words = declaration[9:].split()
    is_html = bool(words) and words[0].rstrip(b">").lower() == b"html"
    return not is_html or b"[" in declaration


__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_DEADLINE_SECONDS",
    "Abandoned",
    "Stopped",
    "allow_requests",
    "declares_dtd",
    "read_body",
    "response_limit",
    "run_within",
    "stop_requests",
    "stopping",
]
