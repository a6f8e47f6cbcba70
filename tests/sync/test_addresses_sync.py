"""Issue 11, kind 3 "who an address is", through the real readers: a local file, a vdir, an
https feed on loopback, and CalDAV on Radicale and Xandikos; then through detection.

Every event names Robert Hale (robert.hale@example.org) or the user (me@example.com) in one of
the forms servers write. The expected readings, from the RFCs:

- RFC 7986 §6.3: the EMAIL parameter is the person's mail address whatever the value is (a
  principal path, a urn:uuid, a relay mailto:), so Robert is matched by e-mail (1.0 as attendee,
  0.95 as organiser), with no help from the summary, which never names him.
- RFC 6068 §2 / RFC 3986 §3.1: "MAILTO:robert%2Ehale%40example.org" is robert.hale@example.org.
- The user's own ATTENDEE entry in either form carries their PARTSTAT (RFC 5545 §3.2.12); a
  meeting they DECLINED is no encounter.
- Values that are not mail addresses (invalid:nomail, urn:uuid without EMAIL, tel:) match no
  one by address and are read without a warning: they are valid CAL-ADDRESS values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest

from mendcrm.addresses import user_addresses
from mendcrm.config.model import DetectionConfig, FeedConfig
from mendcrm.detection import ContactIndex, detect
from mendcrm.events.descriptive import people_of
from mendcrm.model import Contact, Occurrence
from mendcrm.sources import SyncResult
from tests.fixtures.servers import DavAccount, FeedServer
from tests.sync.helpers import Syncer, make_config
from tests.sync.ics import calendar, vevent

ROBERT = Contact(
    id="c-robert", name="Robert Hale", stage="strained", emails=("Robert.Hale@example.org",)
)
ROBERT_MAILTO = "ATTENDEE;CN=R.;PARTSTAT=ACCEPTED:mailto:robert.hale@example.org"

# uid -> the lines naming the people; every summary is neutral ("Budget review").
EVENTS: dict[str, list[str]] = {
    "apple-organizer": [
        'ORGANIZER;CN="Rob H.";EMAIL=robert.hale@example.org:/1234567/principal/',
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.com",
    ],
    "urn-attendee": [
        "ORGANIZER:mailto:me@example.com",
        'ATTENDEE;CN=R.;EMAIL="robert.hale@example.org";PARTSTAT=ACCEPTED:urn:uuid:'
        "6b8c2c4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
    ],
    "quoted-cn-colon": [
        # A quoted CN holding ";" "," and ":" must not cut the line early (RFC 5545 §3.2).
        'ORGANIZER;CN="Hale, Robert; Finance: CFO";EMAIL="robert.hale@example.org":/p/r/',
    ],
    "percent-encoded": [
        "ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:robert%2Ehale%40example.org",
    ],
    "relay-value": [
        "ORGANIZER;EMAIL=robert.hale@example.org:mailto:relay-7f3a9c@calendar.example.net",
    ],
    "declined-email-form": [
        "ORGANIZER;CN=Rob:mailto:robert.hale@example.org",
        "ATTENDEE;CN=Me;PARTSTAT=DECLINED;EMAIL=me@example.com:/99/principal/",
        ROBERT_MAILTO,
    ],
    "declined-mailto-case": [
        "ORGANIZER;CN=Rob:mailto:robert.hale@example.org",
        "ATTENDEE;PARTSTAT=DECLINED:MAILTO:Me%40Example.COM",
        ROBERT_MAILTO,
    ],
    "declined-relay-value": [
        # The user's scheduling address in the value, another mail address in EMAIL: still them.
        "ORGANIZER;CN=Rob:mailto:robert.hale@example.org",
        "ATTENDEE;PARTSTAT=DECLINED;EMAIL=me.private@else.example:mailto:me@example.com",
        ROBERT_MAILTO,
    ],
    "my-urn-organizer": [
        "ORGANIZER;CN=Me;EMAIL=me@example.com:urn:uuid:00000000-0000-0000-0000-00000000000a",
        ROBERT_MAILTO,
    ],
    "not-mail": [
        "ORGANIZER:urn:uuid:00000000-0000-0000-0000-00000000000b",
        "ATTENDEE;CN=Meeting Room:invalid:nomail",
        "ATTENDEE;CN=Dial-in:tel:+49-30-1234567",
        "ATTENDEE;CN=Relay:https://caldav.example.net/5555/principal/",
    ],
}

EXPECTED_MATCHES = {
    "apple-organizer": ("organizer-email", "organizer robert.hale@example.org"),
    "urn-attendee": ("attendee-email", "attendee robert.hale@example.org"),
    "percent-encoded": ("attendee-email", "attendee robert.hale@example.org"),
    "quoted-cn-colon": ("organizer-email", "organizer robert.hale@example.org"),
    "relay-value": ("organizer-email", "organizer robert.hale@example.org"),
    "my-urn-organizer": ("attendee-email", "attendee robert.hale@example.org"),
}
EXPECTED_PARTSTAT = {
    "apple-organizer": "ACCEPTED",
    "urn-attendee": "ACCEPTED",  # the user organises it
    "percent-encoded": None,
    "quoted-cn-colon": None,
    "relay-value": None,
    "declined-email-form": "DECLINED",
    "declined-mailto-case": "DECLINED",
    "declined-relay-value": "DECLINED",
    "my-urn-organizer": "ACCEPTED",
    "not-mail": None,
}


def _block(uid: str, day: int) -> str:
    return vevent(
        uid,
        f"202605{day:02d}T100000Z",
        f"202605{day:02d}T110000Z",
        summary="Budget review",
        extra=EVENTS[uid],
    )


def _blocks() -> dict[str, str]:
    return {uid: _block(uid, 4 + i) for i, uid in enumerate(EVENTS)}


def _file(tmp_path: Path, _: FeedServer) -> FeedConfig:
    path = tmp_path / "all.ics"
    path.write_text(calendar(*_blocks().values()))
    return FeedConfig(name="file", path=path)


def _vdir(tmp_path: Path, _: FeedServer) -> FeedConfig:
    folder = tmp_path / "vdir"
    folder.mkdir()
    for uid, block in _blocks().items():
        (folder / f"{uid}.ics").write_text(calendar(block))
    return FeedConfig(name="vdir", path=folder)


def _https(tmp_path: Path, feed_server: FeedServer) -> FeedConfig:
    return FeedConfig(name="web", url=feed_server.publish("all.ics", calendar(*_blocks().values())))


def _check(result: SyncResult) -> None:
    assert not result.failed_sources
    assert [w for r in result.reports for w in r.warnings] == []
    found: dict[str, Occurrence] = {o.uid: o for o in result.occurrences}
    assert set(found) == set(EVENTS)
    assert {uid: o.my_partstat for uid, o in found.items()} == EXPECTED_PARTSTAT
    # Non-mail values are kept as attendees (someone else is there), by their own identity.
    assert [a.email for a in found["not-mail"].attendees] == [
        "invalid:nomail",
        "tel:+49-30-1234567",
        "/5555/principal",
    ]
    config = make_config()
    encounters = detect(
        result.occurrences,
        ContactIndex.build([ROBERT]),
        me=config.me,
        settings=DetectionConfig(),
        mine=user_addresses(config.me.emails, result.state),
    )
    got = {e.occurrence.uid: (e.match.by, e.match.evidence) for e in encounters}
    assert got == EXPECTED_MATCHES


@pytest.mark.parametrize("make_feed", [_file, _vdir, _https], ids=["file", "vdir", "https"])
def test_address_forms_through_the_feed_readers(
    make_feed: Callable[[Path, FeedServer], FeedConfig], tmp_path: Path, feed_server: FeedServer
) -> None:
    _check(Syncer(make_config(feeds=(make_feed(tmp_path, feed_server),)))())


def test_address_forms_through_caldav(dav_account: DavAccount) -> None:
    url = dav_account.new_calendar("Work")
    for uid, block in _blocks().items():
        dav_account.put(url, f"{uid}.ics", calendar(block))
    _check(Syncer(make_config(accounts=(dav_account.config(),)))())


def test_icalendar_fallback_reads_addresses_the_same_way() -> None:
    # The reader falls back to icalendar's parse when its own cut does not line up; the people
    # must come out the same from that path.
    text = calendar(_block("apple-organizer", 4), _block("urn-attendee", 5))
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    organizer, _ = people_of(events[0])
    assert organizer is not None and organizer.email == "robert.hale@example.org"
    assert organizer.cn == "Rob H."
    _, attendees = people_of(events[1])
    assert [a.email for a in attendees] == ["robert.hale@example.org"]


def test_a_broken_address_is_one_warning_naming_the_event(tmp_path: Path) -> None:
    path = tmp_path / "broken.ics"
    path.write_text(
        calendar(
            vevent(
                "broken-addr",
                "20260505T100000Z",
                "20260505T110000Z",
                extra=[
                    "ORGANIZER;CN=Rob:mailto:robert.hale@",
                    "ATTENDEE;CN=Ana;EMAIL=ana-at-example.org:/p/ana/",
                    "ATTENDEE;CN=Room:invalid:nomail",  # valid, so no warning
                ],
            )
        )
    )
    result = Syncer(make_config(feeds=(FeedConfig(name="file", path=path),)))()
    warnings = [w for r in result.reports for w in r.warnings]
    assert len(warnings) == 2, warnings
    assert all("UID broken-addr" in w and "\n" not in w for w in warnings)
    assert "ORGANIZER 'Rob': 'mailto:robert.hale@' is not a valid mailto: address" in warnings[0]
    assert "ATTENDEE 'Ana': its EMAIL parameter 'ana-at-example.org'" in warnings[1]
    # The event is still read, the people kept as unknown identities.
    assert [o.uid for o in result.occurrences] == ["broken-addr"]
