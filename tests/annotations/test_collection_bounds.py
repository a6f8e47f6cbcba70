"""MendCRM reads and writes objects only inside the collections it found (issue 12, 1): a
listing of its own calendar, or a member list handed to the loader, that names an object
elsewhere is never fetched, rewritten or deleted.

The hostile listings come from the split-host service of :mod:`tests.fixtures.split_hosts`,
which records every request, so each test asserts that none went to the stray object.
"""

from __future__ import annotations

from mendcrm.annotations import dav
from mendcrm.sources.member_loader import MemberLoader
from mendcrm.sources.transport import Transport
from tests.fixtures.split_hosts import (
    DISCOVERY,
    ELSEWHERE,
    PASSWORD,
    USERNAME,
    SplitHosts,
    multistatus,
    object_props,
)

CALENDAR = "/1234/calendars/mendcrm/"


def _transport(service: SplitHosts) -> Transport:
    return Transport(
        service.tls.url(DISCOVERY),
        where="account 'icloud'",
        username=USERNAME,
        password=PASSWORD,
        auth_type="basic",
        ca_file=service.ca_file,
        sleep=lambda _: None,
    )


def test_the_dedicated_calendar_listing_keeps_only_its_own_objects(
    split_hosts: SplitHosts,
) -> None:
    # dedicated.reconcile and clear delete what this listing names: a stray href here would
    # have MendCRM delete the user's object in another calendar (or send a DELETE elsewhere).
    strays = [
        "/1234/calendars/home/diary.ics",  # another calendar of the same account
        CALENDAR + "../home/plans.ics",  # climbs out with a dot segment
        split_hosts.tls.url(ELSEWHERE, CALENDAR + "x.ics"),  # another registrable domain
    ]
    members = [(CALENDAR, "<D:resourcetype><D:collection/></D:resourcetype>")]
    members.append((CALENDAR + "prep-1.ics", object_props('"1"', None)))
    members += [(href, object_props('"2"', None)) for href in strays]
    split_hosts.on(DISCOVERY, "PROPFIND", CALENDAR, 207, multistatus(*members))
    t = _transport(split_hosts)
    try:
        listed = dav.list_etags(t, split_hosts.tls.url(DISCOVERY, CALENDAR))
    finally:
        t.close()
    assert listed == {CALENDAR + "prep-1.ics": '"1"'}


def test_the_loader_never_fetches_an_href_outside_its_calendar(split_hosts: SplitHosts) -> None:
    wanted = {
        "/1234/calendars/home/diary.ics": '"a"',
        CALENDAR + "%2E%2E/home/plans.ics": '"b"',
        split_hosts.plain.url(DISCOVERY, CALENDAR + "y.ics"): '"c"',
    }
    t = _transport(split_hosts)
    try:
        loaded = MemberLoader(t, split_hosts.tls.url(DISCOVERY, CALENDAR), "icloud (Mine)").load(
            wanted
        )
    finally:
        t.close()
    assert loaded.objects == [] and loaded.gone == []
    assert [href for href, _, _ in loaded.skipped] == list(wanted)
    assert all("lies outside the calendar" in warning for _, _, warning in loaded.skipped)
    assert split_hosts.requests() == []  # not one request: no multiget, no GET
