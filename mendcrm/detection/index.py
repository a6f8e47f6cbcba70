"""The flagged contacts indexed for detection, and the search for their phrases in a text.

:class:`ContactIndex` holds the flagged contacts by normalised e-mail, by the sorted words of
each name and alias of several words, by the first word(s) of every affinity term and
organisation, and in the one name matcher (:class:`~mendcrm.names.NameMatcher`). Its
:attr:`~ContactIndex.leads` are every word a hit can start with: a text holding none of them
names no contact and holds no phrase, which is what most texts are.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from mendcrm.addresses import mail_address
from mendcrm.model import Contact
from mendcrm.names import NameMatcher, fold

WORD = re.compile(r"\w+")
"""A folded word: the unit of every whole-word match (the name matcher's early exit uses the
same pattern on the same folded text, so one scan serves both)."""
_GAP_WORD = re.compile(r"(\W*)(\w+)")
_ASCII_WORDS = bytes(
    (b | 0x20 if chr(b).isupper() else b) if WORD.fullmatch(chr(b)) else ord(" ")
    for b in range(128)
) + bytes(range(128, 256))
"""A table turning an ASCII text into its folded words separated by spaces: capitals become
lower case (which is all :func:`~mendcrm.names.fold` does to ASCII) and every character that
is not a word character a space, so the words are the runs of non-spaces, split in C."""


_JOINERS = frozenset({"-", "\u2010", "'", "\u2019", "."})
"""Punctuation that may sit inside a name ("Jean-Luc", "O'Neill", "J.R.")."""


def ascii_words(text: str) -> list[bytes]:
    """Given an ASCII text, return its folded words (:func:`words`) as ASCII bytes, split in C."""
    return text.encode("ascii").translate(_ASCII_WORDS).split()


def words(text: str) -> list[str]:
    """Given any text, return its folded words: the unit of every whole-word match."""
    return WORD.findall(fold(text)) if text else []


@dataclass(frozen=True, slots=True)
class Phrase:
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
    by_lead: dict[str | tuple[str, str], list[Phrase]] = field(default_factory=dict)
    """Phrases keyed by their first word (one-word phrases) or first two words (longer ones),
    so a word many phrases start with ("University of …") does not make a long bucket."""
    lead_words: set[str] = field(default_factory=set)
    """The first word of every phrase: a text holding none of them holds no phrase."""
    leads: frozenset[str] = frozenset()
    """The first word of every phrase, name and alias: a text holding none of them (as folded
    words) gives no hit at all."""
    ascii_leads: frozenset[bytes] = frozenset()
    """The ASCII ones among :attr:`leads`, encoded: the only ones an ASCII text can hold."""

    @classmethod
    def build(cls, contacts: Iterable[Contact]) -> ContactIndex:
        """Given contacts, return an index of the flagged ones (the others are ignored)."""
        index = cls()
        # Organisations and affinity terms repeat across contacts: each is read once.
        terms: dict[str, tuple[str, ...]] = {}
        with cycles_collected_after():
            for contact in sorted((c for c in contacts if c.flagged), key=lambda c: c.id):
                index._add(contact, terms)
            index.names = NameMatcher.build(index.contacts.values())
        index.leads = frozenset(index.lead_words).union(index.names.by_lead)
        index.ascii_leads = frozenset(w.encode("ascii") for w in index.leads if w.isascii())
        return index

    def may_hit(self, text: str) -> bool:
        """Given a text, return False if none of its folded words can start a name or phrase
        of the index: then the text holds no hit at all.

        An ASCII text (most) is folded and split in C on a translation table; it can hold only
        ASCII leads.
        """
        if text.isascii():
            return not self.ascii_leads.isdisjoint(ascii_words(text))
        return not self.leads.isdisjoint(WORD.findall(fold(text)))

    def __len__(self) -> int:
        return len(self.contacts)

    def _add(self, contact: Contact, read: dict[str, tuple[str, ...]]) -> None:
        """Index one contact; ``read``: the folded words of the terms read so far."""
        cid = contact.id
        self.contacts[cid] = contact
        # Only real mail addresses: a principal path or urn:uuid is nobody's contact address.
        for email in {m for m in (mail_address(e) for e in contact.emails) if m}:
            self.by_email.setdefault(email, []).append(cid)
        for name in {contact.name, *contact.aliases}:
            folded = tuple(words(name))
            if len(folded) > 1:  # one word alone is the name matcher's weak rule, never exact
                _add_unique(self.by_name, tuple(sorted(folded)), cid)
        seen: set[tuple[str, tuple[str, ...], str]] = set()
        for role, terms in (("affinity", set(contact.affinity)), ("org", {contact.org})):
            for term in terms:
                known = read.get(term)
                if known is None:
                    known = read[term] = tuple(words(term))
                if not known:
                    continue
                text = term.strip()
                if (role, known, text) not in seen:  # a Phrase of this contact, as a key
                    seen.add((role, known, text))
                    phrase = Phrase(known, cid, role, text)
                    lead = known[0] if len(known) == 1 else (known[0], known[1])
                    self.by_lead.setdefault(lead, []).append(phrase)
                    self.lead_words.add(known[0])


@contextmanager
def cycles_collected_after() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; after it, move every tracked object to
    the oldest generation (``gc.freeze()`` then ``gc.unfreeze()``, as documented) and restart it.

    Detection and the index's build allocate tens of thousands of small acyclic objects
    (names, phrases, matches, encounters, each encounter's tuple of others) over a large live
    heap. Run with the collector on, they set off collections that find nothing; paused, the
    first allocation after the block collects the young generation, which then holds all of
    them: 30 ms of the 250 ms of 10,000 occurrences × 2,000 contacts, to find nothing (the
    tuples of others, sixty ids each at a conference, cost most of it), and a second walk when
    they are promoted past the middle generation. They outlive the call, so the collector would
    promote them to the oldest generation anyway; this does so at once, without the walks.
    Reference counting still frees them as ever.

    What it costs: cycles that became garbage in the caller just before the block (objects
    still young when it ends) wait for the next full collection instead of the next young one.
    Passes run in their own process (the CLI, the daemon's forked child), so that is at most
    the pass's lifetime. When something froze objects already (``gc.get_freeze_count()``, e.g.
    a read command's records, :mod:`mendcrm.cli.context`), they are left frozen and the block
    only restarts the collector.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def _add_unique(mapping: dict[tuple[str, ...], list[str]], key: tuple[str, ...], cid: str) -> None:
    ids = mapping.setdefault(key, [])
    if cid not in ids:
        ids.append(cid)


def _spaced(gap: str) -> bool:
    """Return True if a name may continue across ``gap``: "Robert & Hale" is not "Robert Hale",
    but "Jean-Luc" and "O'Neill" are names."""
    return bool(gap) and (gap.isspace() or gap.strip() in _JOINERS)


def _stands_at(phrase: tuple[str, ...], text_words: list[str], gaps: list[str], i: int) -> bool:
    """Return True if the words of ``phrase`` (whose first two were found joined at ``i``) are
    the text's from ``i`` on, each joined to the one before as a name may be."""
    n = len(phrase)
    return tuple(text_words[i : i + n]) == phrase and all(_spaced(g) for g in gaps[i + 2 : i + n])


