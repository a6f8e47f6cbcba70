"""Who a calendar address is: mendcrm.addresses, the one reading every stage shares.

Expected values are worked out from RFC 5545 §3.3.3 (CAL-ADDRESS is a URI; mail is a mailto:
URI), RFC 3986 §3.1 (a scheme is case-insensitive), RFC 6068 (mailto: addr-spec may be
percent-encoded; "?" starts the header fields), RFC 7986 §6.3 (EMAIL parameter) and RFC 6638
§2.4.1 (calendar-user-address-set).
"""

from __future__ import annotations

import pytest

from mendcrm.addresses import (
    PLAIN_ADDRESS,
    address_key,
    address_problem,
    identities,
    is_mine,
    mail_address,
    own_addresses,
    user_addresses,
)
from mendcrm.contacts import clean_emails
from mendcrm.errors import UsageError
from mendcrm.model import normalize_email

# -- mailto: in any case and form --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "mailto:robert.hale@example.org",
        "MAILTO:robert.hale@example.org",  # RFC 3986 §3.1: schemes are case-insensitive
        "MailTo:Robert.Hale@Example.ORG",  # domain case-insensitive; local part: module note
        "  mailto:robert.hale@example.org \t",  # whitespace around a value is no part of it
        '"mailto:robert.hale@example.org"',  # quoted by some producers, though not allowed
        "mailto:robert%2Ehale@example.org",  # RFC 6068 §2: any octet may be %-encoded
        "mailto:robert.hale%40example.org",  # ... including the "@" (%40)
        "mailto:%72%6F%62%65%72%74.hale@example.org",  # "robert" spelled entirely in %XX
        "mailto:robert.hale@example.org?subject=Budget",  # RFC 6068 §2: "?" starts hfields
        "robert.hale@example.org",  # no scheme at all: not RFC 5545, written in the wild
    ],
)
def test_every_mailto_form_is_the_same_person(value: str) -> None:
    assert mail_address(value) == "robert.hale@example.org"
    assert address_key(value) == "robert.hale@example.org"


def test_percent_encoded_utf8_is_decoded_as_utf8() -> None:
    # RFC 6068 §2: non-ASCII characters are UTF-8 octets, each %-encoded: "zoë" is zo%C3%AB.
    assert mail_address("mailto:zo%C3%AB@example.org") == "zoë@example.org"
    # A broken escape (a lone 0xC3) is no address rather than a wrong one.
    assert mail_address("mailto:zo%C3@example.org") is None


# -- the EMAIL parameter (RFC 7986 §6.3) -------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "/1234567/principal/",  # Apple's principal path
        "urn:uuid:6b8c2c4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f",  # a principal's urn:uuid
        "https://caldav.example.net/1234567/principal/",  # a principal URL
        "invalid:nomail",  # what Exchange writes for a user without mail
        "mailto:relay-7f3a9c@calendar.example.net",  # an opaque relay address
        "",  # no value at all
    ],
)
def test_the_email_parameter_names_the_person(value: str) -> None:
    params = {"CN": "Rob H.", "EMAIL": "robert.hale@example.org"}
    assert mail_address(value, params) == "robert.hale@example.org"


def test_email_parameter_wins_over_a_disagreeing_mailto() -> None:
    # RFC 7986 §6.3: a CUA "SHOULD use any EMAIL property parameter value for the email address
    # of the contact over any mailto: calendar user address"; the real case is a relay value.
    params = {"EMAIL": "Robert.Hale@example.org"}
    assert mail_address("mailto:relay-7f3a9c@calendar.example.net", params) == (
        "robert.hale@example.org"
    )
    # ... but the entry is still known by its calendar user address, for recognising the user.
    assert identities("mailto:relay-7f3a9c@calendar.example.net", params) == {
        "robert.hale@example.org",
        "relay-7f3a9c@calendar.example.net",
    }


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("mailto:robert.hale@example.org", "robert.hale@example.org"),  # RFC: must not, some do
        ("not an address", None),  # falls back to the value, which is a path: no mail
        ("a@b.example,c@d.example", None),  # several mailboxes are no one person
        ("", None),
    ],
)
def test_a_bad_email_parameter_falls_back_to_the_value(email: str, expected: str | None) -> None:
    assert mail_address("/1234567/principal/", {"EMAIL": email}) == expected
    assert mail_address("mailto:rob@example.org", {"EMAIL": email}) == (
        expected or "rob@example.org"
    )


def test_parameter_names_are_case_insensitive() -> None:
    # RFC 5545 §3.1: parameter names are case-insensitive.
    assert mail_address("/p/", {"email": "rob@example.org"}) == "rob@example.org"


# -- values that are not mail addresses --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (
            "urn:uuid:6B8C2C4E-1A2B-4C3D-9E8F-0A1B2C3D4E5F",
            "urn:uuid:6b8c2c4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
        ),
        ("/1234567/principal/", "/1234567/principal"),
        ("https://caldav.example.net/1234567/principal/", "/1234567/principal"),
        ("HTTP://caldav.example.net/1234567/principal", "/1234567/principal"),
        ("invalid:nomail", "invalid:nomail"),
        ("tel:+49-30-1234567", "tel:+49-30-1234567"),
        ("sip:rob@example.org", "sip:rob@example.org"),  # a SIP URI is no mailbox
        ("Rob Hale <rob@example.org>", "rob hale <rob@example.org>"),  # a display form
        ("mailto:", "mailto:"),
    ],
)
def test_non_mail_values_stand_for_no_mail_address(value: str, key: str) -> None:
    assert mail_address(value) is None
    assert mail_address(value, {"CN": "Rob Hale"}) is None
    assert address_key(value) == key


