"""The one name matcher: where a text names one of the user's contacts, and how surely.

Detection uses it for an event's summary, location and description and for attendee/organizer
CNs; the conference programme reuses it for speakers. :class:`NameMatcher` is built once from the
contacts and :meth:`NameMatcher.find` returns every :class:`NameHit` in a text: the contact, the
name or alias that matched, the words as they stand in the text and their character span.
The matcher reads the text word by word through :mod:`mendcrm.name_tokens` (the words, their
joins and case); this module holds the contacts' names and the rules below.

Words are compared case-, accent- and compatibility-folded (:func:`fold`); a name of several
words matches only as consecutive words separated by spaces or name punctuation ("Jean-Luc",
"O'Neill", "J. R."), never across a comma, "&" or "/". A middle initial the contact's name does not
write may stand between two of its words ("Robert J. Hale" is "Robert Hale"), but a name that
runs on by a hyphen into another name-like word is someone else's longer name ("Kwame
Osei-Bonsu" is not "Kwame Osei"). A text that is one person's name (a CN, a speaker) may be
written "Last, First" ("Hale, Robert"): it is read as "First Last". Titles ("Dr.") are not part
of a name, so "Dr. Robert Hale" holds "Robert Hale".

**A name of one word** (an alias such as "Martin", or a one-word name) is weak evidence, and it
is often part of someone else's name. The rule:

* It is **rejected** when it is directly joined (by a space or a hyphen) to a *name-like* word
  that is not this contact's: "Martin Schmidt", "Jean-Martin", "Martin Luther King Day",
  "Martin de Vries". After a saint's prefix ("St. Martin", "San Martin", "Sankt Martin") it is
  a saint or a place, whatever the case.
* Otherwise it is a hit with ``one_word`` set ("Coffee with Martin", "Martin's farewell",
  "Martin, Anna and Li", "Martin/Anna"): the caller gives it a low confidence.

A word is *name-like* when, in a text whose capitals carry meaning, it starts with a capital,
is not the first word of a sentence or clause (where any word has one), and is not one of the
common words below (function words and meeting words: "With", "Sync", "Lunch" in "Martin
Sync"). On a line whose capitals carry no meaning (all capitals, all lower case, or Title Case:
a function word such as "With" capitalised mid-sentence) and in a CN (every word of which is a
name), any word that is not a common word is name-like; so there "Martin Budget" is rejected
too, a miss accepted because case gives nothing else to go on.

Lower-case name particles ("de", "van", "von") and this contact's own name words or initials
("Martin K.", "Anne-Marie Schulz" for the alias "Anne" of "Anne-Marie Roth") are looked through
to the next word. A possessive "'s" ends a name; a full stop ends it unless it follows an
initial or an abbreviation ("St."). A word at the start of a sentence or clause is not
name-like by its capital alone, so "Anna Martin" keeps a low-confidence hit: a weak hint is
better than a silent miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from mendcrm.name_tokens import (
    APOSTROPHES,
    HYPHENS,
    Word,
    caseless_lines,
    joined,
    name_like,
    next_words,
    own_word,
    span_end,
    starts_clause,
    tokenise,
)
from mendcrm.name_words import (
    COMMON_WORDS,
    FUNCTION_WORDS,
    NAME_PARTICLES,
    SAINT_PREFIXES,
    WORDS,
    fold,
    name_words,
)

_FEW = 8
"""Above this many names sharing a first word, they are sifted by their second word first."""
_LAST_FIRST = re.compile(r"^\s*(?P<last>[^,;&/()]+?)\s*,\s*(?P<first>[^,;&/()]+?)\s*$")
"""A person's name written "Last, First" (one comma, nothing else that separates people)."""


