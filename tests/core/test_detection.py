"""Each detection rule, its confidence and evidence, and the look-alikes it must not match."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mendcrm.config.model import Config, DetectionConfig
from mendcrm.detection import ContactIndex, encounter_id, fold, looks_like_conference
from tests.core.builders import CONFIG, T0, attendee, contact, find, occurrence

ROBERT = contact(
    emails=("Robert.Hale@Acme.example",),
    aliases=("Bob Hale",),
    org="Acme Widgets",
    affinity=("PyCon",),
)


@pytest.mark.parametrize(
    "address",
    [
        "robert.hale@acme.example",
        "mailto:Robert.Hale@ACME.example",
        "MAILTO:robert.hale@acme.example",
        "  MailTo:robert.hale@acme.example  ",
    ],
)
def test_attendee_email_matches_in_any_case_with_mailto_and_spaces(address: str) -> None:
    [enc] = find(occurrence(summary="Budget review", attendees=(attendee(address),)), [ROBERT])
    assert enc.match.by == "attendee-email"
    assert enc.match.confidence == 1.0
    assert "robert.hale@acme.example" in enc.match.evidence
    assert enc.kind == "meeting"
    assert not enc.contact_declined


def test_organizer_email_matches() -> None:
    occ = occurrence(summary="Sync", organizer=attendee("MAILTO:robert.hale@acme.example"))
    [enc] = find(occ, [ROBERT])
    assert enc.match.by == "organizer-email"
    assert enc.match.confidence == pytest.approx(0.95)


@pytest.mark.parametrize("cn", ["robert hale", "ROBERT HALE", "Hale, Robert", "Bob Hale"])
def test_attendee_cn_matches_name_or_alias_ignoring_case_and_order(cn: str) -> None:
    occ = occurrence(summary="Planning", attendees=(attendee("other@x.example", cn=cn),))
    [enc] = find(occ, [ROBERT])
    assert enc.match.by == "attendee-name"
    assert enc.match.confidence == pytest.approx(0.85)


def test_attendee_cn_matches_across_accents_and_compatibility_forms() -> None:
    jose = contact("c-jose", "José Núñez")
    occ = occurrence(summary="Review", attendees=(attendee("j@x.example", cn="JOSE NUNEZ"),))
    assert [e.contact_id for e in find(occ, [jose])] == ["c-jose"]
    # full-width letters fold to ASCII under NFKC
    occ2 = occurrence(summary="Review", attendees=(attendee("j@x.example", cn="Ｊｏｓé Núñez"),))
    assert [e.match.by for e in find(occ2, [jose])] == ["attendee-name"]
    assert fold("Straße") == "strasse"


def test_name_in_summary_matches_whole_words() -> None:
    [enc] = find(occurrence(summary="Coffee w/ Robert Hale"), [ROBERT])
    assert enc.match.by == "name-in-summary"
    assert enc.match.evidence == '"Robert Hale" in the summary'


@pytest.mark.parametrize(
    "text",
    [
        "Lunch with Roberta Halewood",  # both words only start the same
        "Robert Halewood 1:1",  # surname is a prefix of another word
        "Roberta Hale offsite",  # first name is a prefix of another word
        "RobertHale sync",  # no word boundary at all
        "Robert & Hale LLP audit",  # words present but not consecutive
        "Hale Robert",  # wrong order in free text
    ],
)
def test_name_look_alikes_do_not_match(text: str) -> None:
    assert find(occurrence(summary=text, description=text, location=text), [ROBERT]) == []


def test_name_in_location_and_description_have_lower_confidence() -> None:
    [loc] = find(occurrence(summary="Meet", location="Robert Hale's office"), [ROBERT])
    [desc] = find(occurrence(summary="Meet", description="Agenda: ask bob hale about Q3"), [ROBERT])
    assert (loc.match.by, desc.match.by) == ("name-in-location", "name-in-description")
    assert 0 < desc.match.confidence < loc.match.confidence < 0.7


def test_strongest_rule_wins() -> None:
    occ = occurrence(
        summary="Coffee w/ Robert Hale",
        attendees=(attendee("robert.hale@acme.example", cn="Robert Hale"),),
    )
    [enc] = find(occ, [ROBERT])
    assert enc.match.by == "attendee-email"


def test_user_declined_and_cancelled_occurrences_are_not_encounters() -> None:
    guests = (attendee("robert.hale@acme.example"),)
    assert find(occurrence(attendees=guests, my_partstat="DECLINED"), [ROBERT]) == []
    mine = (*guests, attendee("MAILTO:Sam@Me.example", partstat="declined"))
    assert find(occurrence(attendees=mine), [ROBERT]) == []
    assert find(occurrence(attendees=guests, status="CANCELLED"), [ROBERT]) == []
    assert len(find(occurrence(attendees=guests, my_partstat="TENTATIVE"), [ROBERT])) == 1


def test_contact_declined_is_kept_and_said() -> None:
    occ = occurrence(attendees=(attendee("robert.hale@acme.example", partstat="DECLINED"),))
    [enc] = find(occ, [ROBERT])
    assert enc.contact_declined


def test_the_user_is_never_matched_as_a_contact() -> None:
    me_too = contact("c-me", "Sam Me", emails=("sam@me.example",))
    occ = occurrence(summary="Focus time", attendees=(attendee("sam@me.example", cn="Sam Me"),))
    assert find(occ, [me_too]) == []


def test_unflagged_contacts_are_ignored() -> None:
    occ = occurrence(summary="Coffee w/ Robert Hale")
    for stage in ("none", "mended", "let-go"):
        assert find(occ, [contact(stage=stage)]) == []
    for stage in ("strained", "cordial", "talking", "rebuilding"):
        assert len(find(occ, [contact(stage=stage)])) == 1


def test_conference_affinity_and_org_match_only_conference_like_events() -> None:
    conf = occurrence("conf", summary="PyCon Europe", all_day=True, hours=72)
    [enc] = find(conf, [ROBERT])
    assert (enc.kind, enc.match.by) == ("conference", "conference-affinity")
    assert enc.match.confidence == pytest.approx(0.5)
    expo = occurrence(
        "expo", summary="Widgets Expo 2025", description="Exhibitors: Acme Widgets, Globex"
    )
    [org] = find(expo, [ROBERT])
    assert (org.kind, org.match.by) == ("conference", "conference-org")
    assert org.match.confidence < enc.match.confidence
    # the same words in an ordinary meeting mean nothing
    meeting = occurrence("m", summary="Prep slides for PyCon", description="Acme Widgets")
    assert find(meeting, [ROBERT]) == []


def test_conference_like_signals() -> None:
    keywords = CONFIG.detection.conference_keywords
    assert looks_like_conference(occurrence(summary="x", all_day=True, hours=24), keywords)
    assert looks_like_conference(occurrence(summary="x", hours=50), keywords)
    assert looks_like_conference(occurrence(summary="x", categories=("Conference",)), keywords)
    assert looks_like_conference(occurrence(summary="Regional Leadership Summit"), keywords)
    assert looks_like_conference(occurrence(summary="Hamburg trade fair"), keywords)
    assert not looks_like_conference(occurrence(summary="Summitry planning"), keywords)
    assert not looks_like_conference(occurrence(summary="Team lunch"), keywords)
    custom = Config(detection=DetectionConfig(conference_keywords=("offsite",)))
    occ = occurrence(summary="Sales offsite", description="Acme Widgets team")
    [enc] = find(occ, [ROBERT], config=custom)
    assert enc.match.by == "conference-org"


def test_min_confidence_filters_weak_matches() -> None:
    strict = Config(detection=DetectionConfig(min_confidence=0.6))
    expo = occurrence(summary="Widgets Expo", description="Acme Widgets")
    assert find(expo, [ROBERT], config=strict) == []


def test_several_contacts_at_one_event_give_one_encounter_each_naming_the_others() -> None:
    ann = contact("c-ann", "Ann Ortega", emails=("ann@globex.example",))
    kim = contact("c-kim", "Kim Lee", stage="cordial")
    occ = occurrence(
        summary="Partner meeting with Kim Lee",
        attendees=(attendee("robert.hale@acme.example"), attendee("ann@globex.example")),
    )
    encs = {e.contact_id: e for e in find(occ, [ROBERT, ann, kim])}
    assert set(encs) == {"c-robert", "c-ann", "c-kim"}
    assert set(encs["c-ann"].others) == {"c-robert", "c-kim"}
    assert "c-ann" not in encs["c-ann"].others
    assert len({e.id for e in encs.values()}) == 3


def test_encounter_ids_are_stable_and_distinct() -> None:
    occ = occurrence(summary="Coffee w/ Robert Hale")
    first = find(occ, [ROBERT])[0].id
    assert first == find(occ, [ROBERT])[0].id == encounter_id(occ, "c-robert")
    assert len(first) == 16
    later = occurrence(summary="Coffee w/ Robert Hale", start=T0 + timedelta(days=9))
    other_cal = occurrence(summary="Coffee w/ Robert Hale", calendar="https://dav.example/b/")
    recurring = occurrence(summary="Coffee w/ Robert Hale", recurrence_id="20250305T090000Z")
    ids = {
        first,
        find(later, [ROBERT])[0].id,
        find(other_cal, [ROBERT])[0].id,
        find(recurring, [ROBERT])[0].id,
        encounter_id(occ, "c-other"),
    }
    assert len(ids) == 5


def test_index_ignores_blank_terms_and_counts_flagged_contacts() -> None:
    blank = contact("c-blank", "  ", emails=(" ",), aliases=("",), affinity=("",))
    index = ContactIndex.build([ROBERT, blank, contact("c-x", "X Y", stage="none")])
    assert len(index) == 2
    assert "" not in index.by_email
    assert find(occurrence(summary=""), [blank]) == []


def test_names_with_hyphens_and_apostrophes_match_as_written() -> None:
    jl = contact("c-jl", "Jean-Luc O'Neill")
    assert len(find(occurrence(summary="Call with Jean-Luc O'Neill"), [jl])) == 1
    assert len(find(occurrence(summary="Call with Jean-Luc O’Neill"), [jl])) == 1
    assert find(occurrence(summary="Jean / Luc O'Neill"), [jl]) == []


def test_detection_leaves_the_garbage_collector_as_it_found_it() -> None:
    # Detection pauses cycle collection while it runs (a fifth of its time went to full
    # collections that found nothing); it must hand the collector back in the state it found
    # it, also when the occurrences fail half-way.
    import gc

    from mendcrm.detection import detect

    robert = contact(emails=("robert@acme.example",))
    index = ContactIndex.build([robert])
    meeting = occurrence(attendees=(attendee("robert@acme.example"),))
    seen: list[bool] = []

    def occurrences(fail: bool):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        yield meeting
        if fail:
            raise RuntimeError("a reader failed")

    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            for fail in (False, True):
                seen.clear()
                if fail:
                    with pytest.raises(RuntimeError):
                        detect(occurrences(True), index, me=CONFIG.me, settings=CONFIG.detection)
                else:
                    found = detect(
                        occurrences(False), index, me=CONFIG.me, settings=CONFIG.detection
                    )
                    assert [e.contact_id for e in found] == [robert.id]
                assert seen == [False]  # paused while detecting
                assert gc.isenabled() == enabled, (enabled, fail)
    finally:
        (gc.enable if was else gc.disable)()