def phrases_in(folded: str, index: ContactIndex) -> list[Phrase]:
    """Given a folded text (:func:`~mendcrm.names.fold`), return every indexed phrase in it as
    whole words separated by spaces or name punctuation, in text order."""
    pairs = _GAP_WORD.findall(folded)
    text_words = [w for _, w in pairs]
    found: list[Phrase] = []
    if index.lead_words.isdisjoint(text_words):
        return found  # most texts: checked in C, without walking the words
    gaps = [g for g, _ in pairs]
    lead, firsts = index.by_lead, index.lead_words
    for i, word in enumerate(text_words):
        if word not in firsts:
            continue  # no phrase starts with this word
        single = lead.get(word)
        if single:
            found.extend(single)
        double = lead.get((word, text_words[i + 1])) if i + 1 < len(text_words) else None
        if double and _spaced(gaps[i + 1]):
            # Contacts of one organisation share its phrase: each wording is checked once.
            here: dict[tuple[str, ...], bool] = {}
            for phrase in double:
                n = len(phrase.words)
                if n > 2:
                    fits = here.get(phrase.words)
                    if fits is None:
                        fits = here[phrase.words] = _stands_at(phrase.words, text_words, gaps, i)
                    if not fits:
                        continue
                found.append(phrase)
    return found


__all__ = [
    "WORD",
    "ContactIndex",
    "Phrase",
    "ascii_words",
    "cycles_collected_after",
    "phrases_in",
    "words",
]
