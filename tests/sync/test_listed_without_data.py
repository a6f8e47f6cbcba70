"""A server's answer that lacks what was asked for is not an empty calendar (issue 11, kind 7),
and one bad byte must not cost a whole calendar: against a loopback server that answers the way
LINE WORKS, Nextcloud and servers copying a bad object into their XML do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mendcrm.config.model import Config
from mendcrm.detection import ContactIndex, detect
from mendcrm.errors import SourceError
from mendcrm.model import Contact
from mendcrm.sources import SyncResult, test_account
from tests.fixtures.quirky_dav import CALENDAR, QuirkyDav
from tests.fixtures.servers import DavAccount
from tests.sync.helpers import NOW, Syncer, make_config
from tests.sync.ics import event

ROBERT = Contact(
    id="c-robert",
    name="Robert Hale",
    emails=("robert.hale@example.org",),
    stage="strained",
    stage_since=NOW - timedelta(days=30),
)
WITH_ROBERT = ["ATTENDEE;CN=Robert Hale:mailto:robert.hale@example.org"]


def _put(server: QuirkyDav, name: str, start: str, end: str, summary: str) -> None:
    server.put(name, event(name, start, end, summary=summary, extra=WITH_ROBERT), start, end)


def _seen(result: SyncResult) -> list[tuple[str, datetime]]:
    return [(o.summary, o.start) for o in result.occurrences]


def _encounters(result: SyncResult, config: Config) -> list[tuple[str, str]]:
    found = detect(
        result.occurrences,
        ContactIndex.build([ROBERT]),
        me=config.me,
        settings=config.detection,
    )
    return sorted((e.occurrence.uid, e.contact_id) for e in found)


def _at(day: int, month: int = 5, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def line_works(quirky_dav: QuirkyDav) -> QuirkyDav:
    """The calendar of the report: two events in the window, one past the first horizon (the
    window is 30 days from 2026-05-01, the horizon 7 more, so up to 2026-06-07), one in 2019."""
    _put(quirky_dav, "soon.ics", "20260505T100000Z", "20260505T110000Z", "Soon")
    _put(quirky_dav, "later.ics", "20260520T100000Z", "20260520T110000Z", "Later")
    _put(quirky_dav, "far.ics", "20260620T100000Z", "20260620T110000Z", "Far")
    _put(quirky_dav, "old.ics", "20190505T100000Z", "20190505T110000Z", "Old")
    return quirky_dav


@pytest.mark.parametrize("sync_token", [False, True], ids=["ctag-only", "sync-token"])
def test_members_listed_without_data_arrive_on_first_sync_slide_and_change(
    line_works: QuirkyDav, sync_token: bool
) -> None:
    server = line_works
    server.sync_token = sync_token
    config = make_config((server.account(),))
    sync = Syncer(config)

    first = sync()

    # The time-range query answers href + empty 200 propstat: the two objects overlapping the
    # horizon must be fetched by one multiget, not read as an empty calendar.
    assert _seen(first) == [("Soon", _at(5)), ("Later", _at(20))]
    assert first.reports[0].warnings == [] and first.failed_sources == set()
    assert first.reports[0].fetched == 2
    assert server.multigets() == [(CALENDAR + "later.ics", CALENDAR + "soon.ics")]
    assert _encounters(first, config) == [("later.ics", "c-robert"), ("soon.ics", "c-robert")]

    again = sync(NOW + timedelta(minutes=15))
    assert _seen(again) == _seen(first) and again.reports[0].method == "unchanged"

    # 25 days on the window ends 2026-06-25, past the horizon: "Far" (06-20) comes into it.
    slid = sync(NOW + timedelta(days=25))
    assert _seen(slid) == [("Far", _at(20, 6))]
    assert _encounters(slid, config) == [("far.ics", "c-robert")]

    # A change (new ctag / sync-token): one moved, one added, one deleted.
    _put(server, "far.ics", "20260622T150000Z", "20260622T160000Z", "Far moved")
    _put(server, "new.ics", "20260610T080000Z", "20260610T090000Z", "New")
    changed = sync(NOW + timedelta(days=25, hours=1))
    assert _seen(changed) == [("New", _at(10, 6, 8)), ("Far moved", _at(22, 6, 15))]
    assert changed.reports[0].warnings == []
    assert _encounters(changed, config) == [("far.ics", "c-robert"), ("new.ics", "c-robert")]

    server.delete("new.ics")
    gone = sync(NOW + timedelta(days=25, hours=2))
    assert _seen(gone) == [("Far moved", _at(22, 6, 15))]


BAD_CHARACTERS = ["\x01", "\ufffe", "\x1b"]  # not Char in XML 1.0 §2.2, even as &#x1;


def _batch_with_a_bad_object(server: QuirkyDav, bad: str) -> None:
    # Seven objects sorted by name, the bad one fourth: the batch of seven fails, so do the
    # halves holding it, until it is asked for alone.
    for day in range(3, 10):
        name = f"e{day}.ics"
        summary = f"Meeting {day}" + (f" {bad}" if day == 6 else "")
        _put(server, name, f"202605{day:02}T100000Z", f"202605{day:02}T110000Z", summary)


@pytest.mark.parametrize("bad", BAD_CHARACTERS, ids=["U+0001", "U+FFFE", "U+001B"])
@pytest.mark.parametrize("multiget", ["raw", "500"])
@pytest.mark.parametrize("query_data", [False, True], ids=["hrefs-only", "with-data"])
def test_one_bad_object_is_isolated_and_read_by_get(
    quirky_dav: QuirkyDav, bad: str, multiget: str, query_data: bool
) -> None:
    server = quirky_dav
    server.multiget, server.query_data = multiget, query_data
    _batch_with_a_bad_object(server, bad)
    config = make_config((server.account(),))

    result = Syncer(config)()

    # All seven events, the bad one too: its body is iCalendar, so a plain GET reads it.
    assert [o.start for o in result.occurrences] == [_at(day) for day in range(3, 10)]
    assert [o.uid for o in result.occurrences] == [f"e{day}.ics" for day in range(3, 10)]
    assert result.reports[0].warnings == [] and result.failed_sources == set()
    assert server.gets() == [CALENDAR + "e6.ics"]  # only the bad one went by GET
    assert (CALENDAR + "e6.ics",) in server.multigets()  # after it was asked for alone
    assert len(_encounters(result, config)) == 7


@pytest.mark.parametrize("bad", BAD_CHARACTERS, ids=["U+0001", "U+FFFE", "U+001B"])
@pytest.mark.parametrize("multiget", ["raw", "500"])
def test_a_bad_object_whose_get_fails_too_is_skipped_with_one_warning(
    quirky_dav: QuirkyDav, bad: str, multiget: str
) -> None:
    server = quirky_dav
    server.multiget = multiget
    server.get_fails = {"e6.ics"}
    _batch_with_a_bad_object(server, bad)
    sync = Syncer(make_config((server.account(),)))

    result = sync()

    days = [3, 4, 5, 7, 8, 9]  # the siblings in its batch, all read
    assert [o.start for o in result.occurrences] == [_at(day) for day in days]
    [warning] = result.reports[0].warnings
    assert CALENDAR + "e6.ics" in warning and "skipped" in warning and "\n" not in warning
    assert result.reports[0].error == ""

    # Repaired on the server: the next change brings it in.
    _put(server, "e6.ics", "20260506T120000Z", "20260506T130000Z", "Meeting 6 repaired")
    server.get_fails = set()
    repaired = sync(NOW + timedelta(hours=1))
    assert ("Meeting 6 repaired", _at(6, hour=12)) in _seen(repaired)
    assert repaired.reports[0].warnings == []


@pytest.mark.caldav
def test_a_character_xml_cannot_carry_costs_only_its_object_on_radicale_and_xandikos(
    dav_account: DavAccount,
) -> None:
    # Both servers store U+FFFE as sent and copy it into their REPORT answers, which no XML
    # parser may then accept (XML 1.0 §2.2); the object's own GET body is iCalendar and reads.
    cal = dav_account.new_calendar("Work")
    for day in range(3, 8):
        summary = f"Meeting {day}" + (" \ufffe" if day == 5 else "")
        start, end = f"202605{day:02}T100000Z", f"202605{day:02}T110000Z"
        dav_account.put(cal, f"e{day}.ics", event(f"e{day}", start, end, summary=summary))
    dav_account.server.reset()

    result = Syncer(make_config((dav_account.config("work"),)))()

    assert [o.start for o in result.occurrences] == [_at(day) for day in range(3, 8)]
    assert result.reports[0].warnings == [] and result.failed_sources == set()
    gets = [path for method, path in dav_account.server.requests() if method == "GET"]
    assert [g.rsplit("/", 1)[-1] for g in gets] == ["e5.ics"]


def test_a_server_without_multiget_is_read_by_get(quirky_dav: QuirkyDav) -> None:
    server = quirky_dav
    server.multiget = "none"
    _put(server, "a.ics", "20260505T100000Z", "20260505T110000Z", "A")
    _put(server, "b.ics", "20260506T100000Z", "20260506T110000Z", "B")

    result = Syncer(make_config((server.account(),)))()

    assert _seen(result) == [("A", _at(5)), ("B", _at(6))]
    assert len(server.multigets()) == 1  # answered 501 once; not asked again
    assert server.gets() == [CALENDAR + "a.ics", CALENDAR + "b.ics"]


# -- discovery --------------------------------------------------------------------------------


def test_a_root_that_refuses_propfind_leads_on_to_well_known(quirky_dav: QuirkyDav) -> None:
    server = quirky_dav  # root_405 is on: the root answers 405 like Nextcloud's
    _put(server, "a.ics", "20260505T100000Z", "20260505T110000Z", "A")

    result = Syncer(make_config((server.account(),)))()

    assert _seen(result) == [("A", _at(5))] and result.failed_sources == set()
    methods = [(m, p, s) for m, p, s, _ in server.log[:3]]
    # RFC 6764 §5: after the root's 405, /.well-known/caldav redirects to the DAV root.
    assert methods == [
        ("PROPFIND", "/", 405),
        ("PROPFIND", "/.well-known/caldav", 301),
        ("PROPFIND", "/dav/", 207),
    ]
    report = test_account(server.account(), "pw")
    assert [c.url for c in report.calendars] == [server.url.rstrip("/") + CALENDAR]


def test_a_root_that_refuses_propfind_without_well_known_is_one_clear_error(
    quirky_dav: QuirkyDav,
) -> None:
    quirky_dav.well_known = False
    with pytest.raises(SourceError) as raised:
        test_account(quirky_dav.account(), "pw")
    message = str(raised.value)
    assert "does not speak WebDAV (405 to PROPFIND)" in message and "\n" not in message


@pytest.mark.parametrize("sync_token", [False, True], ids=["ctag-only", "sync-token"])
def test_a_bad_object_arriving_as_a_change_costs_only_itself(
    quirky_dav: QuirkyDav, sync_token: bool
) -> None:
    server = quirky_dav
    server.sync_token, server.query_data = sync_token, True
    _put(server, "a.ics", "20260505T100000Z", "20260505T110000Z", "A")
    sync = Syncer(make_config((server.account(),)))
    assert _seen(sync()) == [("A", _at(5))] and server.gets() == []

    # The change answer (sync-collection with data, or the ETag listing then a multiget) holds
    # the bad object next to a good one: the good one is read, the bad one by GET.
    _put(server, "b.ics", "20260506T100000Z", "20260506T110000Z", "B \x01")
    _put(server, "c.ics", "20260507T100000Z", "20260507T110000Z", "C")
    changed = sync(NOW + timedelta(hours=1))

    assert [o.uid for o in changed.occurrences] == ["a.ics", "b.ics", "c.ics"]
    assert [o.start for o in changed.occurrences] == [_at(5), _at(6), _at(7)]
    assert changed.reports[0].warnings == [] and changed.failed_sources == set()
    assert server.gets() == [CALENDAR + "b.ics"]


def test_a_server_down_while_fetching_fails_the_calendar_without_splitting(
    quirky_dav: QuirkyDav,
) -> None:
    server = quirky_dav
    server.multiget = "down"
    for day in range(3, 7):
        _put(server, f"e{day}.ics", f"202605{day:02}T100000Z", f"202605{day:02}T110000Z", "M")
    sync = Syncer(make_config((server.account(),)))

    down = sync()

    # 502 is the server's state, not one object's: no halving, no GETs; the transport's three
    # attempts at the one batch, then one error line, and the next sync tries again.
    assert down.occurrences == [] and down.failed_sources == {"account:quirky"}
    [error] = [r.error for r in down.reports if r.error]
    assert "502" in error and "\n" not in error
    assert len(server.multigets()) == 3 and server.gets() == []

    server.multiget = "raw"
    assert [o.start for o in sync(NOW + timedelta(hours=1)).occurrences] == [
        _at(day) for day in range(3, 7)
    ]


def test_a_multiget_answered_in_part_is_asked_again_for_the_rest(quirky_dav: QuirkyDav) -> None:
    server = quirky_dav
    server.multiget_cap = 2  # answers two of the hrefs asked for, and says nothing of the rest
    for day in range(3, 8):
        _put(server, f"e{day}.ics", f"202605{day:02}T100000Z", f"202605{day:02}T110000Z", "M")

    result = Syncer(make_config((server.account(),)))()

    assert [o.start for o in result.occurrences] == [_at(day) for day in range(3, 8)]
    assert [len(batch) for batch in server.multigets()] == [5, 3, 1]  # never a GET
    assert server.gets() == [] and result.reports[0].warnings == []