def test_empty_and_odd_values_do_not_crash() -> None:
    for value in ("", "   ", '""', "mailto:?to=rob@example.org", "@", "rob@", "@example.org"):
        assert mail_address(value) is None
        assert mail_address(value, {"EMAIL": ""}) is None
    assert address_key("") == ""


# -- the user's own identities -----------------------------------------------------------------


def test_own_addresses_merge_config_and_calendar_user_address_set() -> None:
    # [me] emails as the user writes them, and an address set as a server (RFC 6638 §2.4.1)
    # might answer: a mailto:, a principal URL, a urn:uuid.
    mine = own_addresses(
        ["Sam@Me.example"],
        [
            "mailto:sam%2Ework@work.example",
            "https://caldav.example.net/1234567/principal/",
            "urn:uuid:ABC",
        ],
    )
    assert mine == {"sam@me.example", "sam.work@work.example", "/1234567/principal", "urn:uuid:abc"}
    assert is_mine("MAILTO:SAM.WORK@work.example", {}, mine)
    assert is_mine("/1234567/principal/", {"CN": "Sam"}, mine)  # the relative form of the URL
    assert is_mine("urn:uuid:abc", None, mine)
    assert is_mine("/9999/principal/", {"EMAIL": "sam@me.example"}, mine)
    # The user's scheduling address with an EMAIL parameter naming another of theirs, or not.
    assert is_mine("mailto:sam@me.example", {"EMAIL": "sam.private@else.example"}, mine)
    assert not is_mine("mailto:rob@example.org", {}, mine)
    assert not is_mine("invalid:nomail", {}, mine)


def test_user_addresses_read_the_accounts_stored_address_sets() -> None:
    state = {
        "account:work": {"kind": "account", "addresses": ["mailto:sam@work.example", "/u1/"]},
        "account:work|/u1/cal/": {"kind": "calendar", "addresses": ["mailto:no@one.example"]},
        "account:old": {"kind": "account"},  # stored before address sets were asked for
    }
    assert user_addresses(["sam@me.example"], state) == {
        "sam@me.example",
        "sam@work.example",
        "/u1",
    }
    assert user_addresses([], list(state.values())) == {"sam@work.example", "/u1"}


def test_normalize_email_is_the_same_reading() -> None:
    assert normalize_email("MAILTO:Robert%2EHale@Example.org") == "robert.hale@example.org"
    # Idempotent: a stored identity reads as itself.
    for key in ("robert.hale@example.org", "/1234567/principal", "urn:uuid:abc"):
        assert normalize_email(key) == key


def test_contact_addresses_are_read_the_same_way_or_refused() -> None:
    # A contact's address is stored in the form detection compares attendees by, so any address
    # accepted here can match; one that could never match is refused with one clear line.
    assert clean_emails(["mailto:Robert%2EHale@Example.org", "robert.hale@example.org"]) == (
        "robert.hale@example.org",
    )
    for bad in ("robert hale@example.org", "/1234567/principal/", "urn:uuid:abc@x"):
        with pytest.raises(UsageError, match="is not an e-mail address"):
            clean_emails([bad])


@pytest.mark.parametrize(
    ("value", "params", "problem"),
    [
        ("mailto:robert.hale@", {}, "is not a valid mailto: address"),
        ("MAILTO:robert hale@example.org", {}, "is not a valid mailto: address"),
        ("mailto:a@x.example,b@y.example", {}, "is not a valid mailto: address"),
        ("/1234567/principal/", {"EMAIL": "robert.hale"}, "EMAIL parameter 'robert.hale'"),
        ("Robert Hale", {}, "neither an e-mail address nor a URI"),
        ("", {}, "has no address"),
    ],
)
def test_a_broken_address_is_named(value: str, params: dict[str, str], problem: str) -> None:
    found = address_problem(value, params)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    ("value", "params"),
    [
        ("urn:uuid:6b8c2c4e", {}),  # RFC 5545 §3.3.3: any URI is a valid CAL-ADDRESS
        ("/1234567/principal/", {}),
        ("https://caldav.example.net/1234567/principal/", {}),
        ("invalid:nomail", {}),
        ("tel:+49-30-1234567", {}),
        ("mailto:robert.hale@example.org", {}),
        ("mailto:broken@", {"EMAIL": "robert.hale@example.org"}),  # EMAIL gives the person
        ("", {"EMAIL": "robert.hale@example.org"}),
    ],
)
def test_valid_addresses_are_no_problem(value: str, params: dict[str, str]) -> None:
    assert address_problem(value, params) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Plain lower-case values take the short road; each must read as the general one does.
        ("robert@acme.example", "robert@acme.example"),
        ("MAILTO:robert@acme.example", "robert@acme.example"),  # RFC 3986 §3.1: any case
        ("mailto:ann.lee+cal@x.example", "ann.lee+cal@x.example"),
        # Not plain: upper case, escapes, header fields, a display name, two "@".
        ("mailto:Robert@Acme.example", "robert@acme.example"),
        ("mailto:robert%2Ehale@example.org", "robert.hale@example.org"),  # RFC 6068 §2
        ("mailto:robert@acme.example?subject=hi", "robert@acme.example"),
        ("robert%2Ehale@example.org", "robert%2ehale@example.org"),  # a bare addr-spec: literal
        ("Robert <robert@acme.example>", None),
        ("mailto:a@b@acme.example", None),
        ("mailto:", None),
    ],
)
def test_plain_addresses_read_as_the_general_reading_does(value: str, expected: str | None) -> None:
    from mendcrm.addresses import _mail_of

    assert mail_address(value) == expected
    assert _mail_of(value) == expected  # the general reading, without the short road
    plain = PLAIN_ADDRESS.fullmatch(value)  # the short road as detection takes it
    assert plain is None or plain[1] == expected == address_key(value)
