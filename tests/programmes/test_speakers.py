"""Speakers matched to flagged contacts by the one name matcher: variants, traps, confidences.

The contact is "Robert Hale" of Acme Cloud (strained, so flagged). The issue's rule: the name,
as a person would read it, is 0.8; with the affiliation of the contact's organisation 0.9; with
another organisation's 0.5, and the evidence says so.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mendcrm.programmes.model import Programme, Session, Speaker
from mendcrm.programmes.speakers import flagged_matcher, match_speakers
from tests.core.builders import contact

ROBERT = contact("c-robert", "Robert Hale", org="Acme Cloud")
KWAME = contact("c-kwame", "Kwame Osei")
T = datetime(2027, 3, 11, 10, tzinfo=UTC)


def _found(*speakers: Speaker, people: tuple = (ROBERT, KWAME)) -> list[tuple[str, float, str]]:
    programme = Programme("FinOps", (Session("s1", "Talk", T, T, speakers=speakers),))
    flagged, matcher = flagged_matcher(people)
    return [
        (m.contact_id, m.confidence, m.evidence)
        for m in match_speakers(programme, flagged, matcher)
    ]


@pytest.mark.parametrize(
    "listed",
    [
        "Robert Hale",
        "Hale, Robert",  # Indico's fullName, directories
        "Dr. Robert Hale",  # a title is not part of the name
        "Prof. Dr. Robert Hale",
        "Robert J. Hale",  # a middle initial his name does not write
        "Hale, Robert J.",
        "ROBERT HALE",
        "robert hale",
        "Róbert Hâle",  # accents folded
        "Robert  Hale",
    ],
)
def test_the_ways_a_programme_writes_his_name(listed: str) -> None:
    assert _found(Speaker(listed)) == [("c-robert", 0.8, f'speaker "{listed}"')]


@pytest.mark.parametrize(
    "listed",
    [
        "Roberta Hale",  # another given name
        "Robert Haley",  # another surname
        "Robert Hales",
        "Hale",  # a surname alone names no one in a programme of hundreds
        "Robert",
        "Robert Hale-Smith",  # a longer, double-barrelled surname
        "Hale, Roberta",
        "Robert, Hale & Partners",
    ],
)
def test_names_that_are_not_him(listed: str) -> None:
    assert _found(Speaker(listed)) == []


@pytest.mark.parametrize("listed", ["Kwame Osei-Bonsu", "KWAME OSEI-BONSU", "Osei-Bonsu, Kwame"])
def test_a_longer_surname_is_not_the_shorter_one(listed: str) -> None:
    assert _found(Speaker(listed)) == []


def test_kwame_osei_himself_is_found() -> None:
    assert _found(Speaker("Osei, Kwame", "Globex")) == [
        ("c-kwame", 0.8, 'speaker "Osei, Kwame" (Globex)')  # no org on file: the name alone
    ]


@pytest.mark.parametrize(
    ("affiliation", "confidence", "evidence"),
    [
        ("Acme Cloud", 0.9, 'speaker "Robert Hale" (Acme Cloud)'),
        ("ACME CLOUD Ltd", 0.9, 'speaker "Robert Hale" (ACME CLOUD Ltd)'),
        (
            "Globex",
            0.5,
            'speaker "Robert Hale" (Globex; not Acme Cloud, perhaps another person)',
        ),
        ("", 0.8, 'speaker "Robert Hale"'),
    ],
)
def test_affiliation_raises_or_lowers_confidence(
    affiliation: str, confidence: float, evidence: str
) -> None:
    assert _found(Speaker("Robert Hale", affiliation)) == [("c-robert", confidence, evidence)]


def test_only_flagged_contacts_are_matched() -> None:
    mended = contact("c-robert", "Robert Hale", stage="mended")
    assert _found(Speaker("Robert Hale"), people=(mended,)) == []


def test_one_match_per_session_and_contact_keeping_the_surest() -> None:
    # Listed twice (a programme that names him as speaker and as moderator): one match, 0.9.
    assert _found(Speaker("Robert Hale", "Globex"), Speaker("Hale, Robert", "Acme Cloud")) == [
        ("c-robert", 0.9, 'speaker "Hale, Robert" (Acme Cloud)')
    ]


def test_two_contacts_on_one_panel() -> None:
    found = _found(Speaker("Robert Hale"), Speaker("Kwame Osei"))
    assert [c for c, _, _ in found] == ["c-kwame", "c-robert"]
