"""Programme sessions as encounters, tied to the user's own conference event when there is one.

For each programme in the sync state, every session where a flagged contact speaks
(:mod:`mendcrm.programmes.speakers`) is an encounter: kind ``conference``, ``match.by``
``programme-speaker``, the session as its occurrence (source ``programme:NAME``, UID the
session's own id, so a moved session keeps its encounter id).

**On your calendar** — the user's calendar holds an event overlapping the programme's dates
whose summary or location contains the programme's title or acronym without the year, or a
``calendar_match`` term (the longest such event is the conference), or the user said ``attend``:
that event's encounter with the contact (the one detection found, keeping its id, or a new one)
becomes ``programme-speaker`` with the sessions as evidence and in ``talks``, and carries the one
prep note and follow-up; the session encounters get its id as ``parent_id`` and no notes. With
``attend`` and no calendar event, a stand-in occurrence spanning the sessions carries them.

**Not on your calendar** — the session encounters have no parent and no notes; the contact gets
one ``heads-up`` per programme (:mod:`mendcrm.programmes.heads_up`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from mendcrm.config.model import Config, ProgrammeConfig
from mendcrm.detection import encounter_id, words
from mendcrm.model import Contact, Encounter, Match, Occurrence, Talk, replace
from mendcrm.names import NameMatcher
from mendcrm.programmes.fetch import programme_location, programme_source, stored_programme
from mendcrm.programmes.model import Programme
from mendcrm.programmes.speakers import SpeakerMatch, match_speakers

BY = "programme-speaker"
SESSION_KEY = "session"
"""The occurrence key of every session: its identity is its UID (the programme's own id), never
its start, so a moved session keeps its encounter id."""

_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(slots=True)
class HeadsUp:
    """A flagged contact who speaks at a programme the user does not attend."""

    source: str
    contact_id: str
    title: str
    matches: list[SpeakerMatch] = field(default_factory=list)
    encounter_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ProgrammeResult:
    """This pass's encounters (calendar ones tied to programmes, plus sessions) and heads-ups."""

    encounters: list[Encounter]
    heads_ups: list[HeadsUp]
    read: set[str]
    """Programme sources whose programme was available this pass (their heads-ups are
    current); a heads-up of another programme source is left alone."""


def name_terms(programme: Programme, config: ProgrammeConfig) -> list[tuple[str, ...]]:
    """Given a programme and its config, return the folded word runs that name it in a
    calendar: its title and acronym without a year, and each ``calendar_match`` term."""
    terms = []
    for text in (programme.title, programme.acronym):
        run = tuple(w for w in words(text) if not _YEAR.match(w))
        if run:
            terms.append(run)
    terms.extend(tuple(words(t)) for t in config.calendar_match if words(t))
    return terms


def _holds(text: str, run: tuple[str, ...]) -> bool:
    found = words(text)
    n = len(run)
    return any(tuple(found[i : i + n]) == run for i in range(len(found) - n + 1))


def conference_event(
    programme: Programme, config: ProgrammeConfig, occurrences: Iterable[Occurrence]
) -> Occurrence | None:
    """Given a programme and the user's calendar occurrences, return the event that is the user
    going to it (see the module docstring), or None. The programme's dates are the conference's
    local dates: an event counts if it overlaps them give or take a day for the zones."""
    if programme.first_day is None or programme.last_day is None:
        return None
    begin = datetime.combine(programme.first_day - timedelta(days=1), time(), UTC)
    finish = datetime.combine(programme.last_day + timedelta(days=2), time(), UTC)
    terms = name_terms(programme, config)
    candidates = [
        o
        for o in occurrences
        if not o.source.startswith("programme:")
        and o.status.upper() != "CANCELLED"
        and o.start < finish
        and o.end > begin
        and any(_holds(o.summary, t) or _holds(o.location, t) for t in terms)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda o: (o.end - o.start, -o.start.timestamp(), o.uid))


def session_occurrence(
    config: ProgrammeConfig, programme: Programme, match: SpeakerMatch
) -> Occurrence:
    """Given a speaker match, return the session as an occurrence (times in UTC)."""
    session = match.session
    return Occurrence(
        source=programme_source(config),
        calendar=programme_location(config),
        href="",
        uid=session.id,
        start=session.start,
        end=session.end,
        summary=session.title,
        description=session.abstract,
        location=session.room,
        local_key=SESSION_KEY,
        calendar_name=programme.title,
    )


def _talk(match: SpeakerMatch) -> Talk:
    s = match.session
    return Talk(s.id, s.title, s.start, s.end, s.room, s.abstract)


def _evidence(programme: Programme, matches: Sequence[SpeakerMatch]) -> str:
    listed = "; ".join(f'"{m.session.title}"' for m in matches)
    return f"{matches[0].evidence} at {programme.title}: {listed}"


def programme_encounters(
    config: Config,
    state: Mapping[str, Mapping[str, Any]],
    occurrences: Sequence[Occurrence],
    found: Sequence[Encounter],
    contacts: Mapping[str, Contact],
    matcher: NameMatcher,
) -> ProgrammeResult:
    """Given the config, the sync state, the user's calendar occurrences, detection's
    encounters and the flagged contacts with their matcher, return every encounter of the pass
    (detection's, with conference events tied to programmes) and the heads-ups."""
    by_id = {e.id: e for e in found}
    extra: list[Encounter] = []
    heads: list[HeadsUp] = []
    read: set[str] = set()
    for entry in config.programmes:
        source = programme_source(entry)
        programme = stored_programme(dict(state.get(source) or {}))
        if programme is None:
            continue
        read.add(source)
        matches = match_speakers(programme, contacts, matcher)
        if not matches:
            continue
        event = conference_event(programme, entry, occurrences)
        per_contact: dict[str, list[SpeakerMatch]] = {}
        for m in matches:
            per_contact.setdefault(m.contact_id, []).append(m)
        for cid, mine in sorted(per_contact.items()):
            parent = _parent(entry, programme, event, cid, mine, by_id)
            if parent is not None:
                if parent.id in by_id:
                    by_id[parent.id] = parent
                else:
                    extra.append(parent)
            heads_up = None if parent is not None else HeadsUp(source, cid, programme.title, mine)
            for m in mine:
                occ = session_occurrence(entry, programme, m)
                session = Encounter(
                    id=encounter_id(occ, cid),
                    contact_id=cid,
                    kind="conference",
                    match=Match(BY, m.evidence, m.confidence),
                    occurrence=occ,
                    parent_id=parent.id if parent is not None else None,
                )
                extra.append(session)
                if heads_up is not None:
                    heads_up.encounter_ids.append(session.id)
            if heads_up is not None:
                heads.append(heads_up)
    return ProgrammeResult([*by_id.values(), *extra], heads, read)


def _parent(
    entry: ProgrammeConfig,
    programme: Programme,
    event: Occurrence | None,
    cid: str,
    matches: list[SpeakerMatch],
    found: Mapping[str, Encounter],
) -> Encounter | None:
    """Return the encounter that carries this contact's notes for the programme, or None."""
    if event is None and not entry.attend:
        return None
    if event is None:  # attending without a calendar event: the sessions' span stands in
        event = Occurrence(
            source=programme_source(entry),
            calendar=programme_location(entry),
            href="",
            uid=f"{entry.name}#attending",
            start=min(m.session.start for m in matches),
            end=max(m.session.end for m in matches),
            summary=programme.title,
            local_key="attending",
            calendar_name=programme.title,
        )
    match = Match(BY, _evidence(programme, matches), max(m.confidence for m in matches))
    talks = tuple(_talk(m) for m in matches)
    eid = encounter_id(event, cid)
    known = found.get(eid)
    if known is not None:  # detection's guess (an affinity, a name) gives way to the evidence
        return replace(known, kind="conference", match=match, talks=talks)
    return Encounter(
        id=eid, contact_id=cid, kind="conference", match=match, occurrence=event, talks=talks
    )


__all__ = [
    "BY",
    "HeadsUp",
    "ProgrammeResult",
    "conference_event",
    "name_terms",
    "programme_encounters",
    "session_occurrence",
]