class Named(Protocol):
    """What the matcher needs of a contact."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class NameHit:
    """Where a text names a contact."""

    contact_id: str
    name: str
    """The contact's name or alias that matched, as the contact spells it."""
    words: str
    """The matched words as they stand in the text."""
    start: int
    end: int
    """Character offsets of ``words`` in the text (``text[start:end] == words``)."""
    one_word: bool
    """True if the hit rests on one word alone: weak evidence."""

    @property
    def evidence(self) -> str:
        """A short quotation for the user: the words, and "alone" for a one-word hit."""
        return f'the word "{self.words}" alone' if self.one_word else f'"{self.words}"'


@dataclass(frozen=True, slots=True)
class _Name:
    words: tuple[str, ...]
    contact_id: str
    text: str


@dataclass(slots=True)
class NameMatcher:
    """Contacts' names and aliases indexed by first word (and, where many share one, by second
    word); build it with :meth:`build`."""

    by_lead: dict[str, list[_Name]] = field(default_factory=dict)
    own_words: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per contact, every folded word of its name and aliases (not foreign next to its alias)."""
    by_second: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    """For a first word shared by many names: where in its :attr:`by_lead` list stand the
    names by their second word ("" for names of one word)."""

    @classmethod
    def build(cls, contacts: Iterable[Named]) -> NameMatcher:
        """Given contacts, return a matcher for their names and aliases."""
        matcher = cls()
        for contact in contacts:
            mine: set[str] = set()
            seen: set[tuple[str, ...]] = set()
            for term in (contact.name, *contact.aliases):
                folded = name_words(term)
                if not folded or folded in seen:
                    continue
                seen.add(folded)
                mine.update(folded)
                entry = _Name(folded, contact.id, term.strip())
                matcher.by_lead.setdefault(folded[0], []).append(entry)
            matcher.own_words[contact.id] = frozenset(mine)
        for first, entries in matcher.by_lead.items():
            if len(entries) > _FEW:
                for k, entry in enumerate(entries):
                    second = entry.words[1] if len(entry.words) > 1 else ""
                    matcher.by_second.setdefault((first, second), []).append(k)
        return matcher

    def find(self, text: str, *, is_name: bool = False) -> list[NameHit]:
        """Given a text, return every contact it names, in text order.

        ``is_name`` says the whole text is a person's name (an attendee's CN): then every word
        beside a one-word name is taken as part of that person's name. A contact named twice
        gives two hits; one-word hits of a contact inside its own longer hit are left out.
        """
        lead = self.by_lead
        if not text or lead.keys().isdisjoint(WORDS.findall(fold(text))):
            return []  # the common case, without building tokens
        if is_name:
            reversed_hits = self._last_first(text)
            if reversed_hits:
                return reversed_hits
        tokens = tokenise(text)
        starts = [i for i, w in enumerate(tokens) if w.folded in lead]
        if not starts:
            return []
        caseless = [True] * len(tokens) if is_name else caseless_lines(tokens)
        long_hits: list[NameHit] = []
        short: list[tuple[int, _Name]] = []
        covered: dict[str, set[int]] = {}
        for i in starts:
            first = tokens[i].folded
            entries = lead[first]
            if len(entries) > _FEW:  # a common first name: only names whose next word is there
                entries = self._sifted(first, entries, next_words(tokens, i))
            for entry in entries:
                if len(entry.words) == 1:
                    short.append((i, entry))
                    continue
                last = span_end(tokens, i, entry.words)
                if last is None or self._longer_name(tokens, i, last, entry, caseless):
                    continue
                long_hits.append(_hit(text, entry, tokens[i], tokens[last], one_word=False))
                covered.setdefault(entry.contact_id, set()).update(range(i, last + 1))
        hits = list(long_hits)
        for i, entry in short:
            if i in covered.get(entry.contact_id, ()):
                continue
            if self._joined_to_another_name(tokens, i, entry.contact_id, caseless[i]):
                continue
            hits.append(_hit(text, entry, tokens[i], tokens[i], one_word=True))
        hits.sort(key=lambda h: (h.start, -h.end, h.contact_id))
        return hits

    def _sifted(self, first: str, entries: list[_Name], seconds: set[str]) -> list[_Name]:
        """Return, in their order, the names of ``entries`` (all starting with ``first``) that
        are one word or whose second word is one of ``seconds``."""
        picks = [k for s in ("", *seconds) for k in self.by_second.get((first, s), ())]
        return [entries[k] for k in sorted(picks)]

    def _last_first(self, text: str) -> list[NameHit]:
        """For a person's name written "Last, First" ("Hale, Robert", "Hale, Robert J."), as
        directories and programmes write it: return the hits of "First Last", each quoting the
        whole text. Empty if the text is not of that form or names no one so."""
        match = _LAST_FIRST.match(text)
        if not match:
            return []
        last, first = match.group("last"), match.group("first")
        found = self.find(f"{first} {last}", is_name=True)
        start, end = match.start("last"), match.end("first")
        return [
            NameHit(h.contact_id, h.name, text[start:end], start, end, one_word=False)
            for h in found
            if not h.one_word
        ]

    def _longer_name(
        self, tokens: list[Word], first: int, last: int, entry: _Name, caseless: list[bool]
    ) -> bool:
        """Return True if the name at ``tokens[first..last]`` runs on, by a hyphen, into a
        name-like word that is not the contact's: "Kwame Osei-Bonsu" is not "Kwame Osei"."""
        mine = self.own_words.get(entry.contact_id, frozenset())
        after = last + 1
        if after < len(tokens) and tokens[after].gap.strip() in HYPHENS:
            word = tokens[after]
            if not own_word(word, mine) and name_like(
                word, caseless=caseless[after], clause_start=False
            ):
                return True
        if first > 0 and tokens[first].gap.strip() in HYPHENS:
            word = tokens[first - 1]
            if not own_word(word, mine) and name_like(
                word, caseless=caseless[first - 1], clause_start=False
            ):
                return True
        return False

    def _joined_to_another_name(
        self, tokens: list[Word], i: int, contact_id: str, caseless: bool
    ) -> bool:
        """Return True if the one-word name at ``tokens[i]`` is part of a longer foreign name."""
        mine = self.own_words.get(contact_id, frozenset())
        k = i - 1
        while k >= 0 and joined(tokens[k], tokens[k + 1]):
            before = tokens[k]
            if before.folded in SAINT_PREFIXES:
                return True
            if own_word(before, mine):
                k -= 1  # "Anne Marie Schulz" for the alias "Marie": look on
                continue
            # A hyphen binds: "Jean-Martin" is one name even at the start of a sentence.
            clause_start = tokens[k + 1].gap.strip() not in HYPHENS and (
                k == 0 or starts_clause(before.gap)
            )
            if name_like(before, caseless=caseless, clause_start=clause_start):
                return True
            break
        j = i + 1
        while j < len(tokens) and joined(tokens[j - 1], tokens[j]):
            after = tokens[j]
            if after.gap.strip() in APOSTROPHES and after.folded == "s":
                return False  # "Martin's": a possessive ends the name
            if own_word(after, mine) or (
                after.folded in NAME_PARTICLES and not after.original[0].isupper()
            ):
                j += 1  # "Martin de Vries", "Anne-Marie Schulz": look through to the next word
                continue
            return name_like(after, caseless=caseless, clause_start=False)
        return False


def _hit(text: str, entry: _Name, first: Word, last: Word, *, one_word: bool) -> NameHit:
    return NameHit(
        contact_id=entry.contact_id,
        name=entry.text,
        words=text[first.start : last.end],
        start=first.start,
        end=last.end,
        one_word=one_word,
    )


__all__ = [
    "COMMON_WORDS",
    "FUNCTION_WORDS",
    "NAME_PARTICLES",
    "SAINT_PREFIXES",
    "NameHit",
    "NameMatcher",
    "Named",
    "fold",
    "name_words",
]
