"""Fetching a programme: one conditional GET through the one transport, or one file read.

An unchanged programme costs one request answered 304 (``If-None-Match`` with the stored ETag,
``If-Modified-Since`` with the stored Last-Modified; RFC 9110 §13.1.1–2) or one ``stat``, and is
not parsed again: its stored record stands. A changed one is read whole (not cut to the sync
window: a heads-up months ahead is the point). A fetch that fails raises SourceError; the caller
keeps the last good copy. The daemon spaces fetches by ``refresh_hours``; a manual sync always
asks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mendcrm.config.model import ProgrammeConfig
from mendcrm.errors import SourceError
from mendcrm.model import from_iso, to_iso
from mendcrm.programmes.formats import read_programme
from mendcrm.programmes.model import Programme
from mendcrm.sources.feeds import is_web_page
from mendcrm.sources.transport import Transport

MAX_PROGRAMME_BYTES = 64 * 1024 * 1024
"""The largest programme read: a big conference's full JSON export is a few megabytes."""

ACCEPT = "application/json, application/xml;q=0.9, text/calendar;q=0.8, */*;q=0.1"


def programme_source(programme: ProgrammeConfig) -> str:
    """Given a programme's config, return its source name, ``programme:NAME``."""
    return f"programme:{programme.name}"


def programme_location(programme: ProgrammeConfig) -> str:
    """Return the programme's URL or its expanded path."""
    if programme.path is not None:
        return str(Path(programme.path).expanduser())
    return programme.url.strip()


@dataclass(slots=True)
class Fetched:
    """What one fetch did: the new state document, and how."""

    document: dict[str, Any]
    method: str
    """``unchanged`` (304 or same file), ``read`` (parsed anew) or ``waiting`` (the daemon's
    ``refresh_hours`` have not passed)."""
    requests: int = 0


def stored_programme(doc: dict[str, Any] | None) -> Programme | None:
    """Given a programme's state document, return its last good programme, or None."""
    record = (doc or {}).get("programme")
    return Programme.from_record(record) if record else None


def fetch_programme(
    programme: ProgrammeConfig,
    old: dict[str, Any] | None,
    *,
    now: datetime,
    timeout: float,
    force: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Given a programme's config and its stored state document (or None), bring it up to date
    and return the new document; raise SourceError (naming the programme) if it cannot be
    fetched or read, leaving ``old`` as the last good copy for the caller to keep.

    Without ``force`` (the daemon), a programme fetched less than ``refresh_hours`` ago is not
    asked again.
    """
    source = programme_source(programme)
    where = f"programme {programme.name!r}"
    previous = dict(old or {})
    fetched_at = previous.get("fetched_at")
    if (
        not force
        and fetched_at
        and previous.get("programme")
        and from_iso(fetched_at) + timedelta(hours=programme.refresh_hours) > now
    ):
        return Fetched(previous, "waiting")
    location = programme_location(programme)
    validator = dict(previous.get("validator") or {})
    if not previous.get("programme"):
        validator = {}  # nothing good stored: ask for the whole document
    requests = 0
    body: bytes | None
    if programme.path is not None:
        body, new_validator = _read_file(Path(location), where)
        if new_validator == validator:
            body = None
    else:
        body, new_validator, requests = _get(location, validator, where, timeout, sleep)
    base = {"id": source, "kind": "programme", "source": source, "location": location}
    if body is None:
        previous.update(base, fetched_at=to_iso(now), failures=0, retry_at=None, last_error="")
        return Fetched(previous, "unchanged", requests)
    if len(body) > MAX_PROGRAMME_BYTES:
        raise SourceError(f"{where}: {len(body)} bytes is too big to read as a programme")
    parsed = read_programme(
        body,
        programme.format,
        where=where,
        title=programme.name,
        zone=programme.timezone,
    )
    document = {
        **base,
        "validator": new_validator,
        "digest": hashlib.sha256(body).hexdigest()[:24],
        "fetched_at": to_iso(now),
        "programme": parsed.to_record(),
        "failures": 0,
        "retry_at": None,
        "last_error": "",
    }
    return Fetched(document, "read", requests)


def _read_file(path: Path, where: str) -> tuple[bytes, dict[str, Any]]:
    try:
        stat = path.stat()
        return path.read_bytes(), {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
    except OSError as exc:
        raise SourceError(
            f"{where}: cannot read {path} ({exc.strerror or exc})",
            hint="check the path in the [[programmes]] entry",
        ) from exc


def _get(
    url: str,
    validator: dict[str, Any],
    where: str,
    timeout: float,
    sleep: Callable[[float], None],
) -> tuple[bytes | None, dict[str, Any], int]:
    """GET ``url`` conditionally; return (body or None when 304, the new validator, requests)."""
    transport = Transport(url, where=where, timeout=timeout, sleep=sleep)
    try:
        headers = {"Accept": ACCEPT}
        if validator.get("etag"):
            headers["If-None-Match"] = validator["etag"]
        if validator.get("last_modified"):
            headers["If-Modified-Since"] = validator["last_modified"]
        response = transport.request(url, "GET", "", headers)
    finally:
        requests = transport.requests
        transport.close()
    if response.status == 304:
        return None, validator, requests
    body = response._raw_body or (response._raw if isinstance(response._raw, bytes) else b"")
    if response.status != 200:
        raise SourceError(
            f"{where}: GET {url} answered {response.status}; the last good copy is kept",
            hint="check the programme's url; MendCRM tries again on the next sync",
        )
    if is_web_page(response.headers.get("Content-Type", ""), body):
        raise SourceError(
            f"{where}: {url} answered with a web page, not a schedule export; the last good "
            "copy is kept",
            hint="use the schedule's export link (e.g. …/schedule/export/schedule.json)",
        )
    new_validator = {
        "etag": response.headers.get("ETag", ""),
        "last_modified": response.headers.get("Last-Modified", ""),
    }
    return body, new_validator, requests


__all__ = [
    "Fetched",
    "fetch_programme",
    "programme_location",
    "programme_source",
    "stored_programme",
]
