"""Finding, cleaning and merging contacts."""

from __future__ import annotations

import pytest

from mendcrm.contacts import clean_emails, fold, merge, resolve
from mendcrm.errors import NotFoundError, UsageError
from mendcrm.model import Contact
from mendcrm.vcard import parse_vcards

PEOPLE = [
    Contact(id="a1", name="José Álvarez", aliases=("Pepe",), emails=("jose@example.org",)),
    Contact(id="b2", name="Sam Lee"),
    Contact(id="c3", name="Sam Lee-Park"),
]


def test_fold_ignores_case_accents_and_spacing() -> None:
    assert fold("  JOSÉ   Álvarez ") == "jose alvarez"
    assert fold("ﬁona") == "fiona"


@pytest.mark.parametrize("query", ["a1", "jose alvarez", "PEPE", "mailto:Jose@Example.org", "Álv"])
def test_resolve_finds_by_id_name_alias_email_or_unique_part(query: str) -> None:
    assert resolve(PEOPLE, query).id == "a1"


def test_resolve_prefers_exact_name_over_partial() -> None:
    assert resolve(PEOPLE, "sam lee").id == "b2"


def test_resolve_ambiguous_and_missing() -> None:
    with pytest.raises(UsageError, match="matches 2 contacts"):
        resolve(PEOPLE, "sam")
    with pytest.raises(NotFoundError):
        resolve(PEOPLE, "zed")


def test_clean_emails() -> None:
    assert clean_emails([" MAILTO:A@B.org", "a@b.org", "c@d.org"]) == ("a@b.org", "c@d.org")
    with pytest.raises(UsageError):
        clean_emails(["not-an-address"])


def test_merge_fills_gaps_and_keeps_user_text() -> None:
    mine = Contact(id="x", name="Robert Hale", org="Mine", emails=("r@x.org",))
    theirs = Contact(
        id="y", name="Bob Hale", org="Theirs", role="CTO", emails=("r@x.org", "bob@x.org")
    )
    merged = merge(mine, theirs)
    assert merged.id == "x" and merged.org == "Mine" and merged.role == "CTO"
    assert merged.emails == ("r@x.org", "bob@x.org")
    assert merged.aliases == ("Bob Hale",)


def test_vcard_names_from_n_when_no_fn_and_escapes() -> None:
    cards, warnings = parse_vcards(
        "BEGIN:VCARD\nVERSION:3.0\nN:Doe;Jane;;;\nitem1.EMAIL:mailto:Jane@Doe.ORG\n"
        "ORG:Acme\\, Inc.;R&D\nEND:VCARD\nBEGIN:VCARD\nFN:Cut off\n"
    )
    assert [c.name for c in cards] == ["Jane Doe"]
    assert cards[0].emails == ["jane@doe.org"]
    assert cards[0].org == "Acme, Inc. / R&D"
    assert warnings == ["line 7: a card has no END:VCARD and was skipped"]
