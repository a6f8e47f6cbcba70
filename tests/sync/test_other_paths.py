"""Sync paths the two test servers do not take by themselves, the transport's rules, and the
pass-level options (``only``, stored occurrences, the state format)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mendcrm.errors import SourceError
from mendcrm.sources import stored_occurrences
from mendcrm.sources.caldav_account import CalendarSync, calendar_key
from mendcrm.sources.calendar import CalendarWork
from mendcrm.sources.discovery import DavCalendar
from mendcrm.sources.sync import make_env
from mendcrm.sources.transport import Transport, check_url
from tests.fixtures.servers import DavAccount, FeedServer
from tests.sync.helpers import NOW, Syncer, make_config, summaries
from tests.sync.ics import event


@pytest.mark.caldav
@pytest.mark.parametrize(
    ("token", "ctag"), [(None, "ctag-1"), (None, None)], ids=["ctag", "time-range"]
)
def test_servers_without_sync_token_compare_etags_and_multiget(
    dav_account: DavAccount, token: str | None, ctag: str | None
) -> None:
    cal = dav_account.new_calendar("Work")
    for n in range(3):
        dav_account.put(
            cal, f"e{n}.ics", event(f"e{n}", f"2026050{n + 3}T100000Z", None, summary=f"E{n}")
        )
    config = make_config((dav_account.config("work"),))
    transport = Transport(
        dav_account.server.url,
        where="account 'work'",
        username=dav_account.username,
        password=dav_account.password,
        auth_type="basic",
    )
    key = calendar_key("account:work", cal)

    def run(
        calendar: DavCalendar, old: dict | None, now_shift: timedelta = timedelta(0)
    ) -> tuple[dict, CalendarWork]:
        work = CalendarWork(
            key, "account:work", cal, "Work", make_env(config, NOW + now_shift), old
        )
        return CalendarSync(transport, calendar, work).run(), work

    listing = DavCalendar(cal, "Work", ("VEVENT",), token, ctag, sync_report=False)
    first, work = run(listing, None)
    assert first["method"] == ("ctag" if ctag else "time-range") and work.report.fetched == 3
    dav_account.put(cal, "e1.ics", event("e1", "20260504T100000Z", None, summary="E1 changed"))
    dav_account.delete(cal + "e2.ics")
    dav_account.server.reset()

    if ctag:
        _, work = run(listing, first)
        assert work.report.method == "unchanged" and dav_account.server.requests() == []
    changed_listing = DavCalendar(
        cal, "Work", ("VEVENT",), token, "ctag-2" if ctag else None, False
    )
    second, work = run(changed_listing, first, timedelta(minutes=5))

    assert (work.report.fetched, work.report.deleted) == (1, 1)
    assert [m for m, _ in dav_account.server.requests()] == [
        "REPORT",
        "REPORT",
    ]  # listing + multiget
    by_uid = {e["p"][0]["uid"]: e for e in second["objects"].values()}
    assert set(by_uid) == {"e0", "e1"} and by_uid["e1"]["p"][0]["summary"] == "E1 changed"
    transport.close()


def test_check_url_rules() -> None:
    check_url("https://dav.example.com/", "x")
    check_url("http://127.0.0.1:5232/", "x")
    check_url("http://[::1]/", "x")
    check_url("http://localhost/", "x")
    check_url("http://foo.localhost/", "x")
    for bad in ("ftp://dav.example.com/", "dav.example.com"):
        with pytest.raises(SourceError, match="is not an http"):
            check_url(bad, "x")


@pytest.mark.parametrize(
    "url",
    ["http://127.evil.example/", "http://127.1/", "http://10.0.0.1/", "http://dav.example.com/"],
)
def test_transport_refuses_plain_http_to_another_host(url: str) -> None:
    with pytest.raises(SourceError, match=r"^feed 'f': refusing plain http:// to "):
        Transport(url, where="feed 'f'")


def test_an_answer_over_the_size_limit_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.publish("big.ics", "X" * 5000)
    transport = Transport(url, where="feed 'big'", max_response_bytes=1000)
    with pytest.raises(SourceError, match="over the 1000-byte limit"):
        transport.request(url, "GET")
    transport.close()


def test_only_syncs_the_named_sources_and_keeps_the_others(
    tmp_path, feed_server: FeedServer
) -> None:
    from mendcrm.config.model import FeedConfig

    one, two = tmp_path / "one.ics", tmp_path / "two.ics"
    one.write_text(event("a", "20260505T100000Z", None, summary="One"))
    two.write_text(event("b", "20260506T100000Z", None, summary="Two"))
    config = make_config(feeds=(FeedConfig(name="one", path=one), FeedConfig(name="two", path=two)))
    sync = Syncer(config)
    sync()
    one.write_text(event("a", "20260505T100000Z", None, summary="One changed"))
    two.write_text(event("b", "20260506T100000Z", None, summary="Two changed"))
    from mendcrm.sources import sync_sources

    result = sync_sources(config, sync.state, now=NOW, password_for=lambda a: "", only={"feed:two"})
    assert summaries(result) == ["One", "Two changed"]
    assert [r.source for r in result.reports] == ["feed:two"]
    assert [o.summary for o in stored_occurrences(config, result.state, now=NOW)] == [
        "One",
        "Two changed",
    ]


def test_state_from_another_format_is_read_afresh(tmp_path) -> None:
    from mendcrm.config.model import FeedConfig

    path = tmp_path / "one.ics"
    path.write_text(event("a", "20260505T100000Z", None, summary="One"))
    sync = Syncer(make_config(feeds=(FeedConfig(name="one", path=path),)))
    sync()
    sync.state["feed:one"]["format"] = 0
    result = sync(NOW + timedelta(minutes=1))
    assert summaries(result) == ["One"] and result.reports[0].fetched == 1


def test_a_new_zone_or_a_clock_gone_back_reads_the_calendar_afresh(tmp_path) -> None:
    from dataclasses import replace as change

    from mendcrm.config.model import FeedConfig, MeConfig

    path = tmp_path / "one.ics"
    path.write_text(event("a", "DTSTART;VALUE=DATE:20260505", None, summary="Day"))
    sync = Syncer(make_config(feeds=(FeedConfig(name="one", path=path),)))
    assert sync().occurrences[0].start.hour == 22  # Berlin midnight
    sync.config = change(sync.config, me=MeConfig(timezone="UTC"))
    moved = sync(NOW + timedelta(minutes=1))
    assert moved.occurrences[0].start.hour == 0 and moved.reports[0].fetched == 1
    back = sync(NOW - timedelta(days=3))
    assert back.reports[0].fetched == 1
