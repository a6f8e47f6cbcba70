"""Inline annotations: MendCRM's block inside the user's own event, where that is safe.

Safe means nobody else can be told about it. RFC 6638 makes an event with an ORGANIZER a
scheduling object: a change to the organiser's copy is sent to the attendees by the server, and
an attendee's change can reach the organiser. So inline is used only for an event with no
attendee besides the user and no organiser but the user, and not for a recurring series (one
DESCRIPTION is shared by every occurrence). Everything else goes to the dedicated calendar. The
rule is checked twice: on the synced occurrence, and again on the text just read before writing.

Each write carries ``If-Match`` with the ETag just read; a 412 means someone edited the event
meanwhile, so it is read again and the block re-applied on top of their edit, a few times at
most. SEQUENCE is not touched: the annotation is not a change of the meeting.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import icalendar

from mendcrm.addresses import address_key, is_mine, own_addresses
from mendcrm.annotations import dav
from mendcrm.annotations.contentlines import NotEditable, set_annotation
from mendcrm.annotations.markers import block_of
from mendcrm.events.octets import decode_calendar
from mendcrm.model import Occurrence
from mendcrm.sources.transport import Transport
from mendcrm.urls import inside_collection

ATTEMPTS = 4
"""How many times a write is tried when the event keeps changing under it (412)."""

BeforeWrite = Callable[[str], None]
"""Called with the object's URL between reading it and writing it back (tests use it to race)."""


def occurrence_refusal(occurrence: Occurrence, me: Collection[str]) -> str | None:
    """Given a synced occurrence and the user's addresses (or identities, see
    :mod:`mendcrm.addresses`), return why it must not carry an inline block (None if it may)."""
    mine = own_addresses(me)
    organizer = occurrence.organizer
    if organizer is not None and address_key(organizer.email) not in mine:
        return "an invitation from another organizer"
    if any(address_key(a.email) not in mine for a in occurrence.attendees):
        return "it has attendees besides you"
    if occurrence.recurrence_id is not None:
        return "it is one occurrence of a recurring event"
    return None


def text_refusal(data: bytes, me: Collection[str]) -> str | None:
    """Given the event's octets as read just now, return why it must not be written (or None)."""
    try:
        # Unfolded before decoding, as the reader does (RFC 5545 3.1).
        calendar = icalendar.Calendar.from_ical(decode_calendar(data).text)
    except ValueError:
        return "the server's copy could not be read"
    events = list(calendar.walk("VEVENT"))
    if len(events) != 1:
        return "it is a recurring event with exceptions"
    event = events[0]
    if any(event.get(name) is not None for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
        return "it is a recurring event"
    mine = own_addresses(me)
    # Who each entry is, by the one reading every stage shares (EMAIL parameter, mailto: forms).
    organizers = event.get("ORGANIZER")
    organizer = organizers[0] if isinstance(organizers, list) and organizers else organizers
    if organizer is not None and not is_mine(str(organizer), _params(organizer), mine):
        return "an invitation from another organizer"
    attendees = event.get("ATTENDEE")
    listed = attendees if isinstance(attendees, list) else [attendees]
    listed = [a for a in listed if a is not None]
    if any(not is_mine(str(a), _params(a), mine) for a in listed):
        return "it has attendees besides you"
    return None


def _params(value: Any) -> dict[str, Any]:
    return dict(getattr(value, "params", None) or {})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one event: ``written``, ``unchanged``, ``gone`` (404), ``refused``
    (not safe to write; ``reason`` says why) or ``busy`` (kept changing)."""

    status: str
    etag: str = ""
    reason: str = ""


def already_there(
    item: dict[str, Any] | None, wanted_hash: str, occurrence: Occurrence, block: str
) -> bool:
    """Given the stored state of an event's block and the synced occurrence, return whether the
    block is known to be in place (so no request is needed); adopt the occurrence's ETag."""
    if item is None or item.get("hash") != wanted_hash:
        return False
    if item.get("etag") and item["etag"] == occurrence.etag:
        return True
    # The event changed elsewhere (or the write returned no ETag): if what was synced still ends
    # with this very block, it is in place.
    if block_of(occurrence.description) == block:
        item["etag"] = occurrence.etag
        return True
    return False


def write(
    t: Transport,
    url: str,
    block: str | None,
    lines: list[str],
    me: Collection[str],
    *,
    collections: Collection[str],
    before_write: BeforeWrite | None = None,
) -> Outcome:
    """Read the event at ``url``, set MendCRM's block (None: remove it) and X-MENDCRM lines, and
    write it back with If-Match; on 412 read again and retry. Never writes an event that is not
    safe to annotate (an attendee or organizer other than the user), and never reads or writes
    one outside ``collections`` (the calendars the sync found: an href a server answered with
    may point anywhere)."""
    if not any(inside_collection(url, c) for c in collections):
        return Outcome("refused", reason="it lies outside the calendars MendCRM synced")
    for _ in range(ATTEMPTS):
        fetched = dav.get(t, url)
        if fetched is None:
            return Outcome("gone")
        reason = text_refusal(fetched.data, me)
        if reason is not None:
            return Outcome("refused", fetched.etag, reason)
        try:
            new = set_annotation(fetched.data, block, lines)
        except NotEditable as exc:
            return Outcome("refused", fetched.etag, str(exc))
        if new == fetched.data:
            return Outcome("unchanged", fetched.etag)
        if not fetched.etag:
            return Outcome("refused", reason="the server gives no ETag, so no write can be safe")
        if before_write is not None:
            before_write(url)
        try:
            etag = dav.put(t, url, new, etag=fetched.etag or None)
        except dav.Conflict:
            continue  # edited meanwhile: their edit stays, the block goes on top of it
        return Outcome("written", etag)
    return Outcome("busy")


__all__ = [
    "ATTEMPTS",
    "BeforeWrite",
    "Outcome",
    "already_there",
    "occurrence_refusal",
    "text_refusal",
    "write",
]
