"""The sync state of one calendar, kept compact because the store rewrites one JSON file per commit.

A calendar's document (one row of the store's ``sync_state`` table)::

    {"id": KEY, "kind": "calendar", "source": "account:work", "calendar": URL, "name": "Work",
     "method": "sync-token" | "ctag" | "time-range" | "feed",
     "token": …, "ctag": …, "validator": {…},     # what tells "unchanged" cheaply
     "horizon": [START, END],                      # epoch seconds: span whose objects are stored
     "objects": {HREF: ENTRY}, "suspect": ISO | None}

Only objects with occurrences inside the horizon are stored. An ENTRY holds the object's ETag
(``e``) and its occurrences over the horizon: the fields they share once per distinct value
(``p``, defaults left out, attendees as short lists) and one row per occurrence (``x``:
payload index, start, length in seconds, recurrence id, 1 meaning "equal to the start"). A
recurring object also keeps its trimmed text, compressed (``r``), so the horizon can move
forward by expanding it again instead of downloading it again.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import operator
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mendcrm.events.window import Span
from mendcrm.model import Attendee, Occurrence, to_iso

Entry = dict[str, Any]

_IDENTITY = frozenset(
    {"source", "calendar", "calendar_name", "href", "etag", "start", "end", "recurrence_id"}
)


def _encoded_defaults(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


_OCCURRENCE_DEFAULTS = _encoded_defaults(Occurrence)
_SHARED = tuple(f.name for f in dataclasses.fields(Occurrence) if f.name not in _IDENTITY)
_shared_values = operator.attrgetter(*_SHARED)
_FIELDS = tuple(f.name for f in dataclasses.fields(Occurrence))
_ATTENDEE_DEFAULTS = _encoded_defaults(Attendee)
STATE_FORMAT = 4
"""Bumped when entries change shape or the reader reads them otherwise; a calendar stored in
another format is read afresh. 2: zone-free identities, THISANDFUTURE ids, degenerate ends;
3: each occurrence carries its component's version (SEQUENCE, DTSTAMP, LAST-MODIFIED); 4: a
series' text packed in base64 (:func:`pack_text`), so that an older MendCRM, which reads
base85 only, reads such a calendar afresh instead of failing on it."""


def _strip(record: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in defaults or defaults[k] != v}


_ATTENDEE_FIELDS = tuple(f.name for f in dataclasses.fields(Attendee))


def _person_record(values: list[Any]) -> dict[str, Any]:
    return dict(zip(_ATTENDEE_FIELDS, values, strict=False))


def _attendee_values(attendee: Attendee) -> list[Any]:
    """Return ``attendee`` as stored: a list in field order, trailing defaults left out
    (attendees are most of a payload)."""
    values: list[Any] = [getattr(attendee, name) for name in _ATTENDEE_FIELDS]
    while values and _ATTENDEE_DEFAULTS.get(_ATTENDEE_FIELDS[len(values) - 1]) == values[-1]:
        values.pop()
    return values


def _payload(occurrence: Occurrence) -> dict[str, Any]:
    """Return the stored form of the fields ``occurrence`` shares with its series: its record
    (:meth:`Occurrence.to_record`) without the identity fields and the defaults, people as short
    lists; built field by field, since a first sync writes one per component."""
    record: dict[str, Any] = {}
    for name, value in zip(_SHARED, _shared_values(occurrence), strict=True):
        if isinstance(value, Attendee):
            value = _attendee_values(value)
        elif isinstance(value, tuple):  # attendees, categories, version
            value = [_attendee_values(v) if isinstance(v, Attendee) else v for v in value]
        elif not isinstance(value, str | bool | int | None):
            value = _encode_field(occurrence, name)
        record[name] = value
    return _strip(record, _OCCURRENCE_DEFAULTS)


def _encode_field(occurrence: Occurrence, name: str) -> Any:
    # A field of a kind the shortcut above does not know: the record's own encoding.
    return occurrence.to_record()[name]


def _unpayload(payload: Mapping[str, Any]) -> dict[str, Any]:
    record = dict(payload)
    if isinstance(record.get("organizer"), list):
        record["organizer"] = _person_record(record["organizer"])
    if record.get("attendees"):
        record["attendees"] = [_person_record(a) for a in record["attendees"]]
    return record


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def from_epoch(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def make_entry(
    etag: str, occurrences: Sequence[Occurrence], raw: str | None = None, **extra: Any
) -> Entry:
    """Given an object's ETag, its occurrences over the horizon and, for a series, its text,
    return the compact entry to store."""
    payloads: list[dict[str, Any]] = []
    index: dict[tuple[Any, ...], int] = {}
    # The reader gives the occurrences of one component the very same field objects: known by
    # their ids first, they need not be hashed (an attendee tuple hashes every attendee). The
    # occurrences hold those objects for the whole call, so no id is reused meanwhile.
    by_ids: dict[tuple[int, ...], int] = {}
    rows: list[list[Any]] = []
    for occurrence in occurrences:
        # Occurrences of one series share everything but their times: encode each variant once.
        key = _shared_values(occurrence)
        ids = tuple(map(id, key))
        found = by_ids.get(ids)
        if found is None:
            found = index.get(key)
            if found is None:
                found = index[key] = len(payloads)
                payloads.append(_payload(occurrence))
            by_ids[ids] = found
        start = epoch(occurrence.start)
        rid: str | int | None = occurrence.recurrence_id
        if rid is not None and rid == to_iso(occurrence.start):
            rid = 1  # the usual case: the occurrence was not moved
        rows.append([found, start, epoch(occurrence.end) - start, rid])
    entry: Entry = {"e": etag, "p": payloads, "x": rows, **extra}
    if raw is not None:
        entry["r"] = pack_text(raw)
    return entry


def entry_occurrences(
    entry: Mapping[str, Any],
    *,
    href: str,
    source: str,
    calendar: str,
    calendar_name: str,
    span: Span | None = None,
) -> list[Occurrence]:
    """Given a stored entry, return its occurrences (those overlapping ``span``, if given)."""
    payloads = entry.get("p") or []
    templates: dict[int, dict[str, Any]] = {}
    out: list[Occurrence] = []
    for pidx, start_s, length, rid in entry.get("x") or []:
        start, end = from_epoch(start_s), from_epoch(start_s + length)
        if rid == 1:
            rid = to_iso(start)
        if span is not None and not span.overlaps(start, end):
            continue
        template = templates.get(pidx)
        if template is None:
            record = _unpayload(payloads[pidx])
            record.update(
                source=source,
                calendar=calendar,
                calendar_name=calendar_name,
                href=entry.get("h", href),
                etag=entry.get("e", ""),
                start=start,
                end=end,
            )
            made = Occurrence.from_record(record)
            # Its fields by name: each occurrence is built from them (cheaper than replace).
            template = templates[pidx] = {name: getattr(made, name) for name in _FIELDS}
        out.append(Occurrence(**{**template, "start": start, "end": end, "recurrence_id": rid}))
    return out


def prune_entry(entry: Entry, horizon: Span) -> Entry | None:
    """Given an entry and the new horizon, drop occurrences that ended before it starts; return
    None when nothing of a non-recurring object is left."""
    start = epoch(horizon.start)
    rows = [row for row in entry.get("x") or [] if row[1] + row[2] > start or row[1] >= start]
    if len(rows) == len(entry.get("x") or []):
        return entry
    if not rows and "r" not in entry:
        return None
    used = sorted({row[0] for row in rows})
    remap = {old: new for new, old in enumerate(used)}
    return {
        **entry,
        "p": [entry["p"][i] for i in used],
        "x": [[remap[r[0]], r[1], r[2], r[3]] for r in rows],
    }


_BASE64 = ":"
"""Leads a packed text in base64; a text without it is in base85, as stores before 2026-11
hold them. The colon is outside base85's alphabet (RFC 1924 §4), so the two never mix up."""


