"""A failing server gives one clear error for its source; the others sync, its state is kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mendcrm.config.model import AccountConfig, FeedConfig
from mendcrm.sources import sync_sources
from tests.fixtures.servers import DavAccount, DavServer
from tests.sync.helpers import NOW, Syncer, make_config, summaries
from tests.sync.ics import event

pytestmark = pytest.mark.caldav


def _world(dav_account: DavAccount, tmp_path: Path, **account: Any) -> Syncer:
    """An account with one event, plus a local feed that must keep syncing whatever happens."""
    cal = dav_account.new_calendar("Work")
    dav_account.put(
        cal, "a.ics", event("a", "20260505T100000Z", "20260505T110000Z", summary="On server")
    )
    feed = tmp_path / "feed.ics"
    feed.write_text(event("f", "20260506T100000Z", "20260506T110000Z", summary="From feed"))
    config = make_config(
        (dav_account.config("work", **account),),
        (FeedConfig(name="local", path=feed),),
    )
    sync = Syncer(config)
    assert summaries(sync()) == ["On server", "From feed"]
    feed.write_text(event("f", "20260506T100000Z", "20260506T110000Z", summary="Feed changed"))
    dav_account.put(
        cal, "b.ics", event("b", "20260507T100000Z", "20260507T110000Z", summary="Not seen")
    )
    return sync


FAULTS: list[tuple[str, dict[str, Any], str]] = [
    ("5xx", {"status": 500, "times": 10}, "answered 500"),
    ("busy", {"status": 503, "times": 10, "headers": {"Retry-After": "0"}}, "busy (503)"),
    (
        "401",
        {"status": 401, "times": 10, "headers": {"WWW-Authenticate": 'Basic realm="x"'}},
        "rejected the username or password (401)",
    ),
    ("403", {"status": 403, "times": 10, "body": "no"}, "refuses access (403)"),
    ("garbage", {"status": 207, "times": 10, "body": "<html>oops</html>"}, "other than WebDAV XML"),
    # The server sits on its answer ten times longer than the client waits: under any load the
    # timeout fires first, and only the faulted pass has a short timeout (see below).
    ("timeout", {"status": 200, "times": 10, "delay": 5.0}, "no answer"),
]


@pytest.mark.parametrize(
    ("fault", "expected"), [(f[1], f[2]) for f in FAULTS], ids=[f[0] for f in FAULTS]
)
def test_a_failing_server_is_one_clear_error_and_nothing_is_lost(
    dav_account: DavAccount, tmp_path: Path, fault: dict[str, Any], expected: str
) -> None:
    sync = _world(dav_account, tmp_path)  # the passes that must succeed keep the default timeout
    before = {k: v for k, v in sync.state.items() if k.startswith("account:")}
    dav_account.server.fault(**fault)

    healthy = sync.config
    if "delay" in fault:
        sync.config = replace(
            healthy, accounts=(replace(healthy.accounts[0], timeout_seconds=0.5),)
        )
    result = sync(NOW + timedelta(hours=1))
    sync.config = healthy

    assert result.failed_sources == {"account:work"}
    errors = [r.error for r in result.reports if r.error]
    assert len(errors) == 1 and expected in errors[0] and "\n" not in errors[0]
    assert "secret" not in errors[0]
    assert summaries(result) == ["On server", "Feed changed"]  # last good state + the feed
    for key, doc in before.items():
        if doc["kind"] == "calendar":
            assert result.state[key]["objects"] == doc["objects"]
            assert result.state[key].get("token") == doc.get("token")
    account_doc = result.state["account:work"]
    assert account_doc["failures"] == 1 and account_doc["retry_at"]

    dav_account.server.reset()
    skipped = sync(NOW + timedelta(hours=1, seconds=30), force=False)
    assert skipped.sources[0].skipped and "backing off" in skipped.sources[0].error
    recovered = sync(NOW + timedelta(hours=2), force=False)
    assert summaries(recovered) == ["On server", "Feed changed", "Not seen"]
    assert recovered.failed_sources == set() and recovered.state["account:work"]["failures"] == 0


def test_retry_after_is_honoured_and_only_idempotent_requests_are_retried(
    dav_account: DavAccount, tmp_path: Path
) -> None:
    sync = _world(dav_account, tmp_path)
    dav_account.server.fault(503, times=2, headers={"Retry-After": "1"})
    result = sync(NOW + timedelta(hours=1))
    assert result.failed_sources == set()
    assert sync.sleeps == [1.0, 1.0]
    assert "Not seen" in summaries(result)


def test_a_server_stopped_mid_sync_keeps_the_unsynced_calendar_as_it_was(
    dav_server_factory: Callable[[str], DavServer], caldav_server: DavServer, tmp_path: Path
) -> None:
    lonely = dav_server_factory(caldav_server.kind)
    account = lonely.new_account()
    first_cal, second_cal = account.new_calendar("First"), account.new_calendar("Second")
    other = caldav_server.new_account()
    other_cal = other.new_calendar("Other")
    for cal, tag in ((first_cal, "1"), (second_cal, "2")):
        account.put(
            cal,
            "a.ics",
            event(f"a{tag}", "20260505T100000Z", "20260505T110000Z", summary=f"Cal {tag}"),
        )
    other.put(
        other_cal, "o.ics", event("o", "20260505T120000Z", "20260505T130000Z", summary="Other")
    )
    config = make_config((account.config("lonely"), other.config("other")))
    sync = Syncer(config)
    sync()
    for cal, tag in ((first_cal, "1"), (second_cal, "2")):
        account.put(
            cal,
            "b.ics",
            event(f"b{tag}", "20260506T100000Z", "20260506T110000Z", summary=f"New {tag}"),
        )
    other.put(
        other_cal, "p.ics", event("p", "20260506T120000Z", "20260506T130000Z", summary="Other new")
    )
    before = dict(sync.state)

    def stop_after_first_calendar(label: str, fetched: int) -> None:
        if label.startswith("account:lonely") and lonely.running:
            lonely.stop()

    result = sync(NOW + timedelta(hours=1), progress=stop_after_first_calendar)

    assert result.failed_sources == {"account:lonely"}
    reports = {r.name: r for r in result.reports}
    assert reports["Other"].error == "" and "Other new" in summaries(result)
    done, broken = sorted((reports["First"], reports["Second"]), key=lambda r: bool(r.error))
    assert done.error == "" and "cannot connect" in broken.error
    broken_key = next(k for k, d in before.items() if d.get("calendar") == broken.calendar)
    assert result.state[broken_key] == before[broken_key]  # not advanced: resumes, never skips
    names = summaries(result)
    assert {"Cal 1", "Cal 2", "Other", "Other new"} <= set(
        names
    )  # the stopped one: last good state
    assert ("New 1" in names) != ("New 2" in names)  # only the calendar synced before the stop


def test_plain_http_is_refused_except_on_loopback() -> None:
    account = AccountConfig(name="remote", url="http://dav.example.com/", username="me")
    result = sync_sources(make_config((account,)), {}, now=NOW, password_for=lambda a: "pw")
    [report] = result.reports
    assert "refusing plain http:// to dav.example.com" in report.error
    assert "https://" in report.error and result.failed_sources == {"account:remote"}


def test_a_missing_password_is_a_per_account_error(dav_account: DavAccount) -> None:
    from mendcrm.errors import SecretError

    def no_password(account: AccountConfig) -> str:
        raise SecretError(
            f"no password for account {account.name!r}", hint="run mendcrm account add"
        )

    dav_account.new_calendar("Work")
    config = make_config(
        (
            dav_account.config("work"),
            replace(dav_account.config("twin"), url="https://localhost:1/"),
        )
    )
    result = sync_sources(config, {}, now=NOW, password_for=no_password)
    assert all("no password for account" in r.error for r in result.reports)
    assert result.failed_sources == {"account:work", "account:twin"}


def test_a_wrong_password_is_the_one_line_401_error(dav_account: DavAccount) -> None:
    # The server checks the password for real (Radicale's htpasswd, Basic auth in front of
    # Xandikos): a wrong one is refused with 401 whichever scheme MendCRM tries, and the sync
    # reports it as one line for the account, never echoing the password.
    dav_account.new_calendar("Work")
    config = make_config((dav_account.config("work"),))
    wrong = "not-the-password"
    result = sync_sources(config, {}, now=NOW, password_for=lambda a: wrong)
    [error] = [r.error for r in result.sources if r.error]
    assert error.startswith("account 'work': the server rejected the username or password (401)")
    assert "\n" not in error and wrong not in error
    assert result.failed_sources == {"account:work"}
    # The same account with the right password syncs: the refusal was the password's.
    right = sync_sources(config, {}, now=NOW, password_for=lambda a: dav_account.password)
    assert right.failed_sources == set()


@pytest.mark.parametrize(
    ("failures", "minutes"),
    # 2**(failures-1) minutes, capped: 1, 2, 4, … then the cap (60 here) however long the
    # source stays down (the 42nd failure once overflowed timedelta: 2**41 minutes).
    [(0, 1), (1, 1), (2, 2), (6, 32), (7, 60), (42, 60), (1000, 60), (10**6, 60)],
)
def test_back_off_doubles_up_to_the_cap_for_any_number_of_failures(
    failures: int, minutes: int
) -> None:
    from mendcrm.sources.backoff import backoff_until

    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    retry = backoff_until(failures, now, timedelta(minutes=60))
    assert datetime.fromisoformat(retry) == now + timedelta(minutes=minutes)
