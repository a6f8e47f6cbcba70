"""Fetching programmes in the sync pass: conditional GET, the last good copy, refresh spacing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mendcrm.config.model import ProgrammeConfig
from mendcrm.programmes.fetch import stored_programme
from mendcrm.sources.selection import select_sources
from tests.fixtures.servers import FeedServer
from tests.sync.helpers import NOW, Syncer, make_config

PRETALX = Path(__file__).resolve().parents[1] / "fixtures" / "programmes" / "pretalx"
V1 = (PRETALX / "v1" / "schedule.json").read_bytes()
V2 = (PRETALX / "v2" / "schedule.json").read_bytes()
SOURCE = "programme:finops"


def _titles_and_starts(syncer: Syncer) -> dict[str, str]:
    programme = stored_programme(syncer.state[SOURCE])
    assert programme is not None
    return {s.title: s.start.isoformat() for s in programme.sessions}


def test_unchanged_programme_is_one_304_and_no_parsing(feed_server: FeedServer) -> None:
    url = feed_server.publish("finops.json", V1)
    sync = Syncer(make_config(programmes=(ProgrammeConfig(name="finops", url=url),)))

    first = sync()
    [report] = [r for r in first.reports if r.source == SOURCE]
    assert (report.method, report.requests) == ("read", 1)
    assert first.failed_sources == set()

    again = sync(NOW + timedelta(minutes=15))
    [report] = [r for r in again.reports if r.source == SOURCE]
    # The stored ETag goes out as If-None-Match (RFC 9110 §13.1.2): the server answers 304,
    # and the stored programme stands without being read again.
    assert (report.method, report.requests) == ("unchanged", 1)
    assert feed_server.requests()[-1] == ("GET", "/finops.json", 304)

    feed_server.publish("finops.json", V2)
    sync(NOW + timedelta(minutes=30))
    assert feed_server.requests()[-1] == ("GET", "/finops.json", 200)
    # v2 moved "Cost allocation…" to 12 March, 14:00 UTC.
    assert _titles_and_starts(sync)["Cost allocation that engineers trust"] == (
        "2027-03-12T14:00:00+00:00"
    )


def test_a_failed_fetch_keeps_the_last_good_copy(feed_server: FeedServer) -> None:
    url = feed_server.publish("finops.json", V1)
    sync = Syncer(make_config(programmes=(ProgrammeConfig(name="finops", url=url),)))
    sync()
    good = _titles_and_starts(sync)

    feed_server.status_override["/finops.json"] = 500
    failed = sync(NOW + timedelta(hours=1))
    assert failed.failed_sources == {SOURCE}
    [error] = [r.error for r in failed.reports if r.source == SOURCE]
    assert error.startswith("programme 'finops': GET ") and "answered 500" in error
    assert _titles_and_starts(sync) == good

    del feed_server.status_override["/finops.json"]
    feed_server.publish("finops.json", b"<html><body>Sign in</body></html>")
    page = sync(NOW + timedelta(hours=2))
    assert "answered with a web page" in next(r.error for r in page.reports if r.source == SOURCE)
    assert _titles_and_starts(sync) == good


def test_the_daemon_waits_refresh_hours_a_manual_sync_asks(feed_server: FeedServer) -> None:
    url = feed_server.publish("finops.json", V1)
    config = make_config(programmes=(ProgrammeConfig(name="finops", url=url, refresh_hours=12),))
    sync = Syncer(config)
    sync(force=False)
    asked = len(feed_server.requests())

    daemon = sync(NOW + timedelta(hours=11), force=False)  # within 12 h: no request
    assert next(r.method for r in daemon.reports if r.source == SOURCE) == "waiting"
    assert len(feed_server.requests()) == asked

    sync(NOW + timedelta(hours=11, minutes=1), force=True)  # `mendcrm sync` always asks
    assert len(feed_server.requests()) == asked + 1
    sync(NOW + timedelta(hours=23, minutes=2), force=False)  # 12 h after the manual one
    assert len(feed_server.requests()) == asked + 2


def test_a_local_file_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "finops.json"
    path.write_bytes(V1)
    sync = Syncer(make_config(programmes=(ProgrammeConfig(name="finops", path=path),)))
    sync()
    assert next(r.method for r in sync(NOW + timedelta(minutes=5)).reports) == "unchanged"
    path.write_bytes(V2)
    assert next(r.method for r in sync(NOW + timedelta(minutes=10)).reports) == "read"


def test_sync_source_accepts_a_programmes_name() -> None:
    config = make_config(programmes=(ProgrammeConfig(name="finops", path=Path("x.json")),))
    assert select_sources(config, ["finops"]) == {SOURCE}
    assert select_sources(config, [SOURCE]) == {SOURCE}


def test_a_programme_without_speaker_data_says_so(tmp_path: Path) -> None:
    documented = PRETALX.parent / "documented" / "no-speakers.ics"
    config = make_config(programmes=(ProgrammeConfig(name="opening", path=documented),))
    result = Syncer(config)()
    assert result.warnings == [
        "programme 'opening': the programme lists no speakers, so no one can be found in it"
    ]


def test_after_a_failure_the_daemon_backs_off(feed_server: FeedServer) -> None:
    url = feed_server.publish("finops.json", V1)
    sync = Syncer(make_config(programmes=(ProgrammeConfig(name="finops", url=url),)))
    feed_server.status_override["/finops.json"] = 503
    sync(force=False)
    asked = len(feed_server.requests())
    # First failure: retry after 2**0 = 1 minute ([daemon] max_backoff_minutes caps it).
    waiting = sync(NOW + timedelta(seconds=30), force=False)
    assert len(feed_server.requests()) == asked
    assert next(s for s in waiting.sources if s.source == SOURCE).skipped
    del feed_server.status_override["/finops.json"]
    sync(NOW + timedelta(minutes=2), force=False)
    assert feed_server.requests()[-1] == ("GET", "/finops.json", 200)
