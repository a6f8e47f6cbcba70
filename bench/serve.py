"""A CalDAV server for the benchmarks, in its own process, that counts what every client costs it.

Usage: ``python -m bench.serve radicale|xandikos STORAGE``. The process binds a free loopback
port, prints ``{"port": N}`` once it listens and stops when its stdin closes (so a killed bench
never leaves a server behind).

Counting happens inside the server, on what crosses its sockets, so a client running in another
process (vdirsyncer) is measured exactly like one running in Python next to it:

- ``requests`` and ``methods``: requests served;
- ``bytes_down``: response bytes written to the socket (status line, headers and body);
- ``bytes_up``: request bytes read (request line, headers and body);
- ``cpu_seconds``: the server process's own CPU time, what the clients made it work.

``GET /__bench__/stats`` returns the counters as JSON, ``POST /__bench__/reset`` zeroes them
(after a full garbage collection, so no client pays for what an earlier one left).
Neither is counted. Radicale runs its own threaded server and Xandikos its aiohttp app, as they
do in production; nothing sits between them and the client.
"""

from __future__ import annotations

import gc
import json
import resource
import select
import socket
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fixtures.child_server import announce, serve_xandikos, wait_for_stdin_eof

CONTROL = "/__bench__/"


@dataclass
class Counters:
    """What the server has served since the last reset; safe to share between threads."""

    requests: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, up: int, down: int) -> None:
        with self.lock:
            self.requests += 1
            self.bytes_up += up
            self.bytes_down += down
            self.methods[method] = self.methods.get(method, 0) + 1

    def control(self, method: str, path: str) -> tuple[int, bytes]:
        """Given a control request, act on it and return (status, JSON body)."""
        action = path[len(CONTROL) :].strip("/")
        with self.lock:
            if action == "stats" and method == "GET":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                stats = {
                    "requests": self.requests,
                    "bytes_up": self.bytes_up,
                    "bytes_down": self.bytes_down,
                    "methods": dict(self.methods),
                    "cpu_seconds": usage.ru_utime + usage.ru_stime,
                }
                return 200, json.dumps(stats).encode()
            if action == "reset" and method == "POST":
                # A full collection of what earlier clients left (before the CPU mark is taken):
                # otherwise the next client pays for the sweep its predecessor caused (≈30 ms on
                # Xandikos after a first pass at 5,000 events, whoever sent the next request).
                gc.collect()
                self.requests = self.bytes_up = self.bytes_down = 0
                self.methods.clear()
                return 200, b"{}"
        return 404, b'{"error": "unknown control request"}'


COUNTERS = Counters()


class _CountingReader:
    """A file-like wrapper that counts the bytes read through it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._inner.read(size)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self._inner.readline(size)
        self.count += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _CountingWriter:
    """A file-like wrapper that counts the bytes written through it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.count = 0

    def write(self, data: bytes) -> int:
        written: int = self._inner.write(data)
        self.count += len(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def run_radicale(storage: str) -> None:
    """Serve Radicale (no auth: any user name and password) from ``storage`` until stdin closes."""
    import radicale
    from radicale import config as radicale_config
    from radicale import server as radicale_server

    configuration = radicale_config.load()
    configuration.update(
        {
            "server": {"hosts": "127.0.0.1:1"},  # not used: the socket below binds port 0
            "auth": {"type": "none"},
            "storage": {"filesystem_folder": storage},
            "logging": {"level": "warning", "mask_passwords": "True"},
            "web": {"type": "none"},
            # Radicale 3.9 refuses (400) any REPORT answer holding more than 10,000 VEVENTs;
            # the floor's full sync of the 20,000-event calendar needs more.
            "reporting": {"max_expand_occurrence": "1000000"},
        },
        "bench",
    )
    configuration.update({"server": {"_internal_server": "True"}}, "server", privileged=True)
    application = radicale.Application(configuration)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            status, payload = COUNTERS.control(environ["REQUEST_METHOD"], path)
            start_response(f"{status} X", [("Content-Type", "application/json")])
            return [payload]
        return application(environ, start_response)

    class CountingHandler(radicale_server.RequestHandler):
        # Radicale's handler serves one request per connection, so per-connection totals are
        # per-request totals.
        def setup(self) -> None:
            super().setup()
            self.rfile = _CountingReader(self.rfile)  # type: ignore[assignment]
            self.wfile = _CountingWriter(self.wfile)  # type: ignore[assignment]

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                path = getattr(self, "path", "")
                if not path.startswith(CONTROL):
                    reader, writer = self.rfile, self.wfile
                    assert isinstance(reader, _CountingReader)
                    assert isinstance(writer, _CountingWriter)
                    COUNTERS.record(getattr(self, "command", "") or "?", reader.count, writer.count)

    server = radicale_server.ParallelHTTPServer(
        configuration, socket.AF_INET, ("127.0.0.1", 0), CountingHandler
    )
    server.set_app(app)
    stop_read, stop_write = socket.socketpair()

    def stop_on_eof() -> None:
        wait_for_stdin_eof()
        stop_write.close()

    threading.Thread(target=stop_on_eof, daemon=True).start()
    announce(server.server_address[1])
    # The same loop as Radicale's own serve(): accept, and close each worker's socket when done.
    while True:
        watched = [server.socket, stop_read, *server.worker_sockets]
        ready, _, _ = select.select(watched, [], [])
        if stop_read in ready:
            break
        for done in [s for s in ready if s in server.worker_sockets]:
            done.close()
            server.worker_sockets.discard(done)
        if server.socket in ready:
            server.handle_request()
    server.server_close()


def run_xandikos(storage: str) -> None:
    """Serve Xandikos (single user ``/user/``) from ``storage`` until stdin closes."""
    from aiohttp import web

    @web.middleware
    async def counting(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(CONTROL):
            status, payload = COUNTERS.control(request.method, request.path)
            return web.Response(status=status, body=payload, content_type="application/json")
        head = len(request.method) + len(request.raw_path) + 12  # "M /path HTTP/1.1\r\n"
        head += sum(len(k) + len(v) + 4 for k, v in request.raw_headers) + 2
        response: web.StreamResponse = await handler(request)
        # Send it here, not after the middleware returns, so its size on the wire is known.
        await response.prepare(request)
        await response.write_eof()
        COUNTERS.record(request.method, head + (request.content_length or 0), response.body_length)
        return response

    serve_xandikos(storage, counting, client_max_size=256 * 1024 * 1024)


if __name__ == "__main__":
    kind, folder = sys.argv[1], sys.argv[2]
    {"radicale": run_radicale, "xandikos": run_xandikos}[kind](folder)
