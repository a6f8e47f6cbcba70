"""The bench's CalDAV servers: load a generated calendar into Radicale or Xandikos storage, start
the server (:mod:`bench.serve`) on loopback, and read what each client cost it.

Loading writes the server's storage directly (Radicale's folder layout; one git commit for
Xandikos), so 20,000 events load in seconds instead of 20,000 PUTs. A :class:`BenchServer` is
then warmed with one full sync-collection REPORT, so every contender meets a server whose caches
are built, as a server that has been running for a while would be.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import GeneratedObject, write_radicale_collection
from tests.fixtures.child_server import Response, stop_child
from tests.fixtures.child_server import http_request as loopback_request

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
USER, PASSWORD = "bench", "bench-password"
DISPLAY_NAME = "Work"


Answer = Response
"""A server's answer (status, headers, body)."""


def http_request(
    url: str,
    method: str = "GET",
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 600.0,
) -> Response:
    """Given a loopback URL, send one request and return the answer (a long default timeout:
    a full REPORT of a large calendar takes a while)."""
    return loopback_request(url, method, body, headers, timeout)


def basic_auth(username: str = USER, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass(frozen=True)
class Usage:
    """What a client cost the server between a reset and a stats call."""

    requests: int
    bytes_up: int
    bytes_down: int
    cpu_seconds: float
    methods: dict[str, int]


class BenchServer:
    """A counting Radicale or Xandikos child process on 127.0.0.1 over ``storage``."""

    def __init__(self, kind: str, storage: Path, calendar_path: str) -> None:
        if kind not in ("radicale", "xandikos"):
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.storage = storage
        self.calendar_path = calendar_path
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._cpu_mark = 0.0
        self.warm_seconds = 0.0
        self._log = storage.parent / f"{storage.name}-{kind}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def calendar_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.calendar_path}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> BenchServer:
        """Start the child and wait until it answers; raise RuntimeError if it does not."""
        deadline = time.monotonic() + START_TIMEOUT
        git_config = self.storage.parent / "empty-gitconfig"
        git_config.touch()
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            # Dulwich (Xandikos) would read the user's git config; give it an empty one.
            "GIT_CONFIG_GLOBAL": str(git_config),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        env.pop("RADICALE_CONFIG", None)
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bench.serve", self.kind, str(self.storage)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=REPO_ROOT,
                env=env,
            )
        assert self._process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._process.stdout], [], [], 0.05)
            if ready:
                line = self._process.stdout.readline()
                if line:
                    self.port = int(json.loads(line)["port"])
                    break
            if self._process.poll() is not None:
                break
        if not self.port:
            self.stop()
            raise RuntimeError(f"{self.kind} did not start; see {self._log}")
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if http_request(self.url + "__bench__/stats", timeout=2).status == 200:
                    self.reset()
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} never answered on {self.url}; see {self._log}")

    def stop(self) -> None:
        """Stop the child (it exits when its stdin closes) and wait for it."""
        process, self._process = self._process, None
        if process is not None:
            stop_child(process, timeout=10)

    def reset(self) -> None:
        """Zero the request counters and mark the server's CPU time."""
        http_request(self.url + "__bench__/reset", "POST")
        self._cpu_mark = self._stats()["cpu_seconds"]

    def _stats(self) -> dict[str, Any]:
        answer = http_request(self.url + "__bench__/stats")
        stats: dict[str, Any] = json.loads(answer.body)
        return stats

    def usage(self) -> Usage:
        """Return what was served since the last :meth:`reset`."""
        stats = self._stats()
        return Usage(
            requests=int(stats["requests"]),
            bytes_up=int(stats["bytes_up"]),
            bytes_down=int(stats["bytes_down"]),
            cpu_seconds=float(stats["cpu_seconds"]) - self._cpu_mark,
            methods=dict(stats["methods"]),
        )

    def warm(self) -> float:
        """Read the whole calendar once (the server builds its caches); return the seconds."""
        began = time.perf_counter()
        answer = http_request(self.calendar_url, "REPORT", SYNC_COLLECTION_FULL, report_headers())
        if answer.status != 207:
            raise RuntimeError(f"{self.kind}: warm-up REPORT answered {answer.status}")
        seconds = time.perf_counter() - began
        self.reset()
        return seconds


SYNC_COLLECTION_FULL = (
    '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token/><D:sync-level>1</D:sync-level>'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>"
)


def report_headers() -> dict[str, str]:
    return {"Depth": "1", "Content-Type": "application/xml; charset=utf-8", **basic_auth()}


def load_radicale(storage: Path, objects: Iterable[GeneratedObject]) -> str:
    """Write the objects into a Radicale storage folder; return the calendar's path."""
    return write_radicale_collection(storage, USER, "work", objects, display=DISPLAY_NAME)


def load_xandikos(storage: Path, objects: Iterable[GeneratedObject]) -> str:
    """Write the objects into the default calendar of Xandikos' single user, as one git commit
    (Xandikos keeps each calendar as a git repository); return the calendar's path."""
    from dulwich.index import index_entry_from_stat
    from dulwich.objects import Blob
    from dulwich.repo import Repo
    from xandikos import web as xweb

    storage.mkdir(parents=True, exist_ok=True)
    backend = xweb.SingleUserFilesystemBackend(str(storage))
    backend._mark_as_principal("/user/")
    if not backend.get_resource("/user/"):
        backend.create_principal("/user/", create_defaults=True)
    calendar = backend.get_resource("/user/calendars/calendar")
    calendar.store.set_displayname(DISPLAY_NAME)  # one small commit of Xandikos' own
    folder = storage / "user" / "calendars" / "calendar"
    repo = Repo(str(folder))
    try:
        blobs = []
        index = repo.open_index()
        for obj in objects:
            data = obj.ics.encode()
            path = folder / obj.name
            path.write_bytes(data)
            blob = Blob.from_string(data)
            blobs.append((blob, None))
            index[obj.name.encode()] = index_entry_from_stat(os.lstat(path), blob.id)
        repo.object_store.add_objects(blobs)
        index.write()
        tree = index.commit(repo.object_store)
        repo.get_worktree().commit(message=b"bench: import generated calendar", tree=tree)
    finally:
        repo.close()
    return "/user/calendars/calendar/"


@contextlib.contextmanager
def running(kind: str, folder: Path, objects: list[GeneratedObject]) -> Iterator[BenchServer]:
    """Load ``objects`` into a fresh ``kind`` server under ``folder``, start and warm it."""
    storage = folder / f"{kind}-storage"
    loader = load_radicale if kind == "radicale" else load_xandikos
    server = BenchServer(kind, storage, loader(storage, objects))
    try:
        server.start()
        server.warm_seconds = server.warm()
        yield server
    finally:
        server.stop()


__all__ = [
    "PASSWORD",
    "SYNC_COLLECTION_FULL",
    "USER",
    "Answer",
    "BenchServer",
    "Usage",
    "basic_auth",
    "http_request",
    "load_radicale",
    "load_xandikos",
    "report_headers",
    "running",
]
