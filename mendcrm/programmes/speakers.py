"""Speakers matched to flagged contacts, with the one name matcher (:mod:`mendcrm.names`).

A speaker's listed name is read as one person's name (``is_name``): "Robert Hale", "Hale,
Robert", "Dr. Robert Hale", "Robert J. Hale", "ROBERT HALE" and accented forms are the contact
"Robert Hale"; "Roberta Hale", "Robert Haley" and a longer surname ("Kwame Osei-Bonsu" for
"Kwame Osei") are not, and a one-word alias alone is too weak to tell anyone in a programme of
hundreds. How sure:

==========================  ==========  =================================================
case                        confidence  evidence
==========================  ==========  =================================================
the affiliation is the      0.9         ``speaker "Robert Hale" (Acme Cloud)``
contact's organisation
the name, no affiliation    0.8         ``speaker "Robert Hale"``
(or the contact has none)
the affiliation names       0.5         ``speaker "Robert Hale" (Globex; not Acme Cloud,
another organisation                    perhaps another person)``
==========================  ==========  =================================================

Only flagged contacts are matched (the caller's :class:`~mendcrm.names.NameMatcher` holds them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mendcrm.model import Contact
from mendcrm.names import NameMatcher, name_words
from mendcrm.programmes.model import Programme, Session, Speaker

NAME = 0.8
SAME_ORG = 0.9
OTHER_ORG = 0.5


@dataclass(frozen=True, slots=True)
class SpeakerMatch:
    """A flagged contact found among one session's speakers."""

    session: Session
    contact_id: str
    speaker: Speaker
    confidence: float
    evidence: str


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return n > 0 and any(words[i : i + n] == part for i in range(len(words) - n + 1))


def same_organisation(affiliation: str, org: str) -> bool:
    """Given a listed affiliation and a contact's organisation, return True if they name the
    same one: equal once folded, or one holds the other's words in order ("Acme Cloud Ltd",
    "Acme Cloud")."""
    a, b = name_words(affiliation), name_words(org)
    return bool(a and b) and (_contains(a, b) or _contains(b, a))


def judge(speaker: Speaker, contact: Contact) -> tuple[float, str]:
    """Given a speaker whose name is the contact's, return (confidence, evidence)."""
    quoted = f'speaker "{speaker.name}"'
    if not speaker.affiliation:
        return NAME, quoted
    if not contact.org:
        return NAME, f"{quoted} ({speaker.affiliation})"
    if same_organisation(speaker.affiliation, contact.org):
        return SAME_ORG, f"{quoted} ({speaker.affiliation})"
    return OTHER_ORG, (
        f"{quoted} ({speaker.affiliation}; not {contact.org}, perhaps another person)"
    )


def match_speakers(
    programme: Programme, contacts: Mapping[str, Contact], matcher: NameMatcher
) -> list[SpeakerMatch]:
    """Given a programme, the flagged contacts by id and a matcher built from them, return one
    match per (session, contact) that speaks there, the most confident speaker entry kept, in
    the programme's session order."""
    found: list[SpeakerMatch] = []
    for session in programme.sessions:
        best: dict[str, SpeakerMatch] = {}
        for speaker in session.speakers:
            for hit in matcher.find(speaker.name, is_name=True):
                contact = contacts.get(hit.contact_id)
                if hit.one_word or contact is None:
                    continue
                confidence, evidence = judge(speaker, contact)
                current = best.get(contact.id)
                if current is None or confidence > current.confidence:
                    best[contact.id] = SpeakerMatch(
                        session, contact.id, speaker, confidence, evidence
                    )
        found.extend(best[cid] for cid in sorted(best))
    return found


def flagged_matcher(contacts: Iterable[Contact]) -> tuple[dict[str, Contact], NameMatcher]:
    """Given contacts, return the flagged ones by id and a name matcher built from them."""
    flagged = {c.id: c for c in contacts if c.flagged}
    return flagged, NameMatcher.build(flagged.values())


__all__ = [
    "NAME",
    "OTHER_ORG",
    "SAME_ORG",
    "SpeakerMatch",
    "flagged_matcher",
    "judge",
    "match_speakers",
    "same_organisation",
]
