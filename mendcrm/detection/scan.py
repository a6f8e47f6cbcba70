"""What each text and each calendar user of an occurrence offers as matches, read once per text.

Detection reads the same texts and people again and again: a series repeats its summary,
description and attendees in every occurrence, and the same colleagues attend meeting after
meeting. :class:`Scanner` reads each distinct text, address and CN once per
:func:`~mendcrm.detection.detect` call and keeps what it offers: a tuple of ready-made matches
(:data:`Offer`), shared by every occurrence that repeats it, so an occurrence costs a few
dictionary look-ups. A text is folded and split into words once; when none of its words can
start a name or phrase of the index (:attr:`~mendcrm.detection.index.ContactIndex.leads`), as
for most texts, neither the name matcher nor the phrase search runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mendcrm.addresses import PLAIN_ADDRESS, address_key
from mendcrm.detection.index import WORD, ContactIndex, Phrase, ascii_words, phrases_in, words
from mendcrm.model import Match
from mendcrm.names import fold

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

_TEXT_CACHE = 50_000
"""Entries each cache keeps at most: beyond, texts are read again rather than held."""

_plain_address = PLAIN_ADDRESS.fullmatch

Entry = tuple[float, Match, bool]
"""A contact's best match so far in an occurrence: confidence, match, contact declined."""
Offer = tuple[str, Entry]
"""A match offered for a contact (by its id), as an entry for an occurrence's best matches."""
PersonOffer = tuple[str, float, Match]
"""A match offered by a calendar user; whether they declined is the occurrence's to say."""


def _match(by: str, evidence: str) -> tuple[float, Match]:
    confidence = CONFIDENCE[by]
    return confidence, Match(by=by.removesuffix("-part"), evidence=evidence, confidence=confidence)


@dataclass(frozen=True, slots=True)
class Keywords:
    """The conference keywords as folded words: one-word keywords and longer ones."""

    single: frozenset[str]
    multi: tuple[tuple[str, ...], ...]
    pattern: re.Pattern[str] | None = None
    """The keywords as one expression over folded text: each keyword's words as whole words,
    one after another with only non-word characters between (what :meth:`in_words` asks of
    the text's words), or None if there is no keyword."""
    ascii_single: frozenset[bytes] = frozenset()
    ascii_multi: tuple[tuple[bytes, ...], ...] = ()
    """The ASCII ones among :attr:`single` and :attr:`multi`, encoded: the only ones the words
    of an ASCII text can hold (:meth:`in_ascii_words`)."""

    @classmethod
    def of(cls, keywords: Iterable[str]) -> Keywords:
        """Given the configured keywords, return them folded and split."""
        phrases = [tuple(w) for w in (words(k) for k in keywords) if w]
        either = "|".join(r"\W+".join(map(re.escape, p)) for p in phrases)
        single = frozenset(p[0] for p in phrases if len(p) == 1)
        multi = tuple(p for p in phrases if len(p) > 1)
        return cls(
            single,
            multi,
            re.compile(rf"(?<!\w)(?:{either})(?!\w)") if phrases else None,
            frozenset(w.encode("ascii") for w in single if w.isascii()),
            tuple(tuple(w.encode("ascii") for w in p) for p in multi if all(map(str.isascii, p))),
        )

    def in_text(self, folded: str) -> bool:
        """Return True if one of the keywords stands in the folded text as whole words."""
        return self.pattern is not None and self.pattern.search(folded) is not None

    def in_words(self, text_words: Sequence[str]) -> bool:
        """Return True if one of the keywords stands in ``text_words`` as whole words."""
        return not self.single.isdisjoint(text_words) or any(
            _contains(text_words, p) for p in self.multi
        )

    def in_ascii_words(self, text_words: Sequence[bytes]) -> bool:
        """Given an ASCII text's words (:func:`~mendcrm.detection.index.ascii_words`), return
        True if one of the keywords stands in them as whole words (as :meth:`in_words`)."""
        return not self.ascii_single.isdisjoint(text_words) or any(
            p[0] in text_words and _contains(text_words, p) for p in self.ascii_multi
        )


def _contains(text_words: Sequence[Any], phrase: tuple[Any, ...]) -> bool:
    n = len(phrase)
    return any(tuple(text_words[i : i + n]) == phrase for i in range(len(text_words) - n + 1))


@dataclass(frozen=True, slots=True)
class TextOffers:
    """What one text offers: name matches, phrase matches (they count only at a conference),
    and whether it holds a conference keyword (read for the summary)."""

    names: tuple[Offer, ...] = ()
    phrases: tuple[Offer, ...] = ()
    keyword: bool = False


NOTHING = TextOffers()
_KEYWORD_ONLY = TextOffers(keyword=True)
Person = tuple[bool, tuple[PersonOffer, ...]]
"""A calendar user's address read: whether it is the user's own, and the matches it offers."""
_NOT_ME: Person = (False, ())
ME: Person = (True, ())
"""The user's own address: always this object, so callers may test ``person is ME``."""


