"""A hostile server cannot hang a sync, make it eat memory, or feed it XML entities.

Each attack goes through the real sync (``sync_sources``) against a loopback server
(tests/fixtures/hostile_http.py), for a CalDAV account and for a feed: both use the one
transport (mendcrm.sources.transport), so one mechanism bounds them both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mendcrm.config.model import AccountConfig, Config, FeedConfig
from mendcrm.sources.request_bounds import response_limit
from tests.fixtures.hostile_http import HostileServer
from tests.sync.helpers import Syncer, make_config

REPO = Path(__file__).resolve().parents[2]

# (source name in the result, how its config is built from the server's URL)
SOURCES = {
    "caldav": ("account:hostile", "/dav/"),
    "feed": ("feed:hostile", "/cal.ics"),
}


def _config(kind: str, url: str, **sync: object) -> Config:
    if kind == "caldav":
        return make_config((AccountConfig(name="hostile", url=url, username="me"),), **sync)
    return make_config(feeds=(FeedConfig(name="hostile", url=url),), **sync)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    running = HostileServer().start()
    yield running
    running.stop()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_a_server_dripping_one_byte_every_two_seconds_fails_at_the_deadline(
    server: HostileServer, kind: str
) -> None:
    # One byte every 2 s never trips the 30 s idle timeout (timeout_seconds is per read); only
    # the total deadline ends it. Injected small (3 s) so the test is short; the drip itself
    # would go on for a minute, so a client without a deadline fails the assertions below.
    source, path = SOURCES[kind]
    server.kind = "drip"
    sync = Syncer(_config(kind, server.url(path), request_deadline_seconds=3))
    result = sync()
    assert result.failed_sources == {source}
    (error,) = [r.error for r in result.reports if r.error]
    # One line naming the source, the host and the setting to change.
    assert "\n" not in error
    assert error.startswith(f"{'account' if kind == 'caldav' else 'feed'} 'hostile': 127.0.0.1 ")
    assert "within 3 s" in error and "request_deadline_seconds" in error


_CHILD = textwrap.dedent(
    """
    import json, os, resource, sys
    from mendcrm.config.model import AccountConfig, FeedConfig
    from tests.sync.helpers import Syncer, make_config
    from mendcrm.sources.sync import sync_sources  # every import done before the limit

    kind, url, headroom = sys.argv[1], sys.argv[2], int(sys.argv[3])
    size = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status")
                if l.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + headroom, size + headroom))
    if kind == "caldav":
        config = make_config((AccountConfig(name="hostile", url=url, username="me"),))
    else:
        config = make_config(feeds=(FeedConfig(name="hostile", url=url),))
    result = Syncer(config)()
    errors = [r.error for r in result.reports if r.error]
    print(json.dumps({"errors": errors,
                      "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)

HEADROOM = 640 * 1024 * 1024
"""Address space the child may add to what it has after its imports: room for the 64 MiB
limit (the default max_object_bytes × 100 is 100 MB, so 100 MB more), a worker thread's stack
and the HTTP library's buffers, but not for the 1 GiB the attacks below would bring in whole."""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("attack", ["endless", "gzip_bomb"])
@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_an_answer_past_the_size_limit_stops_in_bounded_memory(
    server: HostileServer, kind: str, attack: str
) -> None:
    # endless: chunked, no Content-Length, 1 GiB; gzip_bomb: a few KB with Content-Length that
    # inflate to 1 GiB. Either is refused once the decoded bytes pass the limit, in a child whose
    # address space could not hold the whole answer.
    _, path = SOURCES[kind]
    server.kind = attack
    server.content_type = "application/xml" if kind == "caldav" else "text/calendar"
    env = dict(os.environ, PYTHONPATH=str(REPO), MALLOC_ARENA_MAX="2")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, server.url(path), str(HEADROOM)],
        capture_output=True,
        text=True,
        env=env,
        timeout=150,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.splitlines()[-1])
    limit = response_limit(1_000_000)  # the default max_object_bytes
    (error,) = out["errors"]
    assert "\n" not in error
    assert f"127.0.0.1 sent an answer of more than {limit} bytes" in error
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("attack", ["billion_laughs", "billion_laughs_utf16", "external_entity"])
@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_xml_declaring_entities_is_refused_unread(
    server: HostileServer, kind: str, attack: str
) -> None:
    # RFC 4918 §20.6: entities can expand without bound or read files and URLs; no WebDAV answer
    # needs a DTD, so one that declares any is refused before an XML parser sees it.
    source, path = SOURCES[kind]
    server.kind = attack
    result = Syncer(_config(kind, server.url(path)))()
    assert result.failed_sources == {source}
    (error,) = [r.error for r in result.reports if r.error]
    assert "\n" not in error
    assert "127.0.0.1 answered with XML that declares a DTD (entities); refused unread" in error
    assert "/leak" not in server.paths  # the external entity was never fetched
