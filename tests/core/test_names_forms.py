"""Issue 13's name forms in the one matcher, for calendar text as for speakers: a middle
initial between the words of a name, a longer hyphenated surname, "Last, First" in a CN."""

from __future__ import annotations

import pytest

from tests.core.builders import attendee, contact, find, occurrence

ROBERT = contact("c-robert", "Robert Hale")
KWAME = contact("c-kwame", "Kwame Osei")


@pytest.mark.parametrize(
    ("summary", "words"),
    [
        ("Coffee with Robert J. Hale", "Robert J. Hale"),
        ("Coffee with Robert J Hale", "Robert J Hale"),
        ("Keynote: Dr. Robert Hale", "Robert Hale"),
        ("Robert Hale-led workshop", "Robert Hale"),  # a lower-case word after a hyphen
    ],
)
def test_full_name_with_initial_or_title_is_name_in_summary(summary: str, words: str) -> None:
    [enc] = find(occurrence(summary=summary), [ROBERT])
    # name-in-summary is 0.7 (detection's CONFIDENCE table); the evidence quotes the words.
    assert (enc.match.by, enc.match.confidence) == ("name-in-summary", 0.7)
    assert enc.match.evidence == f'"{words}" in the summary'


@pytest.mark.parametrize(
    "summary", ["Lunch with Kwame Osei-Bonsu", "LUNCH WITH KWAME OSEI-BONSU", "Anna-Kwame Osei"]
)
def test_a_longer_hyphenated_name_is_someone_else(summary: str) -> None:
    assert find(occurrence(summary=summary), [KWAME]) == []


def test_a_cn_written_last_first_with_an_initial() -> None:
    # "Hale, Robert J." read as "Robert J. Hale": the full name inside the CN, 0.75.
    occ = occurrence(summary="Budget", attendees=(attendee("rh@acme.example", "Hale, Robert J."),))
    [enc] = find(occ, [ROBERT])
    assert (enc.match.by, enc.match.confidence) == ("attendee-name", 0.75)
