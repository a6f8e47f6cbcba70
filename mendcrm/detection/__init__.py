"""Detection: which calendar occurrences may bring the user face to face with a flagged contact.

Pure functions, no I/O. :class:`ContactIndex` indexes the flagged contacts once per pass (by
normalised e-mail, by the token set of each name and alias of several words, by the first word of
every affinity term and organisation, and in a :class:`~mendcrm.names.NameMatcher` for names and
aliases; :mod:`mendcrm.detection.index`), so :func:`detect` costs about one dictionary look-up
per attendee and per word of event text, whatever the number of contacts; each distinct text,
address and CN is read once per call (:mod:`mendcrm.detection.scan`), so a series or a regular
attendee costs its first reading only. The encounters are made at the cost of their fields
(:mod:`mendcrm.detection.encounters`: a conference can give sixty at once), and the collector
is held off while they are made and then files them with the old objects unwalked
(:func:`~mendcrm.detection.index.cycles_collected_after`).

The index is built once per pass, not kept between passes: every pass runs in a process of its
own (a CLI command, or the daemon's forked child), so an index kept in memory would never be
found again, and reading one back from a file takes longer than building it (unpickling 22 ms
against 20 ms for 2,000 contacts, measured on the bench's data).

Names in text and in CNs are found by the one name matcher (:mod:`mendcrm.names`, which also
says what counts as a name-like word): a one-word alias joined to another person's name ("Martin
Schmidt", "St. Martin", "Martin Luther King Day") is not the contact; any other match resting on
one word alone is ``name-word`` at a low confidence, with the word quoted; a given name that is
not an alias never matches.

The rules, strongest first (each encounter records the strongest one that matched):

============================  ==========  ==============================================
``by``                        confidence  evidence
============================  ==========  ==============================================
``attendee-email``            1.0         the attendee's address
``organizer-email``           0.95        the organizer's address
``attendee-name``             0.85/0.75   the attendee's CN (exact name / name inside)
``name-in-summary`` (etc.)    0.7/.6/.5   the words matched in summary/location/description
``conference-affinity``       0.5         an affinity term in a conference-like event
``name-word``                 0.4         one word alone (an alias or one-word name) in a CN or
                                          in summary/location/description, quoted
``conference-org``            0.35        the contact's organisation in a conference-like event
============================  ==========  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from mendcrm.addresses import own_addresses
from mendcrm.annotations.markers import BLOCK_START, strip_block
from mendcrm.config.model import DetectionConfig, MeConfig
from mendcrm.detection.encounters import Maker, encounter_id
from mendcrm.detection.index import ContactIndex, cycles_collected_after, words
from mendcrm.detection.scan import (
    CONFIDENCE,
    ME,
    NOTHING,
    Entry,
    Keywords,
    PersonOffer,
    Scanner,
    TextOffers,
)
from mendcrm.model import Encounter, Occurrence
from mendcrm.names import fold

_MULTI_DAY = timedelta(hours=24)


def looks_like_conference(occurrence: Occurrence, keywords: Iterable[str]) -> bool:
    """Given an occurrence, return True if it looks like a conference.

    All-day or multi-day events, and events whose CATEGORIES or summary hold one of the
    keywords as whole words, count as conferences.
    """
    return _is_conference(occurrence, Keywords.of(keywords), None)


def _is_conference(occurrence: Occurrence, keywords: Keywords, summary: bool | None) -> bool:
    """``summary``: whether the summary holds a keyword, if the caller has read it already."""
    if occurrence.all_day or occurrence.end - occurrence.start >= _MULTI_DAY:
        return True
    if summary is None:
        summary = keywords.in_words(words(occurrence.summary))
    return summary or any(keywords.in_words(words(c)) for c in occurrence.categories)


def _best_matches(
    occurrence: Occurrence, scan: Scanner, keywords: Keywords
) -> tuple[dict[str, Entry], bool] | None:
    """Return the best match per contact in ``occurrence`` and whether it is a conference, or
    None if it gives no encounter whatever the contacts (cancelled, or declined by the user).

    Matches are offered in a fixed order (attendees, organizer, summary, location, description,
    categories); a contact keeps the most confident, the first seen winning a tie, and is
    marked declined if an attendee who declined offered that match. The scanner's caches are
    read here directly: this runs once per occurrence.
    """
    status = occurrence.status
    if status != "CONFIRMED" and status.upper() == "CANCELLED":
        return None
    emails, cns = scan.attendee_emails, scan.attendee_cns
    best: dict[str, Entry] = {}
    mine = None
    for attendee in occurrence.attendees:
        email = attendee.email
        person = emails.get(email) or scan.read_email("attendee", email)
        if person is ME:
            if mine is None:
                mine = attendee
            continue
        offers = person[1]
        cn = attendee.cn
        if cn:
            named = cns.get(cn)
            if named is None:
                named = scan.read_cn("attendee", cn)
            if named:
                offers = offers + named
        if offers:
            _take(best, offers, attendee.partstat.upper() == "DECLINED")
    partstat = occurrence.my_partstat
    if not partstat and mine is not None:
        # The reader found no entry of the user's; the user's addresses may have grown since
        # (a calendar-user-address-set found later), so look again by each entry's identity.
        partstat = mine.partstat
    if partstat and partstat.upper() == "DECLINED":
        return None
    organizer = occurrence.organizer
    if organizer is not None:
        person = scan.emails["organizer"].get(organizer.email) or scan.read_email(
            "organizer", organizer.email
        )
        if person is not ME:
            cn = organizer.cn
            named = scan.cns["organizer"].get(cn) if cn else ()
            if named is None:
                named = scan.read_cn("organizer", cn)
            _take(best, person[1] + named, False)

    summary = occurrence.summary
    said = NOTHING
    if summary:
        said = scan.summaries.get(summary) or scan.read_text("summary", summary)
    conference = said.keyword or _is_conference(occurrence, keywords, False)
    if said is not NOTHING:
        _offer(best, said, conference)
    if occurrence.location:
        location = occurrence.location
        said = scan.locations.get(location) or scan.read_text("location", location)
        if said is not NOTHING:
            _offer(best, said, conference)
    description = occurrence.description
    if description:
        if BLOCK_START in description:
            # MendCRM's own inline note names the contact; it is no evidence of a meeting.
            description = strip_block(description)
        if description:
            said = scan.descriptions.get(description) or scan.read_text("description", description)
            if said is not NOTHING:
                _offer(best, said, conference)
    if occurrence.categories and conference:
        categories = ", ".join(occurrence.categories)
        if categories:
            said = scan.texts["categories"].get(categories) or scan.read_text(
                "categories", categories
            )
            _offer(best, said, conference)
    return best, conference


def _offer(best: dict[str, Entry], said: TextOffers, conference: bool) -> None:
    """Offer a text's matches: its names, and at a conference its phrases."""
    for offers in (said.names, said.phrases) if conference else (said.names,):
        for cid, entry in offers:
            current = best.get(cid)
            if current is None or entry[0] > current[0]:
                best[cid] = entry


