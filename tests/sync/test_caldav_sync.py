"""CalDAV sync against real servers (Radicale and Xandikos, each test on both)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mendcrm.sources import davxml, state_size
from tests.fixtures.servers import DavAccount, DavServer
from tests.sync.helpers import NOW, Syncer, make_config, summaries
from tests.sync.ics import calendar, event, vevent

pytestmark = pytest.mark.caldav


def _report_requests(server: DavServer) -> list[tuple[str, str]]:
    return [r for r in server.requests() if r[0] in ("REPORT", "PROPFIND", "GET")]


def test_first_sync_reads_only_the_window_and_a_resync_costs_one_request(
    dav_account: DavAccount,
) -> None:
    server = dav_account.server
    cal = dav_account.new_calendar("Work")
    dav_account.put(
        cal, "soon.ics", event("soon", "20260505T100000Z", "20260505T110000Z", summary="Soon")
    )
    dav_account.put(
        cal, "later.ics", event("later", "20260520T100000Z", "20260520T110000Z", summary="Later")
    )
    dav_account.put(
        cal, "old.ics", event("old", "20190505T100000Z", "20190505T110000Z", summary="Old")
    )
    dav_account.put(
        cal, "far.ics", event("far", "20271105T100000Z", "20271105T110000Z", summary="Far")
    )
    sync = Syncer(make_config((dav_account.config("work"),)))
    server.reset()

    first = sync()

    assert summaries(first) == ["Soon", "Later"]
    [report] = first.reports
    assert report.error == ""
    if server.kind == "radicale":
        # A time-range query: history and the far future were never downloaded.
        assert report.method == "sync-token" and (report.fetched, report.filtered) == (2, 0)
    else:
        # Xandikos (mendcrm.sources.strategy): the whole listing is fetched by multiget, and
        # the two objects years away are proven outside the window from their text, not parsed.
        assert report.method == "sync-multiget" and (report.fetched, report.filtered) == (4, 2)
    assert first.failed_sources == set()
    server.reset()

    again = sync(NOW + timedelta(minutes=15))

    assert summaries(again) == ["Soon", "Later"]
    # One request: within [sync] listing_refresh_minutes the calendar is asked directly, a
    # sync-collection REPORT from the stored token (the listing PROPFIND is skipped); on
    # Xandikos a PROPFIND of the calendar's DAV:sync-token, which has not moved.
    sent = "PROPFIND" if server.kind == "xandikos" else "REPORT"
    assert server.requests() == [(sent, davxml.href_path(cal))]
    assert again.reports[0].method == "unchanged" and again.requests == 1
    [(key, doc)] = [(k, d) for k, d in again.state.items() if d["kind"] == "calendar"]
    assert (doc["objects"], doc["token"]) == (
        first.state[key]["objects"],
        first.state[key]["token"],
    )


def test_added_modified_moved_and_deleted_events_between_syncs(dav_account: DavAccount) -> None:
    work = dav_account.new_calendar("Work")
    home = dav_account.new_calendar("Home")
    dav_account.put(work, "a.ics", event("a", "20260505T100000Z", "20260505T110000Z", summary="A"))
    dav_account.put(work, "b.ics", event("b", "20260506T100000Z", "20260506T110000Z", summary="B"))
    dav_account.put(work, "c.ics", event("c", "20260507T100000Z", "20260507T110000Z", summary="C"))
    dav_account.put(work, "d.ics", event("d", "20260508T100000Z", "20260508T110000Z", summary="D"))
    sync = Syncer(make_config((dav_account.config("work"),)))
    assert summaries(sync()) == ["A", "B", "C", "D"]

    dav_account.put(work, "e.ics", event("e", "20260509T100000Z", "20260509T110000Z", summary="E"))
    dav_account.put(work, "a.ics", event("a", "20260505T100000Z", "20260505T110000Z", summary="A2"))
    dav_account.put(work, "b.ics", event("b", "20260512T140000Z", "20260512T150000Z", summary="B"))
    dav_account.delete(work + "c.ics")
    dav_account.delete(work + "d.ics")
    dav_account.put(home, "d.ics", event("d", "20260508T100000Z", "20260508T110000Z", summary="D"))
    result = sync(NOW + timedelta(hours=1))

    assert [(o.summary, o.start.day, o.calendar_name) for o in result.occurrences] == [
        ("A2", 5, "Work"),
        ("D", 8, "Home"),
        ("E", 9, "Work"),
        ("B", 12, "Work"),
    ]
    by_name = {r.name: r for r in result.reports}
    assert (by_name["Work"].method, by_name["Work"].deleted, by_name["Work"].fetched) == (
        "sync-token",
        2,
        3,
    )
    assert by_name["Home"].fetched == 1


def test_recurring_series_with_override_and_exdate(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    master = vevent(
        "series",
        "DTSTART;TZID=Europe/Berlin:20260504T100000",
        "DTEND;TZID=Europe/Berlin:20260504T110000",
        summary="Weekly 1:1",
        extra=["RRULE:FREQ=WEEKLY", "EXDATE;TZID=Europe/Berlin:20260511T100000"],
    )
    moved = vevent(
        "series",
        "DTSTART;TZID=Europe/Berlin:20260519T150000",
        "DTEND;TZID=Europe/Berlin:20260519T160000",
        summary="Weekly 1:1 (moved)",
        extra=["RECURRENCE-ID;TZID=Europe/Berlin:20260518T100000"],
    )
    dav_account.put(cal, "series.ics", calendar(master, moved))
    sync = Syncer(make_config((dav_account.config("work"),)))

    result = sync()

    got = [(o.start.month, o.start.day, o.start.hour, o.summary) for o in result.occurrences]
    assert got == [
        (5, 4, 8, "Weekly 1:1"),
        (5, 19, 13, "Weekly 1:1 (moved)"),
        (5, 25, 8, "Weekly 1:1"),
    ]
    assert {o.recurrence_id for o in result.occurrences} >= {"2026-05-18T08:00:00+00:00"}


def test_all_day_outlook_and_google_style_times(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    dav_account.put(
        cal,
        "conf.ics",
        event("conf", "DTSTART;VALUE=DATE:20260512", "DTEND;VALUE=DATE:20260515", summary="Summit"),
    )
    dav_account.put(
        cal,
        "outlook.ics",
        event(
            "outlook",
            "DTSTART;TZID=W. Europe Standard Time:20260506T090000",
            "DTEND;TZID=W. Europe Standard Time:20260506T100000",
            summary="Outlook",
        ),
    )
    dav_account.put(
        cal,
        "google.ics",
        calendar(
            vevent("google", "20260507T130000Z", "20260507T140000Z", summary="Google"),
            head=["X-WR-TIMEZONE:America/New_York"],
        ),
    )
    sync = Syncer(make_config((dav_account.config("work"),)))

    by_summary = {o.summary: o for o in sync().occurrences}

    summit = by_summary["Summit"]
    assert summit.all_day and summit.end - summit.start == timedelta(days=3)
    assert summit.start.isoformat() == "2026-05-11T22:00:00+00:00"
    assert by_summary["Outlook"].start.hour == 7 and by_summary["Outlook"].tzid == "Europe/Berlin"
    assert by_summary["Google"].start.hour == 13 and by_summary["Google"].tzid == "America/New_York"


def test_an_expired_sync_token_falls_back_to_comparing_etags(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    for n in range(3):
        dav_account.put(
            cal,
            f"e{n}.ics",
            event(f"e{n}", f"2026050{n + 3}T100000Z", f"2026050{n + 3}T110000Z", summary=f"E{n}"),
        )
    sync = Syncer(make_config((dav_account.config("work"),)))
    sync()
    dav_account.delete(cal + "e0.ics")
    dav_account.put(
        cal, "e1.ics", event("e1", "20260504T100000Z", "20260504T110000Z", summary="E1 changed")
    )
    for doc in sync.state.values():
        if doc.get("token"):
            doc["token"] = doc["token"][:-6] + "000000"  # a token the server never issued

    result = sync(NOW + timedelta(hours=1))

    assert summaries(result) == ["E1 changed", "E2"]
    [report] = result.reports
    assert report.error == "" and report.method == "time-range" and report.fetched == 1
    assert any("no longer accepts the stored sync token" in w for w in report.warnings)
    assert result.failed_sources == set()
    again = sync(NOW + timedelta(hours=2))
    assert again.reports[0].method == "unchanged"


def test_a_malformed_or_hostile_object_is_skipped_and_named(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    dav_account.put(
        cal, "good.ics", event("good", "20260505T100000Z", "20260505T110000Z", summary="Good")
    )
    dav_account.put(
        cal,
        "big.ics",
        event("big", "20260506T100000Z", "20260506T110000Z", extra=["DESCRIPTION:" + "x" * 6000]),
    )
    # Servers accept these; the reader must not. (A FREQ=SECONDLY rule would also do, but it
    # costs Radicale itself minutes of CPU on PUT: Radicale #2188.)
    dav_account.put(
        cal,
        "stuck.ics",
        event(
            "stuck",
            "20260506T100000Z",
            "20260506T110000Z",
            extra=["RRULE:FREQ=WEEKLY;INTERVAL=0;COUNT=3"],
        ),
    )
    if dav_account.server.kind == "xandikos":  # Radicale refuses this one on PUT
        dav_account.put(cal, "broken.ics", event("broken", "DTSTART;VALUE=DATE:20261345"))
    sync = Syncer(make_config((dav_account.config("work"),), max_object_bytes=4000))

    result = sync()

    assert summaries(result) == ["Good"]
    warnings = result.reports[0].warnings
    assert any("big.ics" in w and "UID" in w and "exceeds" in w for w in warnings)
    assert any("stuck.ics" in w and "UID stuck" in w and "INTERVAL=0" in w for w in warnings)
    if dav_account.server.kind == "xandikos":
        assert any("broken.ics" in w and "UID broken" in w for w in warnings)
    assert result.failed_sources == set() and result.reports[0].error == ""
    again = Syncer(make_config((dav_account.config("work"),), max_object_bytes=4000))
    again.state = result.state
    assert again(NOW + timedelta(minutes=5)).reports[0].method == "unchanged"


def test_a_calendar_that_suddenly_empties_is_not_believed_at_once(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    for n in range(12):
        dav_account.put(
            cal,
            f"e{n}.ics",
            event(f"e{n}", f"202605{n + 5:02d}T100000Z", f"202605{n + 5:02d}T110000Z"),
        )
    sync = Syncer(make_config((dav_account.config("work"),)))
    assert len(sync().occurrences) == 12
    for n in range(12):
        dav_account.delete(f"{cal}e{n}.ics")

    doubted = sync(NOW + timedelta(hours=1))

    assert len(doubted.occurrences) == 12
    assert doubted.failed_sources == {"account:work"}
    assert doubted.reports[0].suspicious and "suddenly reports" in doubted.reports[0].warnings[0]

    confirmed = sync(NOW + timedelta(hours=2))

    assert confirmed.occurrences == [] and confirmed.failed_sources == set()


def test_the_window_moving_past_the_horizon_fetches_only_the_new_slice(
    dav_account: DavAccount,
) -> None:
    server = dav_account.server
    cal = dav_account.new_calendar("Work")
    dav_account.put(
        cal, "near.ics", event("near", "20260505T100000Z", "20260505T110000Z", summary="Near")
    )
    dav_account.put(
        cal,
        "weekly.ics",
        event(
            "weekly",
            "20260401T100000Z",
            "20260401T110000Z",
            summary="Weekly",
            extra=["RRULE:FREQ=WEEKLY"],
        ),
    )
    dav_account.put(
        cal, "next.ics", event("next", "20260620T100000Z", "20260620T110000Z", summary="Next")
    )
    sync = Syncer(make_config((dav_account.config("work"),)))
    first = sync()
    # "Next" (20 June) lies past the horizon (1 May + 30 days + the 7-day margin): a time-range
    # query leaves it out (Radicale); a whole listing (Xandikos) fetches it, and its text
    # proves it outside the horizon, so it is not parsed. Either way two objects are read.
    report = first.reports[0]
    assert "Next" not in summaries(first) and report.fetched - report.filtered == 2
    assert report.filtered == (0 if server.kind == "radicale" else 1)
    server.reset()

    later = sync(NOW + timedelta(days=25))

    assert "Next" in summaries(later) and "Near" not in summaries(later)
    weekly = [o.start.date().isoformat() for o in later.occurrences if o.summary == "Weekly"]
    assert weekly[0] == "2026-05-27" and weekly[-1] == "2026-06-24" and len(weekly) == 5
    methods = [m for m, _ in server.requests()]
    assert methods == ["PROPFIND", "REPORT"]  # the listing, then the newly covered slice only
    assert later.reports[0].fetched == 1  # only "Next": the stored series is expanded again locally


def test_state_is_compact_json(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    attendees = [
        f"ATTENDEE;CN=Person {i};PARTSTAT=ACCEPTED:mailto:p{i}@example.com" for i in range(4)
    ]
    for n in range(20):
        dav_account.put(
            cal,
            f"e{n}.ics",
            event(
                f"e{n}", f"202605{n + 5:02d}T100000Z", f"202605{n + 5:02d}T110000Z", extra=attendees
            ),
        )
    result = Syncer(make_config((dav_account.config("work"),)))()
    assert all(doc["id"] == key for key, doc in result.state.items())
    per_event = state_size(result.state.values()) / 20
    assert per_event < 700, per_event
    # Plain JSON: it survives a round trip through the store's own format unchanged.
    assert json.loads(json.dumps(result.state)) == result.state
