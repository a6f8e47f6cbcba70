"""Finding an account's calendars: from the root, the principal, well-known, or one calendar."""

from __future__ import annotations

import pytest

from mendcrm.config.model import AccountConfig
from mendcrm.errors import SourceError
from mendcrm.sources import test_account
from tests.fixtures.servers import DavAccount, DavServer, FeedServer
from tests.sync.helpers import Syncer, make_config, summaries
from tests.sync.ics import event

pytestmark = pytest.mark.caldav


def _names(result_reports: list) -> list[str]:
    return sorted(r.name for r in result_reports)


@pytest.mark.parametrize("where", ["root", "well-known", "principal", "calendar"])
def test_calendars_are_found_from_any_starting_url(dav_account: DavAccount, where: str) -> None:
    cal = dav_account.new_calendar("Work")
    dav_account.put(cal, "a.ics", event("a", "20260505T100000Z", "20260505T110000Z", summary="A"))
    server = dav_account.server
    principal = server.url + ("user/" if server.kind == "xandikos" else f"{dav_account.username}/")
    url = {
        "root": server.url,
        "well-known": server.url + ".well-known/caldav",
        "principal": principal,
        "calendar": cal,
    }[where]
    result = Syncer(make_config((dav_account.config("work", url=url),)))()
    assert summaries(result) == ["A"] and result.failed_sources == set()


def test_every_event_calendar_but_excluded_and_mendcrms_own(radicale_server: DavServer) -> None:
    account = radicale_server.new_account()
    for name in ("Work", "Private", "Holidays", "MendCRM"):
        cal = account.new_calendar(name)
        account.put(
            cal, "a.ics", event(f"a-{name}", "20260505T100000Z", "20260505T110000Z", summary=name)
        )
    account.new_calendar("Tasks", components="VTODO")
    config = make_config((account.config("work", all_calendars=True, exclude=("Private",)),))
    result = Syncer(config)()
    assert _names(result.reports) == ["Holidays", "Work"]
    named = make_config((account.config("work", all_calendars=True, calendars=("private",)),))
    assert _names(Syncer(named)().reports) == ["Private"]


def test_a_calendar_deleted_on_the_server_is_forgotten(radicale_server: DavServer) -> None:
    account = radicale_server.new_account()
    keep, drop = account.new_calendar("Keep"), account.new_calendar("Drop")
    for cal in (keep, drop):
        account.put(cal, "a.ics", event(f"a{cal[-4:]}", "20260505T100000Z", "20260505T110000Z"))
    sync = Syncer(make_config((account.config("work", all_calendars=True),)))
    assert len(sync().occurrences) == 2
    account.delete_calendar(drop)
    result = sync()
    assert len(result.occurrences) == 1 and len(result.stale_keys) == 1
    assert not any(d.get("calendar") == drop for d in result.state.values())


def test_account_test_lists_calendars_and_sync_support(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    report = test_account(dav_account.config("work"), dav_account.password)
    found = {c.url: c for c in report.calendars}
    assert found[cal].name == "Work" and found[cal].selected and found[cal].sync_token
    assert report.sync_token and report.requests >= 3


def test_account_test_explains_a_url_that_is_no_caldav_server(feed_server: FeedServer) -> None:
    feed_server.publish("index.html", "<html>hello</html>")
    account = AccountConfig(name="x", url=feed_server.url + "index.html", username="u")
    with pytest.raises(SourceError) as raised:
        test_account(account, "pw")
    assert "account 'x'" in str(raised.value) and "\n" not in str(raised.value)


def test_progress_reports_objects_fetched(dav_account: DavAccount) -> None:
    cal = dav_account.new_calendar("Work")
    for n in range(3):
        dav_account.put(cal, f"e{n}.ics", event(f"e{n}", f"2026050{n + 3}T100000Z", None))
    seen: list[tuple[str, int]] = []
    Syncer(make_config((dav_account.config("work"),)))(
        progress=lambda label, n: seen.append((label, n))
    )
    assert seen == [("account:work Work", 1), ("account:work Work", 2), ("account:work Work", 3)]
