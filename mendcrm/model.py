"""The data model: contacts, interactions, occurrences, encounters and queue items.

Every record is a frozen dataclass with ``to_record()`` / ``from_record()`` so the store holds
plain JSON (ISO 8601 strings for times, always UTC with an explicit ``+00:00``; how, in
:mod:`mendcrm.model_codec`). The pipeline passes these objects between stages; nothing here
does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from mendcrm.addresses import address_key
from mendcrm.model_codec import NESTED, _Record, from_iso, replaced, to_iso

_R = TypeVar("_R", bound=_Record)

STAGES: tuple[str, ...] = (
    "none",
    "strained",
    "cordial",
    "talking",
    "rebuilding",
    "mended",
    "let-go",
)
"""The playbook's stages of repair, in order; ``none`` means the contact is not being mended."""

FLAGGED_STAGES: frozenset[str] = frozenset({"strained", "cordial", "talking", "rebuilding"})
"""A contact in one of these stages is *flagged*: MendCRM looks out for encounters with them."""

OUTCOMES: tuple[str, ...] = ("positive", "neutral", "negative")

QueueKind = Literal["prep", "followup", "nudge", "heads-up"]
QUEUE_KINDS: tuple[str, ...] = ("prep", "followup", "nudge", "heads-up")
"""``heads-up``: a flagged contact speaks at a conference programme the user is not (yet)
attending; one per contact per programme, with no prep note or follow-up until they are."""

QueueState = Literal["pending", "due", "delivered", "done", "dismissed", "withdrawn"]
QUEUE_STATES: tuple[str, ...] = ("pending", "due", "delivered", "done", "dismissed", "withdrawn")
OPEN_QUEUE_STATES: frozenset[str] = frozenset({"pending", "due"})
"""Items in these states may still move with their event or be withdrawn."""
CLOSED_QUEUE_STATES: frozenset[str] = frozenset({"delivered", "done", "dismissed"})
"""Items in these states are history: never deleted by planning, never re-created, never moved."""

EncounterKind = Literal["meeting", "conference"]


def normalize_email(value: str) -> str:
    """Given an address as the user writes it (bare, or ``mailto:`` in any case, percent-encoded),
    return the identity to compare it by: see :func:`mendcrm.addresses.address_key`."""
    return address_key(value)


@dataclass(frozen=True, slots=True)
class Contact(_Record):
    """A person the user keeps track of; ``stage`` places them in the playbook."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    org: str = ""
    role: str = ""
    stage: str = "none"
    history: str = ""
    strengths: str = ""
    goal: str = ""
    boundaries: str = ""
    affinity: tuple[str, ...] = ()
    notes: str = ""
    stage_since: datetime | None = None

    @property
    def flagged(self) -> bool:
        return self.stage in FLAGGED_STAGES


@dataclass(frozen=True, slots=True)
class Interaction(_Record):
    """Something that happened between the user and a contact, with how it went."""

    id: str
    contact_id: str
    when: datetime
    kind: str = "note"
    outcome: str | None = None
    note: str = ""
    encounter_id: str | None = None
    stage_before: str | None = None
    stage_after: str | None = None


@dataclass(frozen=True, slots=True)
class Attendee(_Record):
    """One calendar user on an event: address (normalised), display name, participation."""

    email: str
    cn: str = ""
    partstat: str = "NEEDS-ACTION"
    role: str = "REQ-PARTICIPANT"


NESTED["Attendee"] = Attendee


@dataclass(frozen=True, slots=True)
class Occurrence(_Record):
    """One occurrence of a calendar event inside the sync window, times in UTC.

    ``source`` names the account or feed (``account:NAME`` / ``feed:NAME``), ``calendar`` the
    calendar's URL (or the feed's path); together with ``uid`` and ``recurrence_id`` they identify
    the occurrence across syncs. ``tzid`` keeps the event's original zone for display.
    """

    source: str
    calendar: str
    href: str
    uid: str
    start: datetime
    end: datetime
    etag: str = ""
    recurrence_id: str | None = None
    summary: str = ""
    description: str = ""
    location: str = ""
    categories: tuple[str, ...] = ()
    organizer: Attendee | None = None
    attendees: tuple[Attendee, ...] = ()
    my_partstat: str | None = None
    status: str = "CONFIRMED"
    tzid: str | None = None
    all_day: bool = False
    calendar_name: str = ""
    local_key: str | None = None
    """For an event that does not recur and is placed in the user's zone (all-day or floating):
    its start as written (``YYYY-MM-DD`` or a local time without offset), so that changing
    ``[me] timezone`` does not change its identity."""
    version: tuple[int, str, str] = field(default=(0, "", ""), compare=False)
    """(SEQUENCE, DTSTAMP, LAST-MODIFIED as UTC text) of the component it comes from: which of two
    copies is newer (RFC 5546 §2.1.5). Left out of equality: a feed that stamps every export
    must not make a stored encounter look changed."""

    @property
    def key(self) -> str:
        """The occurrence's identity within its series: its RECURRENCE-ID (zone-free for dates
        and floating times), else its start as written if zone-free, else its UTC start."""
        return self.recurrence_id or self.local_key or to_iso(self.start)


@dataclass(frozen=True, slots=True)
class Match(_Record):
    """Why an occurrence was matched to a contact: the rule, the evidence and how sure."""

    by: str
    evidence: str
    confidence: float


NESTED["Match"] = Match


@dataclass(frozen=True, slots=True)
class Talk(_Record):
    """A programme session where the contact speaks, as the conference's prep note lists it."""

    session_id: str
    title: str
    start: datetime
    end: datetime
    room: str = ""
    abstract: str = ""


