"""The organiser check that guards inline annotations reads addresses like every other stage.

RFC 6638 §3.1: an event with an ORGANIZER is a scheduling object, and a change to the
organiser's copy is sent to the attendees; so MendCRM writes inline only where the organiser
and every attendee is the user. Who that is comes from mendcrm.addresses: RFC 7986 §6.3 EMAIL
parameter, RFC 6068 mailto: forms, and the principal's calendar-user-address-set (RFC 6638
§2.4.1). The user here is sam@me.example (tests/annotations/helpers.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.annotations.helpers import NOW, encounter, ics, new_world, writes
from tests.fixtures.servers import DavAccount, DavServer

START = NOW + timedelta(days=1, hours=2)

FOREIGN_ORGANISERS = {
    # Robert's principal path in the value, his address in EMAIL: he organises it.
    "apple": 'ORGANIZER;CN="Rob H.";EMAIL=robert@hale.example:/1234567/principal/\n',
    # A urn:uuid value with Robert's EMAIL, the user listed as an attendee in EMAIL form.
    "urn": (
        "ORGANIZER;EMAIL=robert@hale.example:urn:uuid:11111111-2222-3333-4444-555555555555\n"
        "ATTENDEE;PARTSTAT=ACCEPTED;EMAIL=sam@me.example:/99/principal/\n"
    ),
    # A relay value and the person in EMAIL (RFC 7986 §6.3: EMAIL names the contact).
    "relay": "ORGANIZER;EMAIL=robert@hale.example:mailto:relay-1f2e@calendar.example\n",
    # Not a mail address at all and no EMAIL: nobody known to be the user, so someone else.
    "nomail": "ORGANIZER;CN=Front desk:invalid:nomail\n",
}

MINE = {
    # The user's own organiser and attendee entries, each in a form servers write.
    "email-param": (
        "ORGANIZER;CN=Sam;EMAIL=sam@me.example:urn:uuid:aaaaaaaa-0000-0000-0000-000000000001\n"
        "ATTENDEE;PARTSTAT=ACCEPTED;EMAIL=sam@me.example:/99/principal/\n"
    ),
    "percent": "ORGANIZER;CN=Sam:MAILTO:sam%40ME.example\n",
    "quoted-email": 'ORGANIZER;CN=Sam;EMAIL="Sam@Me.Example":/99/principal/\n',
}


@pytest.mark.parametrize("form", sorted(FOREIGN_ORGANISERS))
def test_inline_refused_for_a_foreign_organiser(dav_account: DavAccount, form: str) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put(f"{form}.ics", ics(form, start=START, extra=FOREIGN_ORGANISERS[form]))
    original = world.get(path)
    result = world.annotate([encounter(world.occurrences()[form])])
    assert result.warnings == []
    assert [r for r in world.requests() if r[1] == path] == []  # not written, not even read
    assert world.get(path) == original
    assert len(world.annotation_objects()) == 1  # the prep went to MendCRM's own calendar


@pytest.mark.parametrize("form", sorted(MINE))
def test_inline_allowed_for_the_users_own_event(dav_account: DavAccount, form: str) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put(f"{form}.ics", ics(form, start=START, extra=MINE[form]))
    result = world.annotate([encounter(world.occurrences()[form])])
    assert result.warnings == []
    assert writes(world.requests()) == [("PUT", path)]
    assert b"X-MENDCRM-ENCOUNTER" in world.get(path)


def test_a_foreign_attendee_in_email_form_added_after_sync_stops_the_write(
    dav_account: DavAccount,
) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("late.ics", ics("late", start=START, extra=MINE["email-param"]))
    enc = encounter(world.occurrences()["late"])
    # Between sync and annotation another client adds Robert, known only by his EMAIL parameter;
    # the check on the text just read (inline.text_refusal) must see him.
    added = MINE["email-param"] + (
        "ATTENDEE;PARTSTAT=NEEDS-ACTION;EMAIL=robert@hale.example:urn:uuid:bbbb-0002\n"
    )
    world.put("late.ics", ics("late", start=START, extra=added))
    original = world.get(path)
    world.annotate([enc])
    assert world.get(path) == original
    assert [m for m, p in writes(world.requests()) if p == path] == []


def test_the_principal_path_from_the_address_set_is_the_user(radicale_server: DavServer) -> None:
    # Radicale's calendar-user-address-set is the principal path (/USER/); an event organised
    # under that address is the user's own, though [me] emails does not list it.
    dav = radicale_server.new_account()
    world = new_world(dav, annotate="inline")
    organiser = f"ORGANIZER;CN=Sam:{radicale_server.url}{dav.username}/\n"
    path = world.put("own.ics", ics("own", start=START, extra=organiser))
    occurrence = world.occurrences()["own"]
    assert world.sync_state["account:work"]["addresses"] == [f"/{dav.username}/"]
    world.annotate([encounter(occurrence)])
    assert writes(world.requests()) == [("PUT", path)]
