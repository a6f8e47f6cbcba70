"""Feeds that answer with a web page: Outlook's User-Agent check, login and error pages.

The server is a loopback imitation of outlook.office365.com (tests/fixtures/outlook_feed.py):
a refused User-Agent gets 302 → an HTML error page. Whatever the page, the feed fails with one
line that says what happened and what to do, and its events stay as last fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from mendcrm.config import load_config
from mendcrm.config.model import FeedConfig
from mendcrm.errors import ConfigError
from mendcrm.sources.feeds import FEED_USER_AGENT, is_web_page
from tests.fixtures.outlook_feed import ERROR_PAGE, OutlookFeedServer, accepted
from tests.fixtures.servers import FeedServer
from tests.sync.helpers import NOW, Syncer, make_config, summaries
from tests.sync.ics import calendar, vevent

ICS = calendar(
    vevent("a", "20260505T100000Z", "20260505T110000Z", summary="Board meeting"),
    vevent("b", "20260507T100000Z", "20260507T110000Z", summary="Budget review"),
)
PATH = "owa/calendar/abc@example.org/def/calendar.ics"

# User-Agents from the reports that outlook.office365.com refused (nextcloud/server #54799,
# GAS-ICS-Sync #500, bitfireAT/icsx5 #655, tasknotes #464), and MendCRM's CalDAV one.
REFUSED = [
    "Nextcloud Webcal Service",
    "Mozilla/5.0",
    "ICSx5/2.3 (ical4j/3.2 okhttp/4.12 Android/14)",
    "TaskNotes-Plugin/1.0",
    "MendCRM (caldav)",
]


@pytest.fixture
def outlook() -> Iterator[OutlookFeedServer]:
    server = OutlookFeedServer().start()
    yield server
    server.stop()


def _feed(url: str, user_agent: str = "") -> FeedConfig:
    return FeedConfig(name="work365", url=url, user_agent=user_agent)


def test_the_imitation_refuses_what_the_reports_saw_refused() -> None:
    # The default must be one the imitation accepts, and the refused ones must be refused,
    # else the tests below prove nothing.
    assert accepted(FEED_USER_AGENT)
    assert accepted("Mozilla/5.0 (X11) Chrome/139.0.0.0")  # the minimal one in #54799
    assert not any(accepted(agent) for agent in REFUSED)


def test_the_default_user_agent_is_served_the_calendar(outlook: OutlookFeedServer) -> None:
    url = outlook.publish(PATH, ICS)
    result = Syncer(make_config(feeds=(_feed(url),)))()
    assert result.failed_sources == set()
    assert summaries(result) == ["Board meeting", "Budget review"]
    assert outlook.user_agents == [FEED_USER_AGENT]
    assert [status for _, _, status in outlook.requests()] == [200]


@pytest.mark.parametrize("agent", REFUSED)
def test_a_refused_user_agent_fails_with_one_line_saying_what_to_do(
    outlook: OutlookFeedServer, agent: str
) -> None:
    url = outlook.publish(PATH, ICS)
    result = Syncer(make_config(feeds=(_feed(url, agent),)))()
    assert result.failed_sources == {"feed:work365"}
    assert outlook.user_agents[0] == agent  # the key is what is sent
    # 302 to the error page on the same host, followed; the page itself answers 500.
    statuses = [(path.split("?")[0], status) for _, path, status in outlook.requests()]
    assert statuses == [("/" + PATH, 302), (ERROR_PAGE, 500)]
    (error,) = [r.error for r in result.reports if r.source == "feed:work365"]
    assert "\n" not in error
    assert (
        "answered with a web page (HTTP 500, after a redirect to /owa/auth/errorfe.aspx)" in error
    )
    assert "published .ics link" in error and "user_agent" in error
    assert summaries(result) == []


def test_the_events_of_the_last_good_fetch_are_kept(outlook: OutlookFeedServer) -> None:
    url = outlook.publish(PATH, ICS)
    sync = Syncer(make_config(feeds=(_feed(url),)))
    assert summaries(sync()) == ["Board meeting", "Budget review"]

    # The tenant starts refusing this client (here: the feed is switched to a refused agent).
    sync.config = replace(sync.config, feeds=(_feed(url, "Nextcloud Webcal Service"),))
    later = sync(NOW + timedelta(minutes=15))
    assert later.failed_sources == {"feed:work365"}
    assert summaries(later) == ["Board meeting", "Budget review"]
    # …and a later good fetch goes on from there (a changed event is read again).
    outlook.publish(PATH, ICS.replace("Budget review", "Budget review (moved)"))
    sync.config = replace(sync.config, feeds=(_feed(url),))
    again = sync(NOW + timedelta(minutes=30))
    assert again.failed_sources == set()
    assert summaries(again) == ["Board meeting", "Budget review (moved)"]


def test_an_error_page_answering_200_is_not_a_calendar(tmp_path: Path) -> None:
    # A login page served with 200 OK (some tenants' sign-in redirect) must not empty the feed.
    server = OutlookFeedServer(error_page_status=200).start()
    try:
        url = server.publish(PATH, ICS)
        sync = Syncer(make_config(feeds=(_feed(url),)))
        assert summaries(sync()) == ["Board meeting", "Budget review"]
        sync.config = replace(sync.config, feeds=(_feed(url, "Mozilla/5.0"),))
        result = sync(NOW + timedelta(minutes=15))
    finally:
        server.stop()
    (error,) = [r.error for r in result.reports if r.source == "feed:work365"]
    assert "web page (HTTP 200, after a redirect to /owa/auth/errorfe.aspx)" in error
    assert summaries(result) == ["Board meeting", "Budget review"]


def test_an_html_body_under_a_calendar_content_type_is_a_web_page(feed_server: FeedServer) -> None:
    # FeedServer labels everything text/calendar; the body alone gives the page away.
    url = feed_server.publish("cal.ics", "\ufeff<!DOCTYPE html>\n<html><body>Sign in</body></html>")
    result = Syncer(make_config(feeds=(_feed(url),)))()
    (error,) = [r.error for r in result.reports if r.source == "feed:work365"]
    assert "answered with a web page (HTTP 200), not a calendar" in error


@pytest.mark.parametrize(
    ("content_type", "body", "page"),
    [
        ("text/html; charset=utf-8", b"anything", True),
        ("TEXT/HTML", b"", True),
        ("application/xhtml+xml", b"<?xml version='1.0'?><html/>", True),
        ("", b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">', True),
        ("text/calendar", b"\xef\xbb\xbf  \r\n<html lang='en'><body/>", True),
        ("application/octet-stream", b"<HTML>", True),
        ("text/calendar", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", False),
        ("text/calendar", b"\xef\xbb\xbfBEGIN:VCALENDAR\r\n", False),
        # A calendar whose first event mentions HTML is still a calendar.
        ("text/plain", b"BEGIN:VCALENDAR\r\nX-ALT-DESC;FMTTYPE=text/html:<html>\r\n", False),
        ("", b"<htmlish>", False),
    ],
)
def test_is_web_page(content_type: str, body: bytes, page: bool) -> None:
    assert is_web_page(content_type, body) is page


def test_user_agent_key_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[feeds]]\nname = "w"\nurl = "https://outlook.office365.com/owa/calendar/x/calendar.ics"\n'
        'user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:142.0) Gecko/20100101 Firefox/142.0"\n'
    )
    assert load_config(path).feeds[0].user_agent.endswith("Firefox/142.0")
    path.write_text('[[feeds]]\nname = "w"\npath = "x.ics"\nuser_agent = ""\n')
    assert load_config(path).feeds[0].user_agent == ""  # the default, as in the example
    for bad, hint in (('"a\\nX-Evil: 1"', "one line of text"), ("42", "must be a string")):
        path.write_text(f'[[feeds]]\nname = "w"\npath = "x.ics"\nuser_agent = {bad}\n')
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert "feeds[0].user_agent" in str(caught.value) and hint in str(caught.value)
