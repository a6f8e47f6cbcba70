"""Fast detection returns exactly what the straightforward rules return.

:mod:`tests.core.detection_reference` is detection without caches, shared scans or early exits;
hypothesis builds contacts and occurrences from small vocabularies chosen to collide (shared
first names, one-word aliases beside other names, "Last, First" CNs, the user's own address in
other spellings, declined attendees, conference keywords and affinity phrases, MendCRM's own
block in a description, accents, full-width and title-case letters), repeats occurrences so the
per-call caches are read back, and compares whole encounters: ids, matches, evidence, flags.
The shortcuts that stand for a longer reading (words split in C, substring pre-checks, names
sifted by their second word, a line's case) are each checked against that reading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mendcrm.detection.index as index_module
import mendcrm.names as names_module
from mendcrm.config.model import DetectionConfig, MeConfig
from mendcrm.detection import ContactIndex, detect, encounter_id
from mendcrm.detection.index import WORD
from mendcrm.detection.scan import Keywords
from mendcrm.model import Attendee, Contact, Occurrence
from mendcrm.name_tokens import one_case, tokenise
from mendcrm.name_words import TOKEN, folded_words, name_words
from mendcrm.names import NameMatcher, fold
from tests.core import detection_reference as reference
from tests.core.builders import T0

ME = MeConfig(name="Sam Me", emails=("sam@me.example",))

NAME_WORDS = ["Robert", "Hale", "Ann", "Martin", "José", "Núñez", "Lee", "Li", "Anne-Marie"]
NAME_WORDS += ["O'Neill", "Vries", "R.", "J", "Kim", "Park", "Zoë", "ǅemal", "Ｒｏｂｅｒｔ"]
OTHER_WORDS = ["de", "St.", "with", "Lunch", "Sync", "and", "the", "PyCon", "Web", "Summit"]
OTHER_WORDS += ["Conference", "trade", "fair", "Expo", "Acme", "Widgets", "Org", "5", "Labs"]
OTHER_WORDS += ["Schmidt", "King", "Day", "budget", "'s", "RSA", "1:1", "Café", "ｗｉｔｈ"]
FULL_NAMES = ["Robert Hale", "Ann Lee", "José Núñez", "Martin", "Anne-Marie Roth", "Li", "Kim Park"]
FULL_NAMES += ["Robert Lee", "Zoë O'Neill", "Robert"]
"""Names contacts are given, which texts and CNs then hold in some spelling."""
SPELLINGS = [*FULL_NAMES, "Hale, Robert", "R. Hale", "Robert J. Hale", "JOSE NUNEZ", "ann lee"]
SPELLINGS += ["Jean-Martin", "St. Martin", "Martin's", "Kim Park-Lee", "Robert & Hale"]
GAPS = [" ", " ", " ", ", ", " & ", "-", ". ", "\n", "/", " w/ ", ": ", "  "]
BLOCK = "\n--- MendCRM ---\nPrep: Robert Hale\n--- end MendCRM ---\n"
ADDRESSES = ["robert@x.example", "MAILTO:Robert@X.example", "ann@y.example", "mailto:ann@y.example"]
ADDRESSES += ["sam@me.example", "MAILTO:SAM@me.example", "li@z.example", "", "urn:uuid:1234"]
ADDRESSES += ["/principals/robert/", "other@x.example"]


@st.composite
def texts(draw: st.DrawFn, max_words: int = 6) -> str:
    """A text of name-like and other words joined by spaces and punctuation."""
    vocabulary = st.one_of(st.sampled_from(NAME_WORDS + OTHER_WORDS), st.sampled_from(SPELLINGS))
    words = draw(st.lists(vocabulary, max_size=max_words))
    out = ""
    for word in words:
        out += (draw(st.sampled_from(GAPS)) if out else "") + word
    return out


@st.composite
def contacts(draw: st.DrawFn) -> list[Contact]:
    found = []
    for i in range(draw(st.integers(0, 7))):
        name = draw(st.one_of(st.sampled_from(FULL_NAMES), texts(3).filter(bool)))
        found.append(
            Contact(
                id=f"c{draw(st.integers(0, 9))}{i}",
                name=name,
                aliases=tuple(
                    draw(st.lists(st.one_of(st.sampled_from(FULL_NAMES), texts(2)), max_size=2))
                ),
                emails=tuple(draw(st.lists(st.sampled_from(ADDRESSES), max_size=2))),
                org=draw(st.sampled_from(["", "Acme", "Acme Widgets", "Org 5 Labs", "Web"])),
                affinity=tuple(
                    draw(st.lists(st.sampled_from(["PyCon", "Web Summit", "RSA", "Café"])))
                ),
                stage=draw(st.sampled_from(["strained", "talking", "none"])),
            )
        )
    return found


def attendees() -> st.SearchStrategy[Attendee]:
    return st.builds(
        Attendee,
        email=st.sampled_from(ADDRESSES),
        cn=st.one_of(texts(3), st.sampled_from(["Hale, Robert", " Robert Hale ", "Lee, Ann"])),
        partstat=st.sampled_from(["ACCEPTED", "DECLINED", "declined", "NEEDS-ACTION", ""]),
    )


@st.composite
def occurrences(draw: st.DrawFn) -> list[Occurrence]:
    made = []
    for i in range(draw(st.integers(1, 5))):
        start = T0 + timedelta(hours=draw(st.integers(0, 300)))
        description = draw(texts(8))
        if draw(st.booleans()):
            description += BLOCK
        made.append(
            Occurrence(
                source="account:work",
                calendar="https://dav.example/cal/",
                href=f"/{i}.ics",
                uid=draw(st.sampled_from(["a", "b", "ü"])) + str(i),
                start=start,
                end=start + timedelta(hours=draw(st.sampled_from([1, 30]))),
                recurrence_id=draw(st.sampled_from([None, "20250301T090000Z"])),
                summary=draw(texts()),
                location=draw(st.one_of(st.just(""), texts(3))),
                description=description,
                categories=tuple(draw(st.lists(texts(2), max_size=2))),
                attendees=tuple(draw(st.lists(attendees(), max_size=4))),
                organizer=draw(st.one_of(st.none(), attendees())),
                my_partstat=draw(st.sampled_from([None, "", "DECLINED", "accepted"])),
                status=draw(st.sampled_from(["CONFIRMED", "cancelled", "TENTATIVE"])),
                all_day=draw(st.booleans()),
            )
        )
    # Repeats (a series, the same meeting in two calendars) read the caches back.
    picks = draw(st.lists(st.integers(0, len(made) - 1), min_size=1, max_size=8))
    return [made[k] for k in picks]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    found=contacts(),
    occs=occurrences(),
    floor=st.sampled_from([0.0, 0.3, 0.45, 0.8]),
    mine=st.sampled_from([None, frozenset({"sam@me.example", "/principals/robert"})]),
)
def test_detect_equals_the_straightforward_rules(
    found: list[Contact], occs: list[Occurrence], floor: float, mine: frozenset[str] | None
) -> None:
    config = DetectionConfig(min_confidence=floor)
    fast = detect(occs, ContactIndex.build(found), me=ME, settings=config, mine=mine)
    slow = reference.detect(occs, found, me=ME, settings=config, mine=mine)
    assert fast == slow


def test_detect_equals_the_rules_on_a_crowd_sharing_first_names() -> None:
    """Twelve Roberts (above the name matcher's sifting threshold) and a conference crowd."""
    crowd = [
        Contact(
            id=f"c{i:02d}",
            name=f"Robert {['Hale', 'Lee', 'Park', 'J Hale'][i % 4]} {i}",
            aliases=("Robert",) if i == 3 else (),
            emails=(f"r{i}@x.example",),
            org="Acme",
            affinity=("PyCon", "Web Summit"),
            stage="strained",
        )
        for i in range(12)
    ]
    texts_seen = ["Robert J. Hale 4 and Robert Lee 1", "Lunch w/ Robert", "PyCon: Robert Park 2"]
    texts_seen += ["Web-Summit Acme", "Web. Summit", "Web & Summit", "web summit"]
    occs = [
        Occurrence(
            source="account:work",
            calendar="cal",
            href=f"/{i}.ics",
            uid=f"u{i}",
            start=T0,
            end=T0 + timedelta(hours=1 + 30 * (i % 2)),
            summary=text,
            attendees=(
                Attendee("r5@x.example", cn="Hale, Robert"),
                Attendee("nobody@x.example", cn="Hale 4, Robert"),
            ),
        )
        for i, text in enumerate(texts_seen * 2)
    ]
    config = DetectionConfig()
    fast = detect(occs, ContactIndex.build(crowd), me=ME, settings=config)
    assert fast == reference.detect(occs, crowd, me=ME, settings=config)
    # The crowd does give encounters: a test that finds nothing proves nothing.
    assert {e.match.by for e in fast} >= {"name-in-summary", "attendee-email", "attendee-name"}


@given(st.text(max_size=20), st.text(max_size=20), st.sampled_from([None, "20250301"]))
def test_encounter_ids_are_sha256_of_the_occurrence_key_and_the_contact(
    uid: str, contact_id: str, recurrence_id: str | None
) -> None:
    # The id is persisted: it must stay the first 16 hex digits of sha256 over
    # "source␟calendar␟uid␟key␟contact" in UTF-8, as the stored ids were made.
    occ = Occurrence(
        source="account:w",
        calendar="c",
        href="h",
        uid=uid,
        start=T0,
        end=T0,
        recurrence_id=recurrence_id,
    )
    key = f"account:w\x1fc\x1f{uid}\x1f{recurrence_id or '2025-03-03T08:00:00+00:00'}\x1f"
    expected = hashlib.sha256((key + contact_id).encode("utf-8")).hexdigest()[:16]
    assert encounter_id(occ, contact_id) == expected


def test_encounter_ids_found_by_detect_are_encounter_id() -> None:
    robert = Contact(id="c-r", name="Robert Hale", stage="strained")
    occ = Occurrence(
        source="account:w", calendar="c", href="h", uid="u", start=T0, end=T0, summary="Robert Hale"
    )
    [enc] = detect([occ], ContactIndex.build([robert]), me=ME, settings=DetectionConfig())
    # printf 'account:w\x1fc\x1fu\x1f2025-03-03T08:00:00+00:00\x1fc-r' | sha256sum: the id
    # the store has held for this meeting since ids were made, worked out with coreutils.
    assert enc.id == encounter_id(occ, "c-r") == "210d25bf395627dc"


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_an_ascii_text_folds_and_splits_into_the_same_words_in_c(text: str) -> None:
    split = text.encode("ascii").translate(index_module._ASCII_WORDS).split()
    assert [w.decode() for w in split] == WORD.findall(fold(text))


@given(st.text(max_size=30), st.sampled_from(["robert", "zoe", "5", "r", "ü", "café", "_"]))
def test_a_text_may_hit_exactly_when_one_of_its_words_is_a_lead(text: str, lead: str) -> None:
    index = ContactIndex.build([])
    index.leads = frozenset({lead})
    index.ascii_leads = frozenset(w.encode() for w in index.leads if w.isascii())
    for candidate in (text, f"{text} {lead}", f"{lead}{text}", text.upper(), lead.upper()):
        expected = lead in WORD.findall(fold(candidate))
        assert index.may_hit(candidate) == expected, candidate


@given(texts(8), st.lists(st.sampled_from(["conference", "trade fair", "Expo", "fair"])))
def test_conference_keywords_found_as_whole_words_only(text: str, keywords: list[str]) -> None:
    kw = Keywords.of(keywords)
    folded = fold(text)
    assert kw.in_text(folded) == kw.in_words(WORD.findall(folded))


@given(st.lists(st.text(min_size=1, max_size=6), max_size=4))
def test_one_case_reads_only_the_upper_and_lower_case_letters(parts: list[str]) -> None:
    cased = {c.isupper() for p in parts for c in p if c.isupper() or c.islower()}
    assert one_case(parts) == (len(cased) == 1)


@pytest.mark.parametrize("parts", [["ǅemal", "HALE"], ["ǅemal", "hale"], ["ABC"], ["1", "-"]])
def test_one_case_instances(parts: list[str]) -> None:
    # "ǅ" is title case, neither upper nor lower: the other letters decide.
    expected = {
        ("ǅemal", "HALE"): False,
        ("ǅemal", "hale"): True,
        ("ABC",): True,
        ("1", "-"): False,
    }
    assert one_case(parts) == expected[tuple(parts)]


@contextmanager
def _sifting(threshold: int) -> Iterator[None]:
    """Set how many names may share a first word before the matcher sifts them."""
    saved = names_module._FEW
    names_module._FEW = threshold
    try:
        yield
    finally:
        names_module._FEW = saved


@settings(max_examples=200, deadline=None)
@given(found=contacts(), text=texts(8), is_name=st.booleans())
def test_names_sifted_by_their_second_word_are_the_names_found_without(
    found: list[Contact], text: str, is_name: bool
) -> None:
    with _sifting(0):  # every first word's names are sifted
        sifted = NameMatcher.build(found)
        got = sifted.find(text, is_name=is_name)
    with _sifting(10**9):  # none are
        plain = NameMatcher.build(found)
        want = plain.find(text, is_name=is_name)
    assert not plain.by_second
    assert bool(sifted.by_second) == any(sifted.by_lead.values())
    assert got == want


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_an_ascii_name_has_the_words_read_token_by_token(text: str) -> None:
    by_token = tuple(w for token in TOKEN.findall(text) for w in folded_words(token))
    assert name_words(text) == by_token


@given(st.one_of(texts(8), st.text(alphabet=st.characters(max_codepoint=127), max_size=40)))
def test_an_ascii_text_is_tokenised_as_folding_each_token_would(text: str) -> None:
    # The general reading: every token (TOKEN) folded and split into its words, the gap
    # before the token going with its first word.
    want = []
    last = 0
    for m in TOKEN.finditer(text):
        for k, folded in enumerate(folded_words(m.group())):
            gap = text[last : m.start()] if k == 0 else ""
            want.append((folded, m.group(), m.start(), m.end(), gap))
        last = m.end()
    if text.isascii():
        assert [tuple(w) for w in tokenise(text)] == want


@given(
    texts(8),
    st.lists(
        st.sampled_from(["conference", "trade fair", "Expo", "fair", "Kongreß", "Café", "会议"])
    ),
)
def test_keywords_in_an_ascii_texts_words_as_in_its_folded_text(
    text: str, keywords: list[str]
) -> None:
    # "Kongreß" folds to the ASCII "kongress", "Café" to "cafe"; "会议" can stand in no ASCII
    # text. The words split in C must find exactly what the expression over the folded text
    # finds (whole words, the words of "trade fair" one after the other).
    kw = Keywords.of(keywords)
    for candidate in (text, f"{text} kongress", f"trade - fair {text}", "CAFE", "trade_fair"):
        if candidate.isascii():
            want = kw.in_text(fold(candidate))
            assert kw.in_ascii_words(index_module.ascii_words(candidate)) == want, candidate


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Trade Fair 2025", True),  # two words, any case, one space
        ("trade-fair", True),  # any non-word characters between the words
        ("trade_fair", False),  # "_" is a word character: one word, "trade_fair"
        ("fair trade", False),  # the words in the other order
        ("KONGRESS Berlin", True),  # "Kongreß" folded is "kongress"
        ("Kongressional", False),  # not a whole word
    ],
)
def test_keyword_instances_in_ascii_words(text: str, found: bool) -> None:
    kw = Keywords.of(["trade fair", "Kongreß", "会议"])
    assert kw.in_ascii_words(index_module.ascii_words(text)) is found