NESTED["Talk"] = Talk


@dataclass(frozen=True, slots=True)
class Encounter(_Record):
    """A possible meeting with a flagged contact at one occurrence."""

    id: str
    contact_id: str
    kind: str
    match: Match
    occurrence: Occurrence
    state: Literal["active", "withdrawn"] = "active"
    contact_declined: bool = False
    others: tuple[str, ...] = ()
    withdrawn_reason: str = ""
    parent_id: str | None = None
    """For a programme session: the encounter of the user's own conference event, which carries
    the notes (this one gets none of its own); None when it has no parent."""
    talks: tuple[Talk, ...] = ()
    """For the user's conference event: the sessions where the contact speaks (its prep note
    lists them)."""

    @property
    def from_programme(self) -> bool:
        return self.occurrence.source.startswith("programme:")

    @property
    def carries_notes(self) -> bool:
        """False for a programme session: its notes are its parent's, or it is a heads-up."""
        return self.parent_id is None and not (self.from_programme and not self.talks)

    @property
    def on_your_calendar(self) -> bool:
        """True unless this is a programme session of a conference the user does not attend."""
        return self.parent_id is not None or not self.from_programme or bool(self.talks)


NESTED["Occurrence"] = Occurrence


@dataclass(frozen=True, slots=True)
class QueueItem(_Record):
    """A prep note, follow-up or nudge waiting to be delivered to the user."""

    id: str
    kind: str
    contact_id: str
    due: datetime
    state: str = "pending"
    encounter_id: str | None = None
    body: str = ""
    title: str = ""
    delivered_at: datetime | None = None
    closed_at: datetime | None = None
    attempts: int = 0
    last_error: str = ""
    retry_after: datetime | None = None
    deliveries: dict[str, str] = field(default_factory=dict)
    snoozed_until: datetime | None = None
    """Set by the user's "later" (:func:`mendcrm.changes.snooze`): planning keeps ``due`` at or
    after it when the event moves."""


def queue_id(*parts: str) -> str:
    """Given the parts that identify a queue item, return its stable id (12 hex digits)."""
    import hashlib  # here: loading OpenSSL costs read commands, which never make an id

    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def replace(record: _R, **changes: Any) -> _R:
    """Return a copy of a record with some fields changed (a typed ``dataclasses.replace``);
    raise TypeError for a name that is not one of its fields."""
    return replaced(record, changes)


__all__ = [
    "CLOSED_QUEUE_STATES",
    "FLAGGED_STAGES",
    "OPEN_QUEUE_STATES",
    "OUTCOMES",
    "QUEUE_KINDS",
    "QUEUE_STATES",
    "STAGES",
    "Attendee",
    "Contact",
    "Encounter",
    "Interaction",
    "Match",
    "Occurrence",
    "QueueItem",
    "Talk",
    "from_iso",
    "normalize_email",
    "queue_id",
    "replace",
    "to_iso",
]
