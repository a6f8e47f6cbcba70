"""An embedded Radicale for the demo: a child process on a free loopback port, torn down after.

It uses htpasswd authentication with a throwaway password so the demo exercises the same
password → HTTP basic auth path as a real account. The child runs through
:mod:`mendcrm.demo.child`, which makes it exit whenever this process goes, even by SIGKILL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from mendcrm.errors import MendError

_READY_TIMEOUT = 20.0
_POLL = 0.05


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RadicaleServer:
    """A Radicale child process serving ``folder`` on loopback with one user."""

    def __init__(self, folder: Path, username: str, password: str) -> None:
        self.folder = folder
        self.username = username
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start the server and wait until it answers; raise MendError if it cannot start."""
        try:
            import radicale  # noqa: F401
        except ImportError:
            raise MendError(
                "the demo needs Radicale, which is not installed",
                hint="pip install 'mendcrm[demo]' (make demo installs it for you)",
            ) from None
        users = self.folder / "users"
        users.write_text(f"{self.username}:{self.password}\n")
        users.chmod(0o600)
        log = (self.folder / "radicale.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mendcrm.demo.child",
                str(os.getpid()),
                "--server-hosts",
                f"127.0.0.1:{self.port}",
                "--storage-filesystem-folder",
                str(self.folder / "collections"),
                "--auth-type",
                "htpasswd",
                "--auth-htpasswd-filename",
                str(users),
                "--auth-htpasswd-encryption",
                "plain",
                "--rights-type",
                "owner_only",
                "--logging-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            # The child exits when this pipe closes: see mendcrm.demo.child.
            stdin=subprocess.PIPE,
        )
        log.close()
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise MendError(
                    "the demo's Radicale server stopped at start-up",
                    hint=f"see {self.folder / 'radicale.log'}",
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=_POLL):
                    return
            except OSError:
                time.sleep(_POLL)  # polling for readiness, not waiting for an outcome
        self.stop()
        raise MendError("the demo's Radicale server did not start within 20 s")

    def stop(self) -> None:
        """Stop the server and wait for it, so no process is left behind."""
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RadicaleServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["RadicaleServer", "free_port"]