def pack_text(text: str) -> str:
    """Return ``text`` compressed into a JSON-safe string."""
    # Base64, not base85: the standard library encodes base85 in Python, base64 in C (a first
    # pass packs every recurring object: 20 ms of 2 s), for 7 % more bytes.
    return _BASE64 + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def unpack_text(packed: str) -> str:
    """Given what :func:`pack_text` returned (now or in an older store), return the text."""
    if packed.startswith(_BASE64):
        return zlib.decompress(base64.b64decode(packed[1:], validate=True)).decode("utf-8")
    return zlib.decompress(base64.b85decode(packed)).decode("utf-8")


def calendar_occurrences(
    doc: Mapping[str, Any],
    span: Span,
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
) -> list[Occurrence]:
    """Given a calendar's state document, return its stored occurrences overlapping ``span``
    (of the entries ``keep`` accepts, if given)."""
    out: list[Occurrence] = []
    for href, entry in (doc.get("objects") or {}).items():
        if keep is not None and not keep(entry):
            continue
        out.extend(
            entry_occurrences(
                entry,
                href=href,
                source=doc.get("source", ""),
                calendar=doc.get("calendar", ""),
                calendar_name=doc.get("name", ""),
                span=span,
            )
        )
    return out


def count_occurrences(doc: Mapping[str, Any], span: Span) -> int:
    """Given a calendar's state document, return how many of its stored occurrences overlap
    ``span`` (what :func:`calendar_occurrences` would return, without building them)."""
    start, end = span.start.timestamp(), span.end.timestamp()
    count = 0
    for entry in (doc.get("objects") or {}).values():
        for _, begins, length, _ in entry.get("x") or ():
            if length <= 0:
                count += start <= begins < end
            else:
                count += begins < end and begins + length > start
    return count


def horizon_of(doc: Mapping[str, Any] | None) -> Span | None:
    """Return the span a calendar's stored objects cover, or None if it has none yet."""
    if not doc or not doc.get("horizon"):
        return None
    start, end = doc["horizon"]
    return Span(from_epoch(start), from_epoch(end))


def state_size(docs: Iterable[Mapping[str, Any]]) -> int:
    """Return how many bytes the documents take as compact JSON (what the store writes)."""
    return sum(len(json.dumps(doc, separators=(",", ":"))) for doc in docs)


__all__ = [
    "STATE_FORMAT",
    "Entry",
    "calendar_occurrences",
    "count_occurrences",
    "entry_occurrences",
    "epoch",
    "from_epoch",
    "horizon_of",
    "make_entry",
    "pack_text",
    "prune_entry",
    "state_size",
    "unpack_text",
]
