"""Detection: which calendar occurrences may bring the user face to face with a flagged contact.

Pure functions, no I/O. :class:`ContactIndex` indexes the flagged contacts once per pass (by
normalised e-mail, by the token set of each name and alias of several words, by the first word of
every affinity term and organisation, and in a :class:`~mendcrm.names.NameMatcher` for names and
aliases), so :func:`detect` costs about one dictionary look-up per attendee and per word of event
text, whatever the number of contacts.

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

import gc
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from mendcrm.addresses import address_key, mail_address, own_addresses
from mendcrm.annotations.markers import strip_block
from mendcrm.config.model import DetectionConfig, MeConfig
from mendcrm.model import Attendee, Contact, Encounter, Match, Occurrence
from mendcrm.names import NameHit, NameMatcher, fold

_WORD = re.compile(r"\w+")
_GAP_WORD = re.compile(r"(\W*)(\w+)")
_JOINERS = frozenset({"-", "\u2010", "'", "\u2019", "."})
"""Punctuation that may sit inside a name ("Jean-Luc", "O'Neill", "J.R.")."""

CONFIDENCE: dict[str, float] = {
    "attendee-email": 1.0,
    "organizer-email": 0.95,
    "attendee-name": 0.85,
    "attendee-name-part": 0.75,
    "name-in-summary": 0.7,
    "name-in-location": 0.6,
    "name-in-description": 0.5,
    "conference-affinity": 0.5,
    "name-word": 0.4,
    "conference-org": 0.35,
}
"""How sure each rule is; an encounter keeps the most confident match for its contact."""

_MULTI_DAY = timedelta(hours=24)
_TEXT_CACHE = 50_000


def words(text: str) -> list[str]:
    """Given any text, return its folded words: the unit of every whole-word match."""
    return _WORD.findall(fold(text)) if text else []


def _gapped_words(text: str) -> tuple[list[str], list[str]]:
    """Return the folded words of ``text`` and, for each, the characters just before it."""
    pairs = _GAP_WORD.findall(fold(text))
    return [w for _, w in pairs], [g for g, _ in pairs]


def _spaced(gap: str) -> bool:
    """Return True if a name may continue across ``gap``: "Robert & Hale" is not "Robert Hale",
    but "Jean-Luc" and "O'Neill" are names."""
    return bool(gap) and (gap.isspace() or gap.strip() in _JOINERS)


def encounter_id(occurrence: Occurrence, contact_id: str) -> str:
    """Given an occurrence and a contact id, return the encounter's stable id (16 hex digits).

    Built from source, calendar, UID, occurrence key (RECURRENCE-ID or start) and contact, so
    every sync pass finds the same id for the same possible meeting.
    """
    return _id_for(_id_base(occurrence), contact_id)


def _id_base(occurrence: Occurrence) -> hashlib._Hash:
    key = "\x1f".join((occurrence.source, occurrence.calendar, occurrence.uid, occurrence.key, ""))
    return hashlib.sha256(key.encode("utf-8"))


def _id_for(base: hashlib._Hash, contact_id: str) -> str:
    digest = base.copy()
    digest.update(contact_id.encode("utf-8"))
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _Phrase:
    """An affinity term or organisation of one contact, as folded words."""

    words: tuple[str, ...]
    contact_id: str
    role: str  # "affinity" | "org"
    text: str


@dataclass(slots=True)
class ContactIndex:
    """Flagged contacts indexed for detection; build it with :meth:`build`."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    by_email: dict[str, list[str]] = field(default_factory=dict)
    by_name: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    """Contacts by the sorted words of each name or alias of several words (CN "Hale, Robert")."""
    names: NameMatcher = field(default_factory=NameMatcher)
    by_lead: dict[str | tuple[str, str], list[_Phrase]] = field(default_factory=dict)
    """Phrases keyed by their first word (one-word phrases) or first two words (longer ones),
    so a word many phrases start with ("University of …") does not make a long bucket."""
    lead_words: set[str] = field(default_factory=set)
    """The first word of every phrase: a text holding none of them holds no phrase."""

    @classmethod
    def build(cls, contacts: Iterable[Contact]) -> ContactIndex:
        """Given contacts, return an index of the flagged ones (the others are ignored)."""
        index = cls()
        for contact in sorted((c for c in contacts if c.flagged), key=lambda c: c.id):
            index._add(contact)
        index.names = NameMatcher.build(index.contacts.values())
        return index

    def __len__(self) -> int:
        return len(self.contacts)

    def _add(self, contact: Contact) -> None:
        self.contacts[contact.id] = contact
        # Only real mail addresses: a principal path or urn:uuid is nobody's contact address.
        for email in {m for m in (mail_address(e) for e in contact.emails) if m}:
            self.by_email.setdefault(email, []).append(contact.id)
        for name in {contact.name, *contact.aliases}:
            folded = tuple(words(name))
            if len(folded) > 1:  # one word alone is the name matcher's weak rule, never exact
                _add_unique(self.by_name, tuple(sorted(folded)), contact.id)
        seen: set[_Phrase] = set()
        for role, terms in (("affinity", set(contact.affinity)), ("org", {contact.org})):
            for term in terms:
                folded = tuple(words(term))
                if not folded:
                    continue
                phrase = _Phrase(folded, contact.id, role, term.strip())
                if phrase not in seen:
                    seen.add(phrase)
                    lead = folded[0] if len(folded) == 1 else (folded[0], folded[1])
                    self.by_lead.setdefault(lead, []).append(phrase)
                    self.lead_words.add(folded[0])


