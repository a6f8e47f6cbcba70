"""The principal's calendar-user-address-set (RFC 6638 §2.4.1) joins ``[me] emails``.

RFC 6638 §2.4.1: the property "identifies the calendar addresses of the associated principal
resource"; an ORGANIZER/ATTENDEE value equal to one of them is that user. Radicale answers its
principal path (``/USER/``) and nothing else; Xandikos answers what a PROPPATCH stored. The set
is fetched with the calendar home during discovery (no extra request), stored in the account's
sync state, and a meeting the user DECLINED under one of those addresses is no encounter.
"""

from __future__ import annotations

from pathlib import Path

from mendcrm.addresses import user_addresses
from mendcrm.config.model import DetectionConfig
from mendcrm.detection import ContactIndex, detect
from mendcrm.model import Contact
from mendcrm.sources import SyncResult, test_account
from tests.fixtures.servers import DavAccount, DavServer, http_request
from tests.sync.helpers import Syncer, make_config
from tests.sync.ics import event

ROBERT = Contact(
    id="c-robert", name="Robert Hale", stage="strained", emails=("robert.hale@example.org",)
)


def _declined_by(address: str, uid: str = "declined") -> str:
    return event(
        uid,
        "20260505T100000Z",
        "20260505T110000Z",
        summary="Budget review",
        extra=[
            "ORGANIZER;CN=Rob:mailto:robert.hale@example.org",
            "ATTENDEE;CN=Rob;PARTSTAT=ACCEPTED:mailto:robert.hale@example.org",
            f"ATTENDEE;CN=Sam;PARTSTAT=DECLINED:{address}",
        ],
    )


def _encounters(sync: Syncer, result: SyncResult) -> list[str]:
    config = sync.config
    found = detect(
        result.occurrences,
        ContactIndex.build([ROBERT]),
        me=config.me,
        settings=DetectionConfig(),
        mine=user_addresses(config.me.emails, result.state),
    )
    return [e.occurrence.uid for e in found]


def test_radicale_principal_path_is_the_users_address(radicale_server: DavServer) -> None:
    dav = radicale_server.new_account()
    url = dav.new_calendar("Work")
    # The user's entry written as their principal URL, as RFC 6638 servers may write it; the
    # [me] emails (me@example.com) do not name it.
    dav.put(url, "d.ics", _declined_by(f"{radicale_server.url}{dav.username}/"))
    dav.put(url, "other.ics", _declined_by(f"{radicale_server.url}someone-else/", uid="other"))
    sync = Syncer(make_config(accounts=(dav.config(),)))
    result = sync()
    assert not result.failed_sources
    # Radicale's answer: <C:calendar-user-address-set><href>/USER/</href>
    assert sync.state["account:test"]["addresses"] == [f"/{dav.username}/"]
    mine = {o.uid: o.my_partstat for o in result.occurrences}
    assert mine == {"declined": "DECLINED", "other": None}
    assert _encounters(sync, result) == ["other"]


def _set_addresses(server: DavServer, dav: DavAccount, *addresses: str) -> None:
    hrefs = "".join(f"<D:href>{a}</D:href>" for a in addresses)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
        f"<C:calendar-user-address-set>{hrefs}</C:calendar-user-address-set>"
        "</D:prop></D:set></D:propertyupdate>"
    )
    answer = http_request(
        f"{server.url}user/", "PROPPATCH", body, {"Content-Type": "application/xml", **dav.auth}
    )
    assert answer.status == 207, answer.body[:300]


def test_xandikos_address_set_is_stored_and_used(dav_server_factory: object) -> None:
    server: DavServer = dav_server_factory("xandikos")  # type: ignore[operator]
    dav = server.new_account()
    # A mailto: in mixed case (RFC 3986 §3.1 scheme, RFC 5321 §2.4 domain) and the principal's
    # urn:uuid. (Xandikos keeps the set in an INI file that cannot hold a "%", so the
    # percent-encoded form is covered in tests/core/test_addresses.py.)
    _set_addresses(server, dav, "MAILTO:Sam.Work@Work.Example", "urn:uuid:5a3c-77")
    url = dav.new_calendar("Work")
    dav.put(url, "by-mail.ics", _declined_by("mailto:sam%2Ework@work.example", uid="by-mail"))
    dav.put(url, "by-urn.ics", _declined_by("urn:uuid:5A3C-77", uid="by-urn"))
    dav.put(url, "not-me.ics", _declined_by("mailto:sam.work@elsewhere.example", uid="not-me"))
    sync = Syncer(make_config(accounts=(dav.config(),)))
    result = sync()
    assert not result.failed_sources
    assert sync.state["account:test"]["addresses"] == [
        "MAILTO:Sam.Work@Work.Example",
        "urn:uuid:5a3c-77",
    ]
    mine = {o.uid: o.my_partstat for o in result.occurrences}
    assert mine == {"by-mail": "DECLINED", "by-urn": "DECLINED", "not-me": None}
    assert _encounters(sync, result) == ["not-me"]

    # A state stored before the set was asked for has no "addresses": discovery runs once more
    # (a PROPFIND on the principal), and the next pass uses the stored listing again.
    del sync.state["account:test"]["addresses"]
    server.reset()
    sync()
    assert ("PROPFIND", "/user/") in server.requests()
    assert sync.state["account:test"]["addresses"][0] == "MAILTO:Sam.Work@Work.Example"
    server.reset()
    sync()
    assert ("PROPFIND", "/user/") not in server.requests()


def test_no_address_set_leaves_me_emails_alone(xandikos_server: DavServer, tmp_path: Path) -> None:
    # The shared Xandikos answers an empty set (nothing stored, no default e-mail): the user is
    # who [me] emails says, and nothing else is added.
    dav = xandikos_server.new_account()
    url = dav.new_calendar("Work")
    dav.put(url, "d.ics", _declined_by("mailto:me@example.com"))
    sync = Syncer(make_config(accounts=(dav.config(),)))
    result = sync()
    assert sync.state["account:test"]["addresses"] == []
    assert user_addresses(sync.config.me.emails, result.state) == {"me@example.com"}
    assert [o.my_partstat for o in result.occurrences] == ["DECLINED"]


def test_account_test_reports_the_address_set(radicale_server: DavServer) -> None:
    dav = radicale_server.new_account()
    dav.new_calendar("Work")
    report = test_account(dav.config(), dav.password)
    assert report.addresses == (f"/{dav.username}/",)
    assert report.to_dict()["addresses"] == (f"/{dav.username}/",)
