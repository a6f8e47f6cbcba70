"""Issue 11, kind 6: a part of a name is not the person.

The contact is "Martin Keller" with the alias "Martin". Each case states the expected rule and
confidence (detection's CONFIDENCE table): a full name in the summary is ``name-in-summary`` 0.7,
in a CN ``attendee-name`` 0.85 (exact) or 0.75 (inside); a match resting on one word alone is
``name-word`` 0.4; a one-word alias joined to someone else's name is no match at all.
"""

from __future__ import annotations

import pytest

from mendcrm.detection import CONFIDENCE
from mendcrm.model import Contact
from mendcrm.names import NameMatcher
from tests.core.builders import attendee, contact, find, occurrence

MARTIN = contact("c-martin", "Martin Keller", aliases=("Martin",))
ZOE = contact("c-zoe", "Zoë Brandt")
ANNE = contact("c-anne", "Anne-Marie Roth", aliases=("Anne",))


def _summary(text: str, *people: Contact) -> list[tuple[str, str, float]]:
    found = find(occurrence(summary=text), list(people or (MARTIN,)))
    return [(e.contact_id, e.match.by, e.match.confidence) for e in found]


@pytest.mark.parametrize(
    "text",
    [
        "Lunch with Martin Schmidt",  # another surname
        "Martin Schmidt / budget",  # at the start of the text
        "Martin Luther King Day",  # a named day
        "Office closed: Martin Luther King Jr. Day",
        "St. Martin",  # a saint's day, with the abbreviation's dot
        "St Martin's parade",
        "Lunch at San Martin",  # a place
        "Sankt Martin Umzug",
        "Jean-Martin's farewell",  # a hyphenated first name that is someone else's
        "Coffee with Martin de Vries",  # a particle, then another surname
        "LUNCH WITH MARTIN SCHMIDT",  # all capitals: every word counts as name-like
        "lunch with martin schmidt",  # all lower case: likewise
        "Lunch With Martin Schmidt",  # Title Case: "With" shows capitals mean nothing here
        "Notes\nCall With Martin Schmidt",  # Title Case on its own line
    ],
)
def test_one_word_alias_joined_to_another_name_is_not_the_contact(text: str) -> None:
    assert _summary(text) == []
    assert find(occurrence(summary="Busy", location=text, description=text), [MARTIN]) == []


@pytest.mark.parametrize(
    "text",
    [
        "Coffee with Martin",  # the alias alone
        "COFFEE WITH MARTIN",
        "coffee with martin",
        "Coffee With Martin",
        "Martin, Anna and Li",  # a list: commas and "and" do not join names
        "Martin/Anna sync",
        "Martin & Anna",
        "Martin's farewell",  # a possessive ends the name
        "Martin Sync",  # a meeting word, not a surname
        "Weekly sync Martin",
        "Dr. Martin",  # a title says nothing about which Martin
        "Coffee with Martin. Then the review",  # a full stop ends the name
        "Coffee with Martin K.",  # his own initial
        "Martin-led workshop",  # a lower-case word after a hyphen is no name
        "Anna Martin",  # a capital at the start says nothing: kept, weakly (see mendcrm.names)
    ],
)
def test_other_one_word_matches_are_name_word_at_low_confidence(text: str) -> None:
    [enc] = find(occurrence(summary=text), [MARTIN])
    assert (enc.match.by, enc.match.confidence) == ("name-word", 0.4)
    word = next(w for w in ("MARTIN", "Martin", "martin") if w in text)
    assert enc.match.evidence == f'the word "{word}" alone in the summary'


def test_one_word_in_location_or_description_is_name_word_quoting_the_field() -> None:
    [loc] = find(occurrence(summary="Busy", location="Martin's office"), [MARTIN])
    [desc] = find(occurrence(summary="Busy", description="Agenda: ask martin about Q3"), [MARTIN])
    assert (loc.match.by, loc.match.confidence) == ("name-word", 0.4)
    assert loc.match.evidence == 'the word "Martin" alone in the location'
    assert (desc.match.by, desc.match.evidence) == (
        "name-word",
        'the word "martin" alone in the description',
    )
    # A foreign surname rules it out in these fields too (every field has the same matcher).
    assert find(occurrence(summary="Busy", location="Martin Schmidt's office"), [MARTIN]) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Coffee with Martin Keller", "Martin Keller"),
        ("Anna Roth, Martin Keller, Li Wei", "Martin Keller"),
        ("MARTIN KELLER 1:1", "MARTIN KELLER"),
        ("Lunch with martin keller", "martin keller"),
        ("Lunch with Martin  Keller", "Martin  Keller"),
    ],
)
def test_full_name_is_name_in_summary_wherever_it_stands(text: str, words: str) -> None:
    [enc] = find(occurrence(summary=text), [MARTIN])
    assert (enc.match.by, enc.match.confidence) == ("name-in-summary", 0.7)
    assert enc.match.evidence == f'"{words}" in the summary'