def _take(best: dict[str, Entry], offers: Iterable[PersonOffer], declined: bool) -> None:
    """Offer a calendar user's matches; ``declined``: that user declined the invitation."""
    for cid, confidence, match in offers:
        current = best.get(cid)
        if current is None or confidence > current[0]:
            best[cid] = (confidence, match, declined)
        elif declined and confidence == current[0]:
            best[cid] = (confidence, current[1], True)


def detect(
    occurrences: Iterable[Occurrence],
    index: ContactIndex,
    *,
    me: MeConfig,
    settings: DetectionConfig,
    mine: frozenset[str] | None = None,
) -> list[Encounter]:
    """Given occurrences and an index of flagged contacts, return the possible encounters.

    One encounter per (occurrence, contact) whose best match reaches
    ``settings.min_confidence``; occurrences that are cancelled or that the user declined give
    none. An encounter where the matched attendee declined is kept with ``contact_declined``.
    When several contacts match one occurrence, each encounter lists the others in ``others``.
    ``mine`` holds the user's identities (:func:`mendcrm.addresses.user_addresses`: ``[me]
    emails`` and the principals' calendar-user-address-sets); default: ``me.emails`` alone.
    """
    my_emails = mine if mine is not None else own_addresses(me.emails)
    keywords = Keywords.of(settings.conference_keywords)
    floor = settings.min_confidence
    found: list[Encounter] = []
    if not index.contacts:
        return found
    scan = Scanner(index, my_emails, keywords)
    make = Maker()
    with cycles_collected_after():
        for occurrence in occurrences:
            matched = _best_matches(occurrence, scan, keywords)
            if not matched or not matched[0]:
                continue
            best, conference = matched
            kept = [cid for cid, entry in best.items() if entry[0] >= floor]
            if not kept:
                continue
            kept.sort()
            make.add(
                found, occurrence, "conference" if conference else "meeting", tuple(kept), best
            )
    return found


__all__ = [
    "CONFIDENCE",
    "ContactIndex",
    "detect",
    "encounter_id",
    "fold",
    "looks_like_conference",
    "words",
]
