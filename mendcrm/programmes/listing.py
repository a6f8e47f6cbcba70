"""What ``mendcrm programme list`` and ``show`` say about each programme, read from the store.

Library functions behind the command line (and any other surface): no I/O but the store view
the caller passes in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mendcrm.config.model import ProgrammeConfig
from mendcrm.model import Contact, QueueItem, to_iso
from mendcrm.programmes.fetch import programme_location, programme_source, stored_programme
from mendcrm.programmes.heads_up import KIND, heads_up_id
from mendcrm.programmes.speakers import flagged_matcher, match_speakers


def programme_row(entry: ProgrammeConfig, doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """Given a programme's config and its state document (None before the first sync), return
    its listing: name, format, location, title, dates, sessions, speakers, last fetched, error."""
    programme = stored_programme(dict(doc or {}))
    return {
        "name": entry.name,
        "format": entry.format,
        "location": programme_location(entry),
        "attend": entry.attend,
        "title": programme.title if programme else None,
        "first_day": programme.first_day.isoformat() if programme and programme.first_day else None,
        "last_day": programme.last_day.isoformat() if programme and programme.last_day else None,
        "sessions": len(programme.sessions) if programme else 0,
        "speakers": programme.speaker_count if programme else 0,
        "has_speakers": programme.has_speakers if programme else None,
        "last_fetched": (doc or {}).get("fetched_at"),
        "error": (doc or {}).get("last_error") or None,
    }


def programme_detail(
    entry: ProgrammeConfig,
    doc: Mapping[str, Any] | None,
    contacts: Iterable[Contact],
    queue: Iterable[QueueItem],
) -> dict[str, Any]:
    """Given a programme's config, state document, the contacts and the queue, return its
    listing plus its sessions, those where a flagged contact speaks first (then in time order),
    each with its speakers and the flagged contacts found among them, and the programme's
    heads-up items."""
    row = programme_row(entry, doc)
    programme = stored_programme(dict(doc or {}))
    flagged, matcher = flagged_matcher(contacts)
    found: dict[str, list[dict[str, Any]]] = {}
    if programme is not None:
        for m in match_speakers(programme, flagged, matcher):
            found.setdefault(m.session.id, []).append(
                {
                    "contact": {"id": m.contact_id, "name": flagged[m.contact_id].name},
                    "speaker": m.speaker.name,
                    "confidence": m.confidence,
                    "evidence": m.evidence,
                }
            )
    sessions = sorted(
        programme.sessions if programme else (),
        key=lambda s: (s.id not in found, s.start, s.id),
    )
    source = programme_source(entry)
    ids = {heads_up_id(source, cid) for cid in flagged}
    row["sessions_detail"] = [
        {
            "id": s.id,
            "title": s.title,
            "start": to_iso(s.start),
            "end": to_iso(s.end),
            "room": s.room,
            "speakers": [
                {"name": p.name, "affiliation": p.affiliation or None} for p in s.speakers
            ],
            "flagged": found.get(s.id, []),
        }
        for s in sessions
    ]
    row["heads_ups"] = [
        {"id": i.id, "title": i.title, "state": i.state, "due": to_iso(i.due)}
        for i in queue
        if i.kind == KIND and i.id in ids
    ]
    return row


__all__ = ["programme_detail", "programme_row"]