def _add_unique(mapping: dict[tuple[str, ...], list[str]], key: tuple[str, ...], cid: str) -> None:
    ids = mapping.setdefault(key, [])
    if cid not in ids:
        ids.append(cid)


class _Scanner:
    """Finds indexed phrases in texts, scanning each distinct text once per :func:`detect` call
    (recurring events and regular attendees repeat the same texts)."""

    def __init__(self, index: ContactIndex) -> None:
        self.index = index
        self.seen: dict[str, list[_Phrase]] = {}
        self.named: dict[tuple[str, bool], list[NameHit]] = {}
        self.keys: dict[str, str] = {}
        self.cn_words: dict[str, tuple[str, ...]] = {}

    def key(self, email: str) -> str:
        """Return the identity of an attendee's address (:func:`address_key`), reading each
        distinct address once per call: the same people attend meeting after meeting."""
        found = self.keys.get(email)
        if found is None:
            found = address_key(email) if email else ""
            if len(self.keys) < _TEXT_CACHE:
                self.keys[email] = found
        return found

    def sorted_words(self, cn: str) -> tuple[str, ...]:
        """Return the sorted folded words of a CN (the key of :attr:`ContactIndex.by_name`)."""
        found = self.cn_words.get(cn)
        if found is None:
            found = tuple(sorted(words(cn)))
            if len(self.cn_words) < _TEXT_CACHE:
                self.cn_words[cn] = found
        return found

    def __call__(self, text: str) -> list[_Phrase]:
        """Return the affinity terms and organisations in ``text``."""
        found = self.seen.get(text)
        if found is None:
            found = _phrases_in(text, self.index)
            if len(self.seen) < _TEXT_CACHE:
                self.seen[text] = found
        return found

    def names(self, text: str, *, is_name: bool = False) -> list[NameHit]:
        """Return the contacts' names in ``text`` (a CN if ``is_name``)."""
        key = (text, is_name)
        found = self.named.get(key)
        if found is None:
            found = self.index.names.find(text, is_name=is_name)
            if len(self.named) < _TEXT_CACHE:
                self.named[key] = found
        return found


def _phrases_in(text: str, index: ContactIndex) -> list[_Phrase]:
    """Return every indexed phrase that occurs in ``text`` as whole words, separated by spaces."""
    text_words, gaps = _gapped_words(text)
    found: list[_Phrase] = []
    if index.lead_words.isdisjoint(text_words):
        return found  # most texts: checked in C, without walking the words
    lead = index.by_lead
    for i, pair in enumerate(zip(text_words, [*text_words[1:], ""], strict=True)):
        single = lead.get(pair[0])
        if single:
            found.extend(single)
        double = lead.get(pair)
        if double and _spaced(gaps[i + 1]):
            for phrase in double:
                n = len(phrase.words)
                if n == 2 or (
                    tuple(text_words[i : i + n]) == phrase.words
                    and all(_spaced(g) for g in gaps[i + 2 : i + n])
                ):
                    found.append(phrase)
    return found


@dataclass(frozen=True, slots=True)
class _Keywords:
    single: frozenset[str]
    multi: tuple[tuple[str, ...], ...]


def _keyword_phrases(keywords: Iterable[str]) -> _Keywords:
    phrases = [tuple(w) for w in (words(k) for k in keywords) if w]
    return _Keywords(
        frozenset(p[0] for p in phrases if len(p) == 1), tuple(p for p in phrases if len(p) > 1)
    )


def _contains(text_words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(text_words[i : i + n]) == phrase for i in range(len(text_words) - n + 1))


def looks_like_conference(occurrence: Occurrence, keywords: Iterable[str]) -> bool:
    """Given an occurrence, return True if it looks like a conference.

    All-day or multi-day events, and events whose CATEGORIES or summary hold one of the
    keywords as whole words, count as conferences.
    """
    return _is_conference(occurrence, _keyword_phrases(keywords))


def _is_conference(occurrence: Occurrence, keywords: _Keywords) -> bool:
    if occurrence.all_day or occurrence.end - occurrence.start >= _MULTI_DAY:
        return True
    texts = [words(occurrence.summary), *(words(c) for c in occurrence.categories)]
    return any(not keywords.single.isdisjoint(t) for t in texts) or any(
        _contains(t, p) for t in texts for p in keywords.multi
    )


