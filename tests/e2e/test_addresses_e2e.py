"""Who an address is, through the whole pass (sources → detection → planning) on Radicale and
Xandikos: the user's own entry in the forms servers write, and the principal's address set.

The user is me@example.org ([me] emails); Robert Hale's contact address is
Robert.Hale@Acme.example. Expected readings: RFC 7986 §6.3 (the EMAIL parameter is the person's
address), RFC 6068 (mailto: percent-encoding), RFC 5545 §3.2.12 (a DECLINED PARTSTAT on the
user's own entry: the user will not be there, so there is no encounter), RFC 6638 §2.4.1 (the
principal's calendar-user-address-set names the user too).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ROBERT, T0, World, hours, only

pytestmark = pytest.mark.caldav


def _raw(uid: str, hour: int, *people: str) -> str:
    start = T0 + hours(hour)
    end = start + hours(1)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Apple Inc.//iCal 5.0//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20300101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
        "SUMMARY:Budget review",  # names nobody: only the addresses can tell who is there
        *people,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


ROB_APPLE = 'ORGANIZER;CN="Rob H.";EMAIL=robert.hale@acme.example:/1234567/principal/'


def test_email_parameter_forms_through_the_pass(world: World) -> None:
    world.add(ROBERT)
    put = world.account.put
    # Robert organises in Apple's form; the user accepted, their entry a urn:uuid with EMAIL.
    put(
        world.calendar_url,
        "met.ics",
        _raw(
            "met",
            30,
            ROB_APPLE,
            "ATTENDEE;PARTSTAT=ACCEPTED;EMAIL=me@example.org:urn:uuid:0000-me",
        ),
    )
    # The same, but the user declined, in the EMAIL form and in the percent-encoded form.
    put(
        world.calendar_url,
        "no1.ics",
        _raw("no1", 50, ROB_APPLE, "ATTENDEE;PARTSTAT=DECLINED;EMAIL=me@example.org:/99/p/"),
    )
    put(
        world.calendar_url,
        "no2.ics",
        _raw("no2", 70, ROB_APPLE, "ATTENDEE;PARTSTAT=DECLINED:MAILTO:me%40EXAMPLE.org"),
    )
    summary = world.sync()
    assert summary.warnings == []
    encounter = only(world.encounters())
    assert encounter.occurrence.uid == "met"
    assert (encounter.match.by, encounter.match.confidence) == ("organizer-email", 0.95)
    assert encounter.match.evidence == "organizer robert.hale@acme.example"
    assert encounter.occurrence.my_partstat == "ACCEPTED"


def test_the_principal_address_set_recognises_the_users_decline(world: World) -> None:
    # Radicale's calendar-user-address-set is the principal path; Xandikos offers none here, so
    # its instance checks that nothing is taken for the user that the server did not say.
    world.add(ROBERT)
    account, server = world.account, world.account.server
    principal = f"{server.url}{account.username}/"
    account.put(
        world.calendar_url,
        "p.ics",
        _raw("p", 30, ROB_APPLE, f"ATTENDEE;CN=Sam;PARTSTAT=DECLINED:{principal}"),
    )
    world.sync()
    if server.kind == "radicale":
        assert world.encounters() == []  # the user declined, under their principal address
    else:
        assert only(world.encounters()).occurrence.my_partstat is None


def test_account_test_names_the_addresses_the_server_has_for_the_user(world: World) -> None:
    out = world.cli("account", "test", "work").out
    if world.account.server.kind == "radicale":
        expected = f"your addresses there (counted with [me] emails): /{world.account.username}/"
        assert expected in out
    else:
        assert "your addresses there" not in out  # Xandikos offers an empty set here
