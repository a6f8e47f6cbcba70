"""The detection rules written the straightforward way: the oracle of the property test.

This is detection as it stood before it was made fast (mendcrm/detection.py at the start of
the performance round), with its caches, shared scans and early exits taken out: every text is
folded and scanned on its own, every match is offered through one function, every encounter is
built from scratch. :mod:`tests.core.test_detection_reference` checks that the optimised
:func:`mendcrm.detection.detect` returns exactly what this returns. Names are found by the one
name matcher (:class:`mendcrm.names.NameMatcher`), as in the product.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from mendcrm.addresses import address_key, mail_address, own_addresses
from mendcrm.annotations.markers import strip_block
from mendcrm.config.model import DetectionConfig, MeConfig
from mendcrm.model import Attendee, Contact, Encounter, Match, Occurrence
from mendcrm.names import NameMatcher, fold

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
_JOINERS = frozenset({"-", "\u2010", "'", "\u2019", "."})


def words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text)) if text else []


def encounter_id(occurrence: Occurrence, contact_id: str) -> str:
    key = "\x1f".join((occurrence.source, occurrence.calendar, occurrence.uid, occurrence.key, ""))
    return hashlib.sha256((key + contact_id).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    contact_id: str
    role: str
    text: str


@dataclass
class Index:
    contacts: dict[str, Contact] = field(default_factory=dict)
    by_email: dict[str, list[str]] = field(default_factory=dict)
    by_name: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    by_lead: dict[str | tuple[str, str], list[Phrase]] = field(default_factory=dict)
    names: NameMatcher = field(default_factory=NameMatcher)

    @classmethod
    def build(cls, contacts: Iterable[Contact]) -> Index:
        index = cls()
        for contact in sorted((c for c in contacts if c.flagged), key=lambda c: c.id):
            index.contacts[contact.id] = contact
            for email in {m for m in (mail_address(e) for e in contact.emails) if m}:
                index.by_email.setdefault(email, []).append(contact.id)
            for name in {contact.name, *contact.aliases}:
                folded = tuple(words(name))
                if len(folded) > 1:
                    ids = index.by_name.setdefault(tuple(sorted(folded)), [])
                    if contact.id not in ids:
                        ids.append(contact.id)
            seen: set[Phrase] = set()
            for role, terms in (("affinity", set(contact.affinity)), ("org", {contact.org})):
                for term in terms:
                    folded = tuple(words(term))
                    phrase = Phrase(folded, contact.id, role, term.strip())
                    if folded and phrase not in seen:
                        seen.add(phrase)
                        lead = folded[0] if len(folded) == 1 else (folded[0], folded[1])
                        index.by_lead.setdefault(lead, []).append(phrase)
        index.names = NameMatcher.build(index.contacts.values())
        return index


def _spaced(gap: str) -> bool:
    return bool(gap) and (gap.isspace() or gap.strip() in _JOINERS)


def phrases_in(text: str, index: Index) -> list[Phrase]:
    pairs = re.findall(r"(\W*)(\w+)", fold(text))
    text_words, gaps = [w for _, w in pairs], [g for g, _ in pairs]
    found: list[Phrase] = []
    for i, word in enumerate(text_words):
        found.extend(index.by_lead.get(word, ()))
        following = text_words[i + 1] if i + 1 < len(text_words) else ""
        for phrase in index.by_lead.get((word, following), ()):
            n = len(phrase.words)
            if (
                _spaced(gaps[i + 1])
                and tuple(text_words[i : i + n]) == phrase.words
                and all(_spaced(g) for g in gaps[i + 2 : i + n])
            ):
                found.append(phrase)
    return found


def is_conference(occurrence: Occurrence, keywords: Sequence[str]) -> bool:
    if occurrence.all_day or occurrence.end - occurrence.start >= timedelta(hours=24):
        return True
    texts = [words(occurrence.summary), *(words(c) for c in occurrence.categories)]
    for keyword in (tuple(words(k)) for k in keywords):
        n = len(keyword)
        if n and any(tuple(t[i : i + n]) == keyword for t in texts for i in range(len(t))):
            return True
    return False


def offer(
    best: dict[str, tuple[Match, bool]], cid: str, by: str, evidence: str, declined: bool = False
) -> None:
    confidence = CONFIDENCE[by]
    current = best.get(cid)
    if current is None or confidence > current[0].confidence:
        best[cid] = (Match(by.removesuffix("-part"), evidence, confidence), declined)
    elif declined and confidence == current[0].confidence:
        best[cid] = (current[0], True)


def match_people(
    occurrence: Occurrence, index: Index, mine: frozenset[str], best: dict[str, tuple[Match, bool]]
) -> None:
    people: list[tuple[Attendee, str]] = [(a, "attendee") for a in occurrence.attendees]
    if occurrence.organizer is not None:
        people.append((occurrence.organizer, "organizer"))
    for person, role in people:
        email = address_key(person.email) if person.email else ""
        if email in mine:
            continue
        declined = role == "attendee" and person.partstat.upper() == "DECLINED"
        for cid in index.by_email.get(email, ()) if email else ():
            offer(best, cid, f"{role}-email", f"{role} {email}", declined)
        if not person.cn:
            continue
        cn = person.cn.strip()
        for cid in index.by_name.get(tuple(sorted(words(cn))), ()):
            offer(best, cid, "attendee-name", f'{role} named "{cn}"', declined)
        for hit in index.names.find(cn, is_name=True):
            if hit.one_word:
                evidence = f'{role} named "{cn}": {hit.evidence}'
                offer(best, hit.contact_id, "name-word", evidence, declined)
            else:
                offer(best, hit.contact_id, "attendee-name-part", f'{role} named "{cn}"', declined)


def match_text(
    occurrence: Occurrence, index: Index, conference: bool, best: dict[str, tuple[Match, bool]]
) -> None:
    fields = (
        ("summary", occurrence.summary),
        ("location", occurrence.location),
        ("description", strip_block(occurrence.description)),
        ("categories", ", ".join(occurrence.categories)),
    )
    for name, text in fields:
        if not text:
            continue
        if name != "categories":
            for hit in index.names.find(text):
                by = "name-word" if hit.one_word else f"name-in-{name}"
                offer(best, hit.contact_id, by, f"{hit.evidence} in the {name}")
        for phrase in phrases_in(text, index) if conference else ():
            by = f"conference-{phrase.role}"
            label = "affinity" if phrase.role == "affinity" else "organisation"
            offer(best, phrase.contact_id, by, f'{label} "{phrase.text}" in the {name}')


def detect(
    occurrences: Iterable[Occurrence],
    contacts: Iterable[Contact],
    *,
    me: MeConfig,
    settings: DetectionConfig,
    mine: frozenset[str] | None = None,
) -> list[Encounter]:
    """Return what :func:`mendcrm.detection.detect` must return for these inputs."""
    index = Index.build(contacts)
    my_emails = mine if mine is not None else own_addresses(me.emails)
    found: list[Encounter] = []
    if not index.contacts:
        return found
    for occurrence in occurrences:
        if occurrence.status.upper() == "CANCELLED":
            continue
        partstat = (occurrence.my_partstat or "").upper()
        if not occurrence.my_partstat:
            for attendee in occurrence.attendees:
                if (address_key(attendee.email) if attendee.email else "") in my_emails:
                    partstat = attendee.partstat.upper()
                    break
        if partstat == "DECLINED":
            continue
        conference = is_conference(occurrence, settings.conference_keywords)
        best: dict[str, tuple[Match, bool]] = {}
        match_people(occurrence, index, my_emails, best)
        match_text(occurrence, index, conference, best)
        kept = sorted(cid for cid, b in best.items() if b[0].confidence >= settings.min_confidence)
        for cid in kept:
            found.append(
                Encounter(
                    id=encounter_id(occurrence, cid),
                    contact_id=cid,
                    kind="conference" if conference else "meeting",
                    match=best[cid][0],
                    occurrence=occurrence,
                    contact_declined=best[cid][1],
                    others=tuple(c for c in kept if c != cid),
                )
            )
    return found