def _my_partstat(occurrence: Occurrence, my_emails: frozenset[str], scan: _Scanner) -> str:
    if occurrence.my_partstat:
        return occurrence.my_partstat.upper()
    # The reader found no entry of the user's; the user's addresses may have grown since (a
    # calendar-user-address-set found later), so look again by each entry's stored identity.
    for attendee in occurrence.attendees:
        if scan.key(attendee.email) in my_emails:
            return attendee.partstat.upper()
    return ""


@dataclass(slots=True)
class _Best:
    match: Match
    declined: bool = False


def _offer(
    best: dict[str, _Best], cid: str, by: str, evidence: str, declined: bool = False
) -> None:
    """Keep the most confident match per contact; the first seen wins a tie."""
    confidence = CONFIDENCE[by]
    current = best.get(cid)
    if current is None or confidence > current.match.confidence:
        best[cid] = _Best(
            Match(by=by.removesuffix("-part"), evidence=evidence, confidence=confidence), declined
        )
    elif declined and confidence == current.match.confidence:
        current.declined = True


def _match_people(
    occurrence: Occurrence,
    index: ContactIndex,
    scan: _Scanner,
    my_emails: frozenset[str],
    best: dict[str, _Best],
) -> None:
    people: list[tuple[Attendee, str]] = [(a, "attendee") for a in occurrence.attendees]
    if occurrence.organizer is not None:
        people.append((occurrence.organizer, "organizer"))
    for person, role in people:
        email = scan.key(person.email)
        if email in my_emails:
            continue  # the user's own entry never matches a contact
        declined = role == "attendee" and person.partstat.upper() == "DECLINED"
        for cid in index.by_email.get(email, ()) if email else ():
            _offer(best, cid, f"{role}-email", f"{role} {email}", declined)
        if not person.cn:
            continue
        cn = person.cn.strip()
        for cid in index.by_name.get(scan.sorted_words(cn), ()):
            _offer(best, cid, "attendee-name", f'{role} named "{cn}"', declined)
        for hit in scan.names(cn, is_name=True):
            if hit.one_word:
                evidence = f'{role} named "{cn}": {hit.evidence}'
                _offer(best, hit.contact_id, "name-word", evidence, declined)
            else:
                _offer(best, hit.contact_id, "attendee-name-part", f'{role} named "{cn}"', declined)


def _match_text(
    occurrence: Occurrence, scan: _Scanner, conference: bool, best: dict[str, _Best]
) -> None:
    fields = (
        ("summary", occurrence.summary),
        ("location", occurrence.location),
        # MendCRM's own inline note names the contact; it is no evidence of a meeting.
        ("description", strip_block(occurrence.description)),
        ("categories", ", ".join(occurrence.categories)),
    )
    for name, text in fields:
        if not text:
            continue
        if name != "categories":
            for hit in scan.names(text):
                by = "name-word" if hit.one_word else f"name-in-{name}"
                _offer(best, hit.contact_id, by, f"{hit.evidence} in the {name}")
        for phrase in scan(text):
            if conference and phrase.role == "affinity":
                _offer(
                    best,
                    phrase.contact_id,
                    "conference-affinity",
                    f'affinity "{phrase.text}" in the {name}',
                )
            elif conference and phrase.role == "org":
                _offer(
                    best,
                    phrase.contact_id,
                    "conference-org",
                    f'organisation "{phrase.text}" in the {name}',
                )


@contextmanager
def _cycles_collected_after() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, restoring it after.

    Detection allocates tens of thousands of small acyclic objects (matches, encounters) over
    a large live heap, which set off full collections that found nothing to collect: about a
    fifth of detection's time on 10,000 occurrences. Reference counting still frees everything
    at once; only cycle detection waits until the block ends.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
    keywords = _keyword_phrases(settings.conference_keywords)
    found: list[Encounter] = []
    if not index.contacts:
        return found
    scan = _Scanner(index)
    with _cycles_collected_after():
        for occurrence in occurrences:
            if occurrence.status.upper() == "CANCELLED":
                continue
            if _my_partstat(occurrence, my_emails, scan) == "DECLINED":
                continue
            conference = _is_conference(occurrence, keywords)
            best: dict[str, _Best] = {}
            _match_people(occurrence, index, scan, my_emails, best)
            _match_text(occurrence, scan, conference, best)
            kept = sorted(
                cid for cid, b in best.items() if b.match.confidence >= settings.min_confidence
            )
            if not kept:
                continue
            kind = "conference" if conference else "meeting"
            base = _id_base(occurrence)
            for i, cid in enumerate(kept):
                found.append(
                    Encounter(
                        id=_id_for(base, cid),
                        contact_id=cid,
                        kind=kind,
                        match=best[cid].match,
                        occurrence=occurrence,
                        contact_declined=best[cid].declined,
                        others=tuple(kept[:i] + kept[i + 1 :]),
                    )
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
