"""The page inside the daemon (``[ui] enabled = true``): uvicorn in a thread of its own.

uvicorn listens for signals only from the main thread, so in this thread it installs none: the
daemon's SIGTERM and SIGHUP keep their meaning. A reload (SIGHUP) calls :meth:`EmbeddedPage.apply`
with the new config: the page then works on it, and moves (or stops) if ``[ui]`` changed. The
daemon's log names the address only, never the token (``mendcrm ui --url`` prints the link).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from mendcrm.clock import Clock
from mendcrm.config.model import Config
from mendcrm.store import Store

log = logging.getLogger(__name__)


class EmbeddedPage:
    """The page served from a daemon thread; :meth:`apply` starts, moves or stops it."""

    def __init__(self, store: Store, clock: Clock, password_for: Any) -> None:
        self.store = store
        self.clock = clock
        self.password_for = password_for
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._site: Any = None
        self._where: tuple[str, int] | None = None

    def apply(self, config: Config) -> None:
        """Given the (new) config, serve the page as ``[ui]`` says; a config error in ``[ui]``
        (an address off loopback) is logged and the page stays off."""
        from mendcrm.errors import MendError

        wanted = (config.ui.host, config.ui.port) if config.ui.enabled else None
        same_ui = self._site is not None and self._site.config.ui == config.ui
        if wanted == self._where and self._site is not None and same_ui:
            self._site.config = config  # same place: the page works on the new config
            return
        self.stop()
        if wanted is None:
            return
        try:
            self._start(config, *wanted)
        except MendError as exc:
            log.error("the page is not served: %s", exc)

    def _start(self, config: Config, host: str, port: int) -> None:
        from mendcrm.files import write_private
        from mendcrm.web.app import Site
        from mendcrm.web.command import SERVER_FILE
        from mendcrm.web.exposed import (
            page_hosts,
            page_server,
            page_sessions,
            read_password,
            refuse_exposed,
            uses_tls,
        )
        from mendcrm.web.security import load_token, token_path

        refuse_exposed(host, config.ui, read_password(host))
        token = load_token(token_path(self.store.path))
        self._site = Site(
            config=config,
            store=self.store,
            clock=self.clock,
            sessions=page_sessions(host, port, config.ui, token),
            hosts=page_hosts(host, port, config.ui),
            password_for=self.password_for,
        )
        server = page_server(self._site, host, port, config.ui)
        thread = threading.Thread(target=server.run, name="mendcrm-page", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)  # a real server binding its socket
        if not server.started:
            log.error("the page could not listen on %s:%d (in use?)", host, port)
            server.should_exit = True
            self._site = None
            return
        self._server, self._thread, self._where = server, thread, (host, port)
        where = {"host": host, "port": port, "pid": os.getpid(), "tls": uses_tls(config.ui)}
        write_private(self.store.path.with_name(SERVER_FILE), json.dumps(where))
        log.info("serving the page on %s:%d (its link: mendcrm ui --url)", host, port)

    def stop(self) -> None:
        """Stop serving (waits for the thread, a few seconds at most)."""
        from mendcrm.web.command import SERVER_FILE

        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self.store.path.with_name(SERVER_FILE).unlink(missing_ok=True)
        self._server = self._thread = self._site = self._where = None


__all__ = ["EmbeddedPage"]
