"""Within ``[sync] listing_refresh_minutes`` of the last listing, a pass asks each known calendar
for its changes by a sync-collection REPORT from its stored token (RFC 6578 §3.2) instead of
listing the calendar home first (mendcrm.sources.known_calendars); on Xandikos, whose
DAV:sync-token property costs far less than that REPORT, the property is read first
(PROPFIND, Depth 0, on the calendar) and the REPORT sent only when it moved. Each test runs on
Radicale and on Xandikos."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from mendcrm.sources import davxml
from mendcrm.sources.known_calendars import DIRECT_MAX_CALENDARS
from tests.fixtures.servers import DavAccount
from tests.sync.helpers import NOW, Syncer, make_config, summaries
from tests.sync.ics import event

pytestmark = pytest.mark.caldav


def _methods(account: DavAccount) -> list[str]:
    """The requests since the last reset: "PROPFIND" is the listing (on the calendar home), a
    PROPFIND on a calendar itself is the token read first on Xandikos ("TOKEN")."""
    return [
        "TOKEN" if method == "PROPFIND" and "/cal-" in path else method
        for method, path in account.server.requests()
        if not method.startswith("__")
    ]


def _token_first(account: DavAccount) -> list[str]:
    """What a direct pass sends before each calendar's REPORT: the token read on Xandikos."""
    return ["TOKEN"] if account.server.kind == "xandikos" else []


def _put(account: DavAccount, cal: str, uid: str, day: int, summary: str) -> None:
    start = f"202605{day:02d}T100000Z"
    account.put(cal, f"{uid}.ics", event(uid, start, start.replace("T10", "T11"), summary=summary))


def test_a_no_change_pass_within_the_interval_sends_one_request_and_no_listing(
    dav_account: DavAccount,
) -> None:
    cal = dav_account.new_calendar("Work")
    _put(dav_account, cal, "a", 5, "A")
    sync = Syncer(make_config((dav_account.config("work"),)))
    first = sync()
    dav_account.server.reset()

    again = sync(NOW + timedelta(minutes=15))

    # 15 minutes < the 60-minute default: the stored token goes straight to the calendar, as a
    # REPORT; on Xandikos its DAV:sync-token property is read instead, and it has not moved.
    sent = "PROPFIND" if dav_account.server.kind == "xandikos" else "REPORT"
    assert dav_account.server.requests() == [(sent, davxml.href_path(cal))]
    assert again.requests == 1 and again.reports[0].method == "unchanged"
    assert again.occurrences == first.occurrences
    # The listing's time is kept from the pass that listed, so the interval is not extended.
    assert again.state["account:work"]["listed_at"] == first.state["account:work"]["listed_at"]


def test_changes_read_directly_equal_the_listing_paths_result(dav_account: DavAccount) -> None:
    work = dav_account.new_calendar("Work")
    home = dav_account.new_calendar("Home")
    for n, day in enumerate((5, 6, 7)):
        _put(dav_account, work, f"w{n}", day, f"W{n}")
    _put(dav_account, home, "h0", 8, "H0")
    direct = Syncer(make_config((dav_account.config("work"),)))
    listing = Syncer(make_config((dav_account.config("work"),), listing_refresh_minutes=0))
    direct()
    listing()
    _put(dav_account, work, "w3", 9, "W3")  # added
    _put(dav_account, work, "w1", 6, "W1 moved")  # changed
    dav_account.delete(work + "w2.ics")  # deleted
    dav_account.server.reset()

    got = direct(NOW + timedelta(minutes=20))
    direct_methods = _methods(dav_account)
    dav_account.server.reset()
    expected = listing(NOW + timedelta(minutes=20))

    assert summaries(got) == ["W0", "W1 moved", "H0", "W3"]
    assert got.occurrences == expected.occurrences
    # Two calendars, each asked once; Home answers with no member (unchanged), Work with its
    # changes. Radicale sends the calendar-data asked for in the same answer, so nothing else
    # is fetched; Xandikos leaves it out, so the two changed objects take one multiget REPORT,
    # and there each calendar's token is read first: Home's has not moved, so no REPORT.
    if dav_account.server.kind == "xandikos":
        assert sorted(direct_methods) == ["REPORT", "REPORT", "TOKEN", "TOKEN"]
    else:
        assert direct_methods == ["REPORT", "REPORT"]
    by_name = {r.name: r for r in got.reports}
    assert by_name["Home"].method == "unchanged"
    assert by_name["Work"].method == "sync-token" and by_name["Work"].deleted == 1
    # With the listing turned off (0 minutes) every pass starts with the PROPFIND.
    assert _methods(dav_account)[0] == "PROPFIND"


def test_a_calendar_added_on_the_server_appears_after_the_interval_not_before(
    dav_account: DavAccount,
) -> None:
    work = dav_account.new_calendar("Work")
    _put(dav_account, work, "w", 5, "W")
    added_name = f"Added {uuid.uuid4().hex[:8]}"  # unique: Xandikos's home is shared by tests
    account = dav_account.config("work", calendars=(work, added_name))
    sync = Syncer(make_config((account,), listing_refresh_minutes=60))
    assert summaries(sync()) == ["W"]
    added = dav_account.new_calendar(added_name)
    _put(dav_account, added, "n", 6, "New")
    dav_account.server.reset()

    before = sync(NOW + timedelta(minutes=59))

    assert summaries(before) == ["W"]
    assert "PROPFIND" not in _methods(dav_account)
    dav_account.server.reset()

    after = sync(NOW + timedelta(minutes=60))  # the interval has passed: listed again

    assert summaries(after) == ["W", "New"]
    assert _methods(dav_account)[0] == "PROPFIND"
    assert all(r.error == "" for r in after.reports)


