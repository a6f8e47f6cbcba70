"""Words as the name matcher reads them: folding, a name's words, and the word lists of its rules.

:func:`fold` is the one comparison form of text (compatibility-normalised, case-folded, without
accents); every whole-word comparison in detection and the name matcher (:mod:`mendcrm.names`)
is between folded words (``WORDS`` on folded text). The lists below are folded words that the
name rules treat apart: saints' prefixes, name particles, function words and common words.
"""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"[\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
"""A word as written: letters and digits with any combining marks (so "Zoë" in NFD stays one
word)."""
WORDS = re.compile(r"\w+")
"""A folded word."""

SAINT_PREFIXES = frozenset(
    {"st", "ste", "saint", "sainte", "san", "santa", "santo", "sankt", "sao", "sv", "sveti"}
)
"""Before a one-word name these make it a saint's name, a place or a day ("St. Martin")."""

NAME_PARTICLES = frozenset(
    {"de", "del", "della", "der", "den", "di", "da", "du", "dos", "das", "van", "von", "ter", "ten"}
    | {"le", "la", "bin", "ibn", "al", "el", "zu", "af", "av"}
)
"""Lower-case words inside names ("Martin de Vries"): looked through to the word after them."""

FUNCTION_WORDS = frozenset(
    # en, de, fr, es, it, nl, sv/no/da
    {"with", "and", "or", "the", "a", "an", "of", "for", "at", "in", "on", "to", "by", "from"}
    | {"via", "vs", "versus", "about", "re", "w", "x", "plus", "per", "into", "after", "before"}
    | {"mit", "und", "oder", "bei", "fur", "zum", "zur", "im", "am", "um", "beim", "nach"}
    | {"avec", "et", "ou", "pour", "chez", "con", "y", "e", "met", "en", "och", "med", "og"}
)
"""Folded function words: capitalised mid-sentence ("Lunch With …"), they mark Title Case."""

COMMON_WORDS = FUNCTION_WORDS | frozenset(
    # titles: "Dr. Martin" may well be this Martin
    {"dr", "mr", "mrs", "ms", "miss", "prof", "herr", "frau", "mme", "mlle", "sr", "sra"}
    # words that name the meeting, not a person
    | {"meeting", "meet", "call", "sync", "lunch", "dinner", "breakfast", "coffee", "drinks"}
    | {"chat", "catchup", "catch", "up", "standup", "review", "interview", "intro", "kickoff"}
    | {"planning", "retro", "demo", "workshop", "session", "talk", "check", "onboarding"}
    | {"offsite", "party", "farewell", "visit", "today", "tomorrow", "tbc", "tbd", "online"}
    | {"remote", "zoom", "teams", "office", "weekly", "daily", "monthly", "team", "project"}
    | {"notes", "agenda", "prep", "follow", "followup", "invite", "hold", "birthday", "1on1"}
    | {"hi", "hello", "dear", "thanks", "cc", "fyi"}
    | {"treffen", "termin", "besprechung", "mittagessen", "abendessen", "kaffee", "gesprach"}
    | {"reunion", "dejeuner", "diner", "cafe", "rendez", "vous", "appel"}
)
"""Folded words that are never part of a person's name here, whatever their case."""


def fold(text: str) -> str:
    """Given any text, return it compatibility-normalised, case-folded and without accents."""
    if text.isascii():
        return text.lower()  # the common case, and for ASCII casefold() is lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped)


def name_words(text: str) -> tuple[str, ...]:
    """Given a name as a contact spells it, return its folded words ("Jean-Luc" → jean, luc)."""
    if text.isascii():  # no combining marks, and folding is lower(), which splits no word
        return tuple(WORDS.findall(text.lower()))
    return tuple(w for token in TOKEN.findall(text) for w in folded_words(token))


def folded_words(token: str) -> list[str]:
    """Given one word as written, return its folded words: folding may split a word
    ("½" → "1⁄2"), and its parts are words of their own."""
    return WORDS.findall(fold(token))


__all__ = [
    "COMMON_WORDS",
    "FUNCTION_WORDS",
    "NAME_PARTICLES",
    "SAINT_PREFIXES",
    "TOKEN",
    "WORDS",
    "fold",
    "folded_words",
    "name_words",
]