@pytest.mark.parametrize(
    "text", ["Lunch with Zoe Brandt", "Lunch with ZOË BRANDT", "Lunch with Zoe\u0308 Brandt"]
)
def test_diacritics_case_and_decomposed_forms_match_the_full_name(text: str) -> None:
    assert _summary(text, ZOE) == [("c-zoe", "name-in-summary", 0.7)]


@pytest.mark.parametrize(
    "text", ["Review with Anne-Marie Roth", "anne marie roth", "ANNE-MARIE ROTH"]
)
def test_hyphenated_full_name_matches_with_or_without_the_hyphen(text: str) -> None:
    assert _summary(text, ANNE) == [("c-anne", "name-in-summary", 0.7)]


def test_a_hyphenated_name_beginning_with_the_alias_is_not_the_alias_alone() -> None:
    # "Anne-Marie Schulz" holds the alias "Anne", joined by a hyphen to "Marie": someone else.
    assert _summary("Lunch with Anne-Marie Schulz", ANNE) == []


@pytest.mark.parametrize("text", ["Lunch with Martin", "Martin Keller's offsite", "Keller"])
def test_a_given_name_that_is_not_an_alias_never_matches(text: str) -> None:
    no_alias = contact("c-martin", "Martin Keller")
    found = _summary(text, no_alias)
    assert all(by != "name-word" for _, by, _ in found)
    assert found == ([("c-martin", "name-in-summary", 0.7)] if "Keller's" in text else [])
    occ = occurrence(summary="Planning", attendees=(attendee("m@x.example", cn="Martin"),))
    assert find(occ, [no_alias]) == []


@pytest.mark.parametrize(
    ("cn", "expected"),
    [
        ("Martin Schmidt", None),  # another person's whole name
        ("martin schmidt", None),  # a CN is a name whatever its case
        ("Jean-Martin Dubois", None),
        ("Martin de Vries", None),
        ("Martin", ("name-word", 0.4)),  # the alias alone
        ("Martin (Acme)", ("name-word", 0.4)),
        ("Martin from Acme", ("name-word", 0.4)),
        ("Martin Keller", ("attendee-name", 0.85)),  # the full name, exactly
        ("Keller, Martin", ("attendee-name", 0.85)),  # reversed, as directories write it
        ("Dr. Martin Keller", ("attendee-name", 0.75)),  # the full name inside the CN
    ],
)
def test_attendee_cn_forms(cn: str, expected: tuple[str, float] | None) -> None:
    occ = occurrence(summary="Planning", attendees=(attendee("someone@x.example", cn=cn),))
    found = [(e.match.by, e.match.confidence) for e in find(occ, [MARTIN])]
    assert found == ([] if expected is None else [expected])
    if expected == ("name-word", 0.4):
        [enc] = find(occ, [MARTIN])
        assert enc.match.evidence == f'attendee named "{cn}": the word "Martin" alone'


def test_organizer_cn_follows_the_same_rule() -> None:
    other = occurrence(summary="Planning", organizer=attendee("ms@x.example", cn="Martin Schmidt"))
    assert find(other, [MARTIN]) == []
    alone = occurrence(summary="Planning", organizer=attendee("m@x.example", cn="Martin"))
    [enc] = find(alone, [MARTIN])
    assert enc.match.by == "name-word"
    assert enc.match.evidence.startswith('organizer named "Martin"')


def test_a_stronger_rule_beats_the_word_alone() -> None:
    occ = occurrence(
        summary="Coffee with Martin",
        attendees=(attendee("mk@x.example", cn="Martin Keller"),),
    )
    [enc] = find(occ, [MARTIN])
    assert (enc.match.by, enc.match.confidence) == ("attendee-name", 0.85)


def test_the_word_alone_is_below_every_full_name_rule_and_above_min_confidence() -> None:
    assert CONFIDENCE["name-word"] < CONFIDENCE["name-in-description"]
    # The default min_confidence (0.3) keeps it: a weak hint is shown, never silently dropped.
    assert CONFIDENCE["name-word"] >= 0.3


def test_two_contacts_sharing_an_alias_are_both_offered_at_low_confidence() -> None:
    other = contact("c-martin-b", "Martin Braun", aliases=("Martin",))
    assert _summary("Coffee with Martin", MARTIN, other) == [
        ("c-martin", "name-word", 0.4),
        ("c-martin-b", "name-word", 0.4),
    ]
    # "Martin Braun" is one contact's full name and joins the other's alias to a foreign word.
    assert _summary("Coffee with Martin Braun", MARTIN, other) == [
        ("c-martin-b", "name-in-summary", 0.7)
    ]


def test_matcher_gives_words_positions_and_evidence() -> None:
    matcher = NameMatcher.build([MARTIN, ZOE])
    text = "Zoë Brandt, then Martin; later St. Martin"
    hits = matcher.find(text)
    assert [(h.contact_id, h.words, text[h.start : h.end], h.one_word) for h in hits] == [
        ("c-zoe", "Zoë Brandt", "Zoë Brandt", False),
        ("c-martin", "Martin", "Martin", True),
    ]
    assert hits[0].name == "Zoë Brandt" and hits[1].name == "Martin"
    assert hits[1].start == text.index("Martin")
    assert hits[1].evidence == 'the word "Martin" alone'