class Scanner:
    """Reads texts, addresses and CNs for one :func:`~mendcrm.detection.detect` call, each
    distinct one once."""

    def __init__(self, index: ContactIndex, mine: frozenset[str], keywords: Keywords) -> None:
        self.index = index
        self.mine = mine
        self.keywords = keywords
        self.emails: dict[str, dict[str, Person]] = {"attendee": {}, "organizer": {}}
        self.cns: dict[str, dict[str, tuple[PersonOffer, ...]]] = {"attendee": {}, "organizer": {}}
        self.texts: dict[str, dict[str, TextOffers]] = {
            f: {} for f in ("summary", "location", "description", "categories")
        }
        self.phrase_offers: dict[tuple[int, str], Offer] = {}
        # The caches read once per occurrence, for look-ups without a call.
        self.attendee_emails = self.emails["attendee"]
        self.attendee_cns = self.cns["attendee"]
        self.summaries = self.texts["summary"]
        self.locations = self.texts["location"]
        self.descriptions = self.texts["description"]

    def read_email(self, role: str, value: str) -> Person:
        """Given a role ("attendee" or "organizer") and a calendar user's address, return
        whether it is the user's own and the matches by address (:func:`address_key`), and keep
        them in :attr:`emails` (callers look there first)."""
        # Most values are plain addresses (tens of thousands of distinct ones on a large
        # calendar, nearly all of people who are no contact): their key without the calls.
        plain = _plain_address(value)
        key = plain[1] if plain else address_key(value) if value else ""
        if key in self.mine:
            found = ME  # the user's own entry never matches a contact
        else:
            ids = self.index.by_email.get(key)
            if ids is None:
                found = _NOT_ME
            else:
                confidence, match = _match(f"{role}-email", f"{role} {key}")
                found = False, tuple((cid, confidence, match) for cid in ids)
        cache = self.emails[role]
        if len(cache) < _TEXT_CACHE:
            cache[value] = found
        return found

    def read_cn(self, role: str, value: str) -> tuple[PersonOffer, ...]:
        """Given a role and a calendar user's CN, return the matches by name, and keep them in
        :attr:`cns` (callers look there first)."""
        found = self._cn(role, value)
        cache = self.cns[role]
        if len(cache) < _TEXT_CACHE:
            cache[value] = found
        return found

    def _cn(self, role: str, value: str) -> tuple[PersonOffer, ...]:
        cn = value.strip()
        offers: list[PersonOffer] = []
        ids = self.index.by_name.get(tuple(sorted(words(cn))), ())
        if ids:
            confidence, match = _match("attendee-name", f'{role} named "{cn}"')
            offers.extend((cid, confidence, match) for cid in ids)
        for hit in self.index.names.find(cn, is_name=True):
            if hit.one_word:
                confidence, match = _match("name-word", f'{role} named "{cn}": {hit.evidence}')
            else:
                confidence, match = _match("attendee-name-part", f'{role} named "{cn}"')
            offers.append((hit.contact_id, confidence, match))
        return tuple(offers)

    def read_text(self, field: str, text: str) -> TextOffers:
        """Given a field ("summary", "location", "description" or "categories") and its
        non-empty text, return what it offers, and keep that in :attr:`texts` (callers look
        there first)."""
        if field == "summary":
            found = self._summary(text)
        elif self.index.may_hit(text):
            found = self._text(field, text)
        else:
            found = NOTHING  # most texts: no word of theirs starts a name or phrase
        cache = self.texts[field]
        if len(cache) < _TEXT_CACHE:
            cache[text] = found
        return found

    def _summary(self, text: str) -> TextOffers:
        """Read a summary, which is also read for conference keywords. An ASCII one (most) is
        split into words once for both readings, in C."""
        if text.isascii():
            split = ascii_words(text)
            if self.index.ascii_leads.isdisjoint(split):
                return _KEYWORD_ONLY if self.keywords.in_ascii_words(split) else NOTHING
        return self._text("summary", text)

    def _text(self, field: str, text: str) -> TextOffers:
        folded = fold(text)
        keyword = field == "summary" and self.keywords.in_text(folded)
        if field == "summary" and not self.index.may_hit(text):
            return _KEYWORD_ONLY if keyword else NOTHING
        text_words = WORD.findall(folded)
        names: list[Offer] = []
        if field != "categories" and not self.index.names.by_lead.keys().isdisjoint(text_words):
            for hit in self.index.names.find(text):
                by = "name-word" if hit.one_word else f"name-in-{field}"
                confidence, match = _match(by, f"{hit.evidence} in the {field}")
                names.append((hit.contact_id, (confidence, match, False)))
        phrases: list[Offer] = []
        if self.index.lead_words.isdisjoint(text_words):
            return TextOffers(tuple(names), (), keyword)
        for phrase in phrases_in(folded, self.index):
            phrases.append(self._phrase_offer(phrase, field))
        return TextOffers(tuple(names), tuple(phrases), keyword)

    def _phrase_offer(self, phrase: Phrase, field: str) -> Offer:
        """Return the match a phrase offers in a field, made once per call: a phrase (an
        organisation, a conference's name) recurs across the texts of many events."""
        key = (id(phrase), field)  # the index holds every phrase for the whole call
        found = self.phrase_offers.get(key)
        if found is None:
            if phrase.role == "affinity":
                by, evidence = "conference-affinity", f'affinity "{phrase.text}" in the {field}'
            else:
                by, evidence = "conference-org", f'organisation "{phrase.text}" in the {field}'
            confidence, match = _match(by, evidence)
            found = self.phrase_offers[key] = (phrase.contact_id, (confidence, match, False))
        return found


__all__ = [
    "CONFIDENCE",
    "ME",
    "NOTHING",
    "Entry",
    "Keywords",
    "Offer",
    "Person",
    "PersonOffer",
    "Scanner",
    "TextOffers",
]
