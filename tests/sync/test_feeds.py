"""Read-only feeds: an .ics URL (conditional GET), a local file, a vdir folder."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from mendcrm.config.model import FeedConfig
from mendcrm.sources.feeds import feed_location, split_feed
from tests.fixtures.servers import FeedServer
from tests.sync.helpers import NOW, Syncer, make_config, summaries
from tests.sync.ics import calendar, vevent

TWO = calendar(
    vevent("a", "20260505T100000Z", "20260505T110000Z", summary="A"),
    vevent(
        "b", "20260506T100000Z", "20260506T110000Z", summary="B", extra=["RRULE:FREQ=DAILY;COUNT=2"]
    ),
    vevent("old", "20190506T100000Z", "20190506T110000Z", summary="Old"),
    head=["X-WR-CALNAME:Team"],
)


def test_url_feed_honours_etag_and_reparses_only_what_changed(feed_server: FeedServer) -> None:
    url = feed_server.publish("team.ics", TWO)
    sync = Syncer(make_config(feeds=(FeedConfig(name="team", url=url),)))

    first = sync()
    assert summaries(first) == ["A", "B", "B"]
    assert first.reports[0].fetched == 2  # the 2019 event was never parsed

    again = sync(NOW + timedelta(minutes=15))
    assert summaries(again) == ["A", "B", "B"]
    assert feed_server.requests()[-1][2] == 304 and again.reports[0].requests == 1
    assert again.reports[0].method == "unchanged"

    feed_server.publish("team.ics", TWO.replace("SUMMARY:A", "SUMMARY:A2"))
    changed = sync(NOW + timedelta(minutes=30))
    assert summaries(changed) == ["A2", "B", "B"]
    assert changed.reports[0].fetched == 1 and feed_server.requests()[-1][2] == 200


def test_url_feed_errors_are_per_feed(feed_server: FeedServer, tmp_path: Path) -> None:
    good = tmp_path / "good.ics"
    good.write_text(TWO)
    url = feed_server.publish("gone.ics", TWO)
    feed_server.status_override["/gone.ics"] = 404
    config = make_config(
        feeds=(FeedConfig(name="gone", url=url), FeedConfig(name="good", path=good))
    )
    result = Syncer(config)()
    assert result.failed_sources == {"feed:gone"}
    assert "answered 404" in next(r.error for r in result.reports if r.source == "feed:gone")
    assert summaries(result) == ["A", "B", "B"]


def test_local_file_feed_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "team.ics"
    path.write_text(TWO)
    sync = Syncer(make_config(feeds=(FeedConfig(name="file", path=path),)))
    assert summaries(sync()) == ["A", "B", "B"]
    assert sync(NOW + timedelta(minutes=5)).reports[0].method == "unchanged"
    path.write_text(TWO.replace("SUMMARY:A", "SUMMARY:Changed"))
    os.utime(path, ns=(1, 2))
    assert summaries(sync(NOW + timedelta(minutes=10))) == ["Changed", "B", "B"]


def test_vdir_folder_one_event_per_file(tmp_path: Path) -> None:
    folder = tmp_path / "vdir"
    folder.mkdir()
    (folder / "a.ics").write_text(
        calendar(vevent("a", "20260505T100000Z", "20260505T110000Z", summary="A"))
    )
    (folder / "b.ics").write_text(
        calendar(vevent("b", "20260506T100000Z", "20260506T110000Z", summary="B"))
    )
    (folder / "broken.ics").write_text("BEGIN:VCALENDAR\nthis is not\n")
    (folder / "notes.txt").write_text("ignored")
    sync = Syncer(make_config(feeds=(FeedConfig(name="vdir", path=folder),)))

    first = sync()
    assert summaries(first) == ["A", "B"]
    assert any("broken.ics" in w for w in first.reports[0].warnings)

    (folder / "b.ics").unlink()
    (folder / "c.ics").write_text(
        calendar(vevent("c", "20260507T100000Z", "20260507T110000Z", summary="C"))
    )
    again = sync(NOW + timedelta(minutes=5))
    assert summaries(again) == ["A", "C"]
    assert (again.reports[0].fetched, again.reports[0].deleted) == (1, 1)


def test_split_feed_groups_by_uid_and_keeps_zones_and_calendar_properties() -> None:
    zone = (
        "BEGIN:VTIMEZONE\nTZID:Custom\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "TZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n"
    )
    text = calendar(
        zone,
        vevent("s", "20260505T100000Z", None, extra=["RRULE:FREQ=DAILY"]),
        vevent("s", "20260506T120000Z", None, extra=["RECURRENCE-ID:20260506T100000Z"]),
        vevent("p", "DTSTART;TZID=Custom:20260505T100000", "DTEND;TZID=Custom:20260505T110000"),
        head=["X-WR-TIMEZONE:Europe/Berlin"],
    )
    events = {e.key: e for e in split_feed(text.encode()) or []}
    assert set(events) == {"s", "p"}
    assert events["s"].recurring and not events["p"].recurring
    assert events["p"].last_day == "20260505"
    assert b"X-WR-TIMEZONE:Europe/Berlin" in events["p"].data and b"TZID:Custom" in events["p"].data
    # "s" names no TZID, so the zone is not copied into it (it would only cost memory).
    assert b"X-WR-TIMEZONE:Europe/Berlin" in events["s"].data
    assert b"TZID:Custom" not in events["s"].data
    assert split_feed(b"not a calendar") is None


def test_webcal_urls_are_read_over_https() -> None:
    assert (
        feed_location(FeedConfig(name="g", url="webcal://example.com/x.ics"))
        == "https://example.com/x.ics"
    )


def _zoned_feed(offset: str) -> str:
    zone = (
        "BEGIN:VTIMEZONE\nTZID:Office\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        f"TZOFFSETFROM:{offset}\nTZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE\n"
    )
    return calendar(
        zone,
        vevent("z", "DTSTART;TZID=Office:20260505T100000", "DTEND;TZID=Office:20260505T110000"),
    )


def test_a_changed_vtimezone_changes_the_events_digest() -> None:
    before = {e.key: e.digest for e in split_feed(_zoned_feed("+0100").encode()) or []}
    after = {e.key: e.digest for e in split_feed(_zoned_feed("+0200").encode()) or []}
    assert set(before) == set(after) == {"z"} and before["z"] != after["z"]


def test_a_changed_vtimezone_moves_the_events_of_a_file_feed(tmp_path: Path) -> None:
    path = tmp_path / "office.ics"
    path.write_text(_zoned_feed("+0100"))
    sync = Syncer(make_config(feeds=(FeedConfig(name="office", path=path),)))
    assert [o.start.hour for o in sync().occurrences] == [9]  # 10:00 at +01:00, in UTC
    path.write_text(_zoned_feed("+0200"))
    os.utime(path, ns=(1, 2))
    changed = sync(NOW + timedelta(minutes=5))
    assert changed.reports[0].fetched == 1
    assert [o.start.hour for o in changed.occurrences] == [8]
