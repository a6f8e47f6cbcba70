"""One meeting seen through several calendars is one encounter, not two.

The same event reaches MendCRM more than once: a colleague's shared calendar and the user's own,
a CalDAV calendar and its published ``.ics`` feed, or one calendar holding the same UID in two
objects (an export split into files, a client that wrote a second copy). Two occurrences are the
same meeting when they have the same UID (RFC 5545 §3.8.4.7: globally unique) and the same
instance: the same RECURRENCE-ID, or none in both (a single event has one instance, wherever it
has moved). Events without a UID are never merged.

Two steps, both called by the pipeline around detection:

- :func:`one_copy_each` keeps one copy of each meeting, before detection: what it says comes
  from the newest copy (the order of :mod:`mendcrm.events.versions`), where it lives (source,
  calendar, object) from the copy an annotation can be written to.
- :func:`keep_known_ids` gives an encounter the id it already had when the copy that made that
  id has gone (the second source appeared, or disappeared), so the queue history stays with it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence

from mendcrm.detection import encounter_id
from mendcrm.model import Encounter, Occurrence

Place = tuple[str, str]
"""(source, calendar): where a copy lives."""


def identity(occurrence: Occurrence) -> tuple[str, str]:
    """Given an occurrence, return what it shares with every other copy of the same meeting:
    its UID and its RECURRENCE-ID (``""`` for a single event)."""
    return (occurrence.uid, occurrence.recurrence_id or "")


def one_copy_each(
    occurrences: Iterable[Occurrence], *, annotating: Collection[str] = ()
) -> list[Occurrence]:
    """Given the occurrences of every source, return them with one copy of each meeting.

    Per UID, each calendar's copy is first made whole (one object per instance: the newest,
    else the later href); then the calendar whose copy is newest (highest version of any of its
    instances, RFC 5546 §2.1.5) supplies every instance, so an instance the newer copy removed
    does not come back from an older one. The instances kept are placed in the *home* calendar:
    an account in ``annotating`` (sources whose calendars MendCRM writes to), else any account,
    else a feed, then by name; the object there holding the same UID becomes its href.
    Return them sorted by start (then source, UID, RECURRENCE-ID), as the sync stage does.
    """
    by_uid: dict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences:
        by_uid[occurrence.uid].append(occurrence)
    kept: list[Occurrence] = []
    for uid, copies in by_uid.items():
        objects = {(o.source, o.calendar, o.href) for o in copies}
        if len(objects) == 1 or uid.startswith("no-uid-"):
            kept.extend(copies)
        else:
            kept.extend(_merge_uid(copies, annotating))
    kept.sort(key=lambda o: (o.start, o.source, o.uid, o.recurrence_id or ""))
    return kept


def _merge_uid(copies: Sequence[Occurrence], annotating: Collection[str]) -> list[Occurrence]:
    """Return one placed occurrence per instance of one UID seen in several objects."""
    places: dict[Place, list[Occurrence]] = defaultdict(list)
    for occurrence in copies:
        places[(occurrence.source, occurrence.calendar)].append(occurrence)
    whole = {place: _one_per_instance(found) for place, found in places.items()}
    newest = max(_newest_version(found) for found in whole.values())
    home = min(places, key=lambda p: _home_rank(p, annotating))
    chosen: dict[str, Occurrence] = {}
    # Of the calendars whose copy is newest, the home calendar's instances come first; another
    # equally new copy adds only the instances the first lacks (they say the same).
    for place in sorted(whole, key=lambda p: (p != home, _home_rank(p, annotating))):
        if _newest_version(whole[place]) != newest:
            continue
        for occurrence in whole[place]:
            chosen.setdefault(identity(occurrence)[1], occurrence)
    at_home = {identity(o)[1]: o for o in whole[home]}
    fallback = max(whole[home], key=lambda o: (o.version, o.href))
    placed: list[Occurrence] = []
    for instance, occurrence in chosen.items():
        if (occurrence.source, occurrence.calendar) != home:
            there = at_home.get(instance, fallback)
            occurrence = dataclasses.replace(
                occurrence,
                source=there.source,
                calendar=there.calendar,
                calendar_name=there.calendar_name,
                href=there.href,
                etag=there.etag,
            )
        placed.append(occurrence)
    return placed


def _one_per_instance(found: Sequence[Occurrence]) -> list[Occurrence]:
    """Given one calendar's occurrences of one UID, return one per instance.

    Split over several objects (hrefs), each instance comes from the newest object's reading
    (then the later href); if one object reads as a single event and another as a series, they
    are versions of the whole event, not parts of it: the newest object's reading wins whole.
    """
    hrefs: dict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in found:
        hrefs[occurrence.href].append(occurrence)
    if len(hrefs) == 1:
        return list(found)
    shapes = {any(o.recurrence_id for o in group) for group in hrefs.values()}
    if len(shapes) > 1:
        best = max(hrefs, key=lambda h: (_newest_version(hrefs[h]), h))
        return hrefs[best]
    per_instance: dict[str, Occurrence] = {}
    for occurrence in sorted(found, key=lambda o: (o.version, o.href)):
        per_instance[identity(occurrence)[1]] = occurrence  # the newest comes last
    return list(per_instance.values())


def _newest_version(found: Sequence[Occurrence]) -> tuple[int, str, str]:
    return max(o.version for o in found)


def _home_rank(place: Place, annotating: Collection[str]) -> tuple[int, str, str]:
    source, calendar = place
    if source in annotating:
        kind = 0
    elif source.startswith("account:"):
        kind = 1
    else:
        kind = 2
    return (kind, source, calendar)


def keep_known_ids(detected: Sequence[Encounter], stored: Iterable[Encounter]) -> list[Encounter]:
    """Given this pass's encounters and the stored ones, return this pass's with known ids kept.

    An encounter whose id is new takes the id of a stored active encounter of the same meeting
    and contact (:func:`identity`), when that id is not in use this pass and it was made in
    another calendar (it lives in another, or its id is not the one its own occurrence gives):
    the meeting's home moved (its other source appeared, failed or was removed), the meeting
    did not. A move inside one calendar is left to planning, which pairs moves.
    """
    stored_ids: set[str] = set()
    known: dict[tuple[str, str, str], list[Encounter]] = defaultdict(list)
    for encounter in stored:
        stored_ids.add(encounter.id)
        if encounter.state == "active" and not encounter.occurrence.uid.startswith("no-uid-"):
            known[(*identity(encounter.occurrence), encounter.contact_id)].append(encounter)
    taken = {e.id for e in detected}
    out: list[Encounter] = []
    for encounter in detected:
        if encounter.id not in stored_ids:
            occ = encounter.occurrence
            candidates = sorted(
                (
                    s
                    for s in known.get((*identity(occ), encounter.contact_id), ())
                    if s.id not in taken and _made_elsewhere(s, occ)
                ),
                key=lambda s: s.id,
            )
            if candidates:
                taken.add(candidates[0].id)
                encounter = dataclasses.replace(encounter, id=candidates[0].id)
        out.append(encounter)
    return out


def _made_elsewhere(stored: Encounter, occurrence: Occurrence) -> bool:
    where = (stored.occurrence.source, stored.occurrence.calendar)
    if where != (occurrence.source, occurrence.calendar):
        return True
    return stored.id != encounter_id(stored.occurrence, stored.contact_id)


__all__ = ["identity", "keep_known_ids", "one_copy_each"]
