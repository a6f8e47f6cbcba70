"""Detection end to end: events on a real CalDAV server become encounters, prep notes, follow-ups.

Each test runs once against Radicale and once against Xandikos, through the whole pass
(sources → events → detection → planning) on a frozen clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import ANA, ME, ROBERT, T0, ZONE, World, ana, hours, meeting, only, robert
from tests.e2e.ics import Event, Person

pytestmark = pytest.mark.caldav


def test_a_flagged_attendee_gives_an_encounter_a_prep_note_and_a_follow_up(world: World) -> None:
    world.add(ROBERT)
    start = T0 + hours(50)
    world.put(meeting("partner-sync", start, robert(), location="Room 4"))

    summary = world.sync()

    encounter = only(world.encounters())
    assert encounter.contact_id == ROBERT.id
    assert encounter.kind == "meeting"
    assert encounter.match.by == "attendee-email"
    assert "robert.hale@acme.example" in encounter.match.evidence
    assert encounter.match.confidence == 1.0
    assert (encounter.occurrence.start, encounter.occurrence.end) == (start, start + hours(1))
    assert encounter.occurrence.uid == "partner-sync"
    assert not encounter.contact_declined
    assert [e.id for e in summary.plan.detected] == [encounter.id]

    items = world.items_of(encounter)
    assert set(items) == {"prep", "followup"}
    prep, followup = items["prep"], items["followup"]
    assert prep.due == start - timedelta(hours=24)  # [prep] lead
    assert followup.due == start + hours(1) + timedelta(hours=2)  # end + [followup] delay
    assert prep.state == followup.state == "pending"
    assert prep.contact_id == followup.contact_id == ROBERT.id
    # The note is readable on its own: who, where, what happened, how to approach it.
    for text in (
        "Robert Hale",
        "Partner sync",
        "Room 4",
        ROBERT.history,
        "strained",
        "Head of Data",
    ):
        assert text in prep.body, text
    assert f"mendcrm followup done {followup.id}" in followup.body
    # Nothing else was queued: Robert is strained, a stage without nudges.
    assert len(world.queue()) == 2


def test_a_name_in_the_summary_and_a_conference_affinity_match(world: World) -> None:
    world.add(ROBERT, ANA)
    coffee = T0 + hours(30)
    world.put(Event("coffee", coffee, coffee + hours(1), summary="Coffee w/ Ana Lima"))
    # Look-alike names are not Robert Hale, and a plain meeting is no conference.
    world.put(Event("halewood", coffee + hours(2), summary="Intro: Roberta Halewood, EuroPython"))
    # EuroPython is one of Robert's affinities; a two-day all-day event is a conference.
    first_day = (T0 + timedelta(days=10)).date()
    world.put(
        Event(
            "ep",
            first_day,
            first_day + timedelta(days=2),
            summary="EuroPython 2030",
            categories=("Conference",),
            location="Prague",
        )
    )
    # His organisation at a conference-like event counts as well, less surely.
    summit = T0 + timedelta(days=14)
    world.put(
        Event(
            "summit",
            summit,
            summit + hours(8),
            summary="Data Summit",
            description="Sponsors: Acme Analytics",
        )
    )

    world.sync()

    found = {e.occurrence.uid: e for e in world.encounters()}
    assert set(found) == {"coffee", "ep", "summit"}
    by_name = found["coffee"]
    assert (by_name.contact_id, by_name.kind, by_name.match.by) == (
        ANA.id,
        "meeting",
        "name-in-summary",
    )
    assert "Ana Lima" in by_name.match.evidence

    conference = found["ep"]
    assert (conference.contact_id, conference.kind, conference.match.by) == (
        ROBERT.id,
        "conference",
        "conference-affinity",
    )
    assert "EuroPython" in conference.match.evidence
    org = found["summit"]
    assert (org.contact_id, org.kind, org.match.by) == (ROBERT.id, "conference", "conference-org")
    assert org.match.confidence < conference.match.confidence < by_name.match.confidence

    # A conference's prep note is due the evening before its first day, in the user's zone.
    zone = ZoneInfo(ZONE)
    items = world.items_of(conference)
    evening = datetime.combine(first_day - timedelta(days=1), time(19), tzinfo=zone)
    assert items["prep"].due == evening
    assert conference.occurrence.start == datetime.combine(first_day, time(0), tzinfo=zone)
    # It ends at midnight after its last day; the follow-up's 02:00 falls outside the user's
    # day (08:00–21:00 by default), so it waits for that morning's 08:00.
    assert items["followup"].due == datetime.combine(
        first_day + timedelta(days=2), time(8), tzinfo=zone
    )
    assert "may" in items["prep"].body and "not certain" in items["prep"].body
    assert world.items_of(by_name)["prep"].due == coffee - timedelta(hours=24)


def test_declined_cancelled_and_refused_invitations(world: World) -> None:
    world.add(ROBERT, ANA)
    start = T0 + hours(40)
    # The user declined: not an encounter.
    world.put(
        meeting(
            "i-declined",
            start,
            robert(),
            organizer=Person("boss@acme.example"),
            me=Person(ME.email, ME.cn, "DECLINED"),
        )
    )
    # Cancelled from the start: not an encounter.
    world.put(meeting("cancelled", start + hours(2), robert(), status="CANCELLED"))
    # The contact declined: kept, and said so.
    world.put(meeting("ana-declined", start + hours(4), ana("DECLINED"), summary="Budget review"))

    world.sync()

    encounter = only(world.encounters(active=False))
    assert (encounter.occurrence.uid, encounter.contact_id) == ("ana-declined", ANA.id)
    assert encounter.contact_declined
    prep = world.items_of(encounter)["prep"]
    assert "declined" in prep.body
    assert {i.encounter_id for i in world.queue() if i.kind != "nudge"} == {encounter.id}


def test_several_flagged_contacts_at_one_event_get_one_encounter_each(world: World) -> None:
    world.add(ROBERT, ANA)
    world.put(meeting("three-way", T0 + hours(26), robert(), ana()))

    world.sync()

    both = world.encounters()
    assert sorted(e.contact_id for e in both) == sorted([ROBERT.id, ANA.id])
    assert len({e.id for e in both}) == 2
    for encounter, other in ((both[0], both[1]), (both[1], both[0])):
        assert encounter.others == (other.contact_id,)
        name = ROBERT.name if other.contact_id == ROBERT.id else ANA.name
        assert f"Also there:** {name}" in world.items_of(encounter)["prep"].body