def test_a_calendar_deleted_on_the_server_is_noticed_at_the_next_pass(
    dav_account: DavAccount,
) -> None:
    work = dav_account.new_calendar("Work")
    home = dav_account.new_calendar("Home")
    _put(dav_account, work, "w", 5, "W")
    _put(dav_account, home, "h", 6, "H")
    sync = Syncer(make_config((dav_account.config("work", calendars=(work, home)),)))
    assert summaries(sync()) == ["W", "H"]
    dav_account.delete_calendar(home)
    dav_account.server.reset()

    result = sync(NOW + timedelta(minutes=10))

    # Home's REPORT answers 404 (the collection is gone), which sends the pass to the listing
    # at once; the listing no longer has Home, and with under 10 objects it is simply dropped.
    assert summaries(result) == ["W"]
    assert "PROPFIND" in _methods(dav_account)
    assert [r.name for r in result.reports] == ["Work"] and result.reports[0].error == ""
    assert result.failed_sources == set()
    assert not any(d.get("calendar") == home for d in result.state.values())
    dav_account.server.reset()

    again = sync(NOW + timedelta(minutes=20))  # listed 10 minutes ago: direct again

    expected = _token_first(dav_account) or ["REPORT"]
    assert _methods(dav_account) == expected and summaries(again) == ["W"]


def test_an_invalid_token_asked_directly_still_falls_back_to_the_time_range_query(
    dav_account: DavAccount,
) -> None:
    cal = dav_account.new_calendar("Work")
    for n in range(3):
        _put(dav_account, cal, f"e{n}", n + 3, f"E{n}")
    sync = Syncer(make_config((dav_account.config("work"),)))
    sync()
    dav_account.delete(cal + "e0.ics")
    _put(dav_account, cal, "e1", 4, "E1 changed")
    for doc in sync.state.values():
        if doc.get("token"):
            doc["token"] = doc["token"][:-6] + "000000"  # a token the server never issued
    dav_account.server.reset()

    result = sync(NOW + timedelta(minutes=5))

    # RFC 6578 §3.2: a token the server does not know is refused (DAV:valid-sync-token); the
    # pass lists the calendars at once and then compares ETags over the window as before.
    assert summaries(result) == ["E1 changed", "E2"]
    [report] = result.reports
    assert report.error == "" and report.method == "time-range" and report.fetched == 1
    assert any("no longer accepts the stored sync token" in w for w in report.warnings)
    assert "PROPFIND" in _methods(dav_account)
    dav_account.server.reset()
    again = sync(NOW + timedelta(minutes=10))
    assert again.reports[0].method == "unchanged"
    assert _methods(dav_account) == (_token_first(dav_account) or ["REPORT"])


def test_a_server_error_on_the_direct_report_goes_to_the_listing_and_loses_nothing(
    dav_account: DavAccount,
) -> None:
    cal = dav_account.new_calendar("Work")
    _put(dav_account, cal, "a", 5, "A")
    sync = Syncer(make_config((dav_account.config("work"),)))
    sync()
    _put(dav_account, cal, "b", 6, "B")
    dav_account.server.reset()
    dav_account.server.fault(500, method="REPORT")

    result = sync(NOW + timedelta(minutes=5))

    # (On Xandikos the token read first, which has moved,) the failed REPORT, the listing, the
    # REPORT that reads the change (and on Xandikos, whose sync answers carry no data, the
    # multiget that fetches it).
    fetches = 1 if dav_account.server.kind == "xandikos" else 0
    first = _token_first(dav_account)
    assert _methods(dav_account) == [*first, "REPORT", "PROPFIND", "REPORT"] + ["REPORT"] * fetches
    assert summaries(result) == ["A", "B"]
    assert result.reports[0].error == "" and result.failed_sources == set()
    assert result.requests == len(first) + 3 + fetches


def test_the_clock_going_back_lists_again(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    _put(dav_account, cal, "a", 5, "A")
    sync = Syncer(make_config((dav_account.config("work"),)))
    sync(NOW + timedelta(minutes=30))
    dav_account.server.reset()

    # The listing seems to lie in the future: its age is unknown, so it is not trusted.
    result = sync(NOW + timedelta(minutes=29))

    assert _methods(dav_account)[0] == "PROPFIND" and summaries(result) == ["A"]


def test_more_calendars_than_the_rule_allows_are_listed_on_every_pass(
    dav_account: DavAccount,
) -> None:
    cals = [dav_account.new_calendar(f"C{n}") for n in range(DIRECT_MAX_CALENDARS + 1)]
    for n, cal in enumerate(cals):
        _put(dav_account, cal, f"e{n}", n + 3, f"E{n}")
    sync = Syncer(make_config((dav_account.config("work"),)))
    first = sync()
    dav_account.server.reset()

    again = sync(NOW + timedelta(minutes=5))

    # Past the rule, one listing answers for every calendar: nothing changed, nothing else.
    assert _methods(dav_account) == ["PROPFIND"]
    assert again.occurrences == first.occurrences


def test_a_changed_choice_of_calendars_in_the_config_lists_again(dav_account: DavAccount) -> None:
    work = dav_account.new_calendar("Work")
    home = dav_account.new_calendar("Home")
    _put(dav_account, work, "w", 5, "W")
    _put(dav_account, home, "h", 6, "H")
    sync = Syncer(make_config((dav_account.config("work", calendars=(work,)),)))
    assert summaries(sync()) == ["W"]
    sync.config = make_config((dav_account.config("work", calendars=(work, home)),))
    dav_account.server.reset()

    result = sync(NOW + timedelta(minutes=5))  # within the interval, but the choice changed

    assert summaries(result) == ["W", "H"] and _methods(dav_account)[0] == "PROPFIND"
