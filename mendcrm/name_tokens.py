"""A text read word by word for the name matcher (:mod:`mendcrm.names`).

:func:`tokenise` gives each folded word with its span and the characters before it; the rest
answer the questions the matcher's rules ask of those words: whether a name may go on from one
word to the next (:func:`joined`, :func:`span_end`), whether capitals carry meaning on a line
(:func:`caseless_lines`), and whether a word is the contact's own (:func:`own_word`) or someone
else's name-like word (:func:`name_like`). They are apart from the matcher because they know
nothing of contacts: they read text, and the matcher decides who it names.
"""

from __future__ import annotations

from typing import NamedTuple

from mendcrm.name_words import COMMON_WORDS, FUNCTION_WORDS, TOKEN, folded_words

_JOINERS = frozenset({"-", "\u2010", "'", "\u2019", "."})
"""Punctuation that may sit inside a name ("Jean-Luc", "O'Neill", "J.R.")."""
HYPHENS = frozenset({"-", "\u2010"})
"""A hyphen binds two words into one name ("Jean-Martin", "Osei-Bonsu")."""
APOSTROPHES = frozenset({"'", "\u2019"})
"""Before an "s", a possessive ("Martin's"): it ends a name."""
_CLAUSE_BREAKS = frozenset('.!?:;|•–—-([{"“«\n\r\t')
"""A word after one of these starts a sentence or clause: its capital says nothing."""


class Word(NamedTuple):
    """One word of a text (a named tuple: texts are read word by word, often)."""

    folded: str
    original: str
    start: int
    end: int
    gap: str
    """The characters between the previous word and this one ("" for the first)."""


def tokenise(text: str) -> list[Word]:
    """Given a text, return its words in order: each :data:`~mendcrm.name_words.TOKEN` folded
    (:func:`~mendcrm.name_words.folded_words`; a token may fold to several words, the gap going
    with the first), with the token as written, its character span and the gap before it."""
    out: list[Word] = []
    last = 0
    if text.isascii():
        # An ASCII token is one word of letters, digits and "_", and folding it is lower():
        # its folded words are [token.lower()], without folding and splitting it again.
        for m in TOKEN.finditer(text):
            token = m.group()
            start, end = m.span()
            out.append(Word(token.lower(), token, start, end, text[last:start]))
            last = end
        return out
    for m in TOKEN.finditer(text):
        gap = text[last : m.start()]
        for k, folded in enumerate(folded_words(m.group())):
            out.append(Word(folded, m.group(), m.start(), m.end(), gap if k == 0 else ""))
        last = m.end()
    return out


def caseless_lines(tokens: list[Word]) -> list[bool]:
    """Given a text's words, return, per word, whether capitals carry no meaning on its line:
    the line is all capitals or all lower case, or in Title Case (a function word capitalised
    mid-sentence, "Lunch With …")."""
    lines: list[list[Word]] = []
    for w in tokens:
        if not lines or "\n" in w.gap or "\r" in w.gap:
            lines.append([])
        lines[-1].append(w)
    out: list[bool] = []
    for line in lines:
        letters = [w.original for w in line if w.original[0].isalpha()]
        upper = len(letters) >= 2 and one_case(letters)  # all capitals, or no capital at all
        title = any(
            w.folded in FUNCTION_WORDS
            and len(w.folded) > 1
            and w.original[0].isupper()
            and not starts_clause(w.gap)
            for w in line[1:]
        )
        out.extend([upper or title] * len(line))
    return out


def one_case(texts: list[str]) -> bool:
    """Given texts, return True if they hold cased letters of one case only (all capitals, or
    none)."""
    together = "".join(texts)
    if together.isupper() or together.islower():
        return True
    if together.isascii():
        return False  # both cases, or no letter with a case
    # str.isupper() and str.islower() say False beside a title-case letter ("ǅ"): look at
    # the upper- and lower-case letters alone.
    return len({c.isupper() for c in together if c.isupper() or c.islower()}) == 1


def starts_clause(gap: str) -> bool:
    """Given the characters before a word, return True if the word starts a sentence or clause
    (a capital there says nothing)."""
    return not _CLAUSE_BREAKS.isdisjoint(gap)


def next_words(tokens: list[Word], i: int) -> set[str]:
    """Given words and an index, return every word a name starting at ``tokens[i]`` may go on
    with (:func:`span_end`): the next word, and the words after each middle initial that may
    stand between."""
    found: set[str] = set()
    for j in range(i + 1, len(tokens)):
        word = tokens[j]
        found.add(word.folded)
        if not (
            len(word.original) == 1 and word.original.isalpha() and joined(tokens[j - 1], word)
        ):
            break
    return found


def span_end(tokens: list[Word], i: int, words: tuple[str, ...]) -> int | None:
    """Given words, an index and a name's folded words, return the index of the last token of
    ``words`` read from ``tokens[i]`` on, or None if they do not stand there.

    The words must follow one another joined as a name (:func:`joined`); a middle initial the
    contact's name does not write ("Robert J. Hale" for "Robert Hale") may sit between two."""
    j = i
    for want in words[1:]:
        j += 1
        while (
            j < len(tokens)
            and tokens[j].folded != want
            and len(tokens[j].original) == 1
            and tokens[j].original.isalpha()
            and joined(tokens[j - 1], tokens[j])
        ):
            j += 1  # an initial: "J." in "Robert J. Hale"
        if j >= len(tokens) or tokens[j].folded != want or not joined(tokens[j - 1], tokens[j]):
            return None
    return j


def joined(a: Word, b: Word) -> bool:
    """Given two words in a row, return True if a name may go on from ``a`` to ``b``: "Robert &
    Hale" is not "Robert Hale", and "Martin. Then" is two sentences, but "J. R." and "St.
    Martin" are one name."""
    gap = b.gap
    if not gap:
        return a.start == b.start  # parts of one word that folding split ("½" → "1⁄2")
    if gap.isspace():
        return True
    mark = gap.strip()
    if mark not in _JOINERS:
        return False
    return mark != "." or len(a.original) <= 3  # an initial or an abbreviation ("Dr.", "St.")


def own_word(word: Word, mine: frozenset[str]) -> bool:
    """Given a word and a contact's folded name words, return True if the word is one of them
    or an initial of one."""
    return word.folded in mine or (len(word.folded) == 1 and any(m[0] == word.folded for m in mine))


def name_like(word: Word, *, caseless: bool, clause_start: bool) -> bool:
    """Given a word (not one of this contact's), whether capitals carry no meaning on its line
    and whether it starts a clause, return True if it is name-like (:mod:`mendcrm.names`)."""
    if word.folded in COMMON_WORDS or not word.original[0].isalpha():
        return False
    if caseless:
        return True
    return word.original[0].isupper() and not clause_start


__all__ = [
    "APOSTROPHES",
    "HYPHENS",
    "Word",
    "caseless_lines",
    "joined",
    "name_like",
    "next_words",
    "one_case",
    "own_word",
    "span_end",
    "starts_clause",
    "tokenise",
]
