"""The in-process contenders of the sync scenarios, each run as ``python -m bench.contenders``.

Each prints one JSON line last (``op_seconds`` and what it found); the parent measures the
process from outside (:mod:`bench.measure`) and the server counts the requests.

- ``floor``: the raw sync-collection REPORT with http.client and no parsing; the least any
  client pays to learn the calendar (first) or that nothing changed (with a token). A server
  that leaves calendar-data out of sync-collection answers (Xandikos) gets the hrefs fetched by
  calendar-multiget in chunks of 100, as any client would have to.
- ``mendcrm``: one pass of MendCRM's pipeline (``sync_pass``: sync, detection, planning, one
  store commit) on the store at ``--store``.
- ``caldav-script``: what a user would write on the caldav library's convenience API:
  ``get_objects_by_sync_token(load_objects=True)``, then icalendar + recurring-ical-events over
  the same window as MendCRM. It keeps its token, calendar URL and the occurrences of each
  object in a JSON cache, so a no-change run parses nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

MULTIGET_CHUNK = 100
"""hrefs per calendar-multiget, as MendCRM and vdirsyncer use (servers cap larger ones)."""


def _emit(figures: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


# -- the floor --------------------------------------------------------------------------------


def floor(url: str, username: str, password: str, token: str) -> None:
    """Send the sync-collection REPORT (from ``token``, or from scratch) and report it."""
    import base64
    import gzip
    import http.client
    from urllib.parse import urlsplit
    from xml.etree import ElementTree

    auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    parts = urlsplit(url)
    began = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    # Every other contender accepts gzip, and Radicale uses it: the floor pays the same.
    headers = {
        "Depth": "1",
        "Content-Type": "application/xml; charset=utf-8",
        "Authorization": auth,
        "Accept-Encoding": "gzip",
    }
    token_xml = f"<D:sync-token>{token}</D:sync-token>" if token else "<D:sync-token/>"
    body = (
        '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:" '
        f'xmlns:C="urn:ietf:params:xml:ns:caldav">{token_xml}<D:sync-level>1</D:sync-level>'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>"
    )

    def report(payload: str) -> bytes:
        conn.request("REPORT", parts.path, body=payload.encode(), headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        if answer.status != 207:
            raise SystemExit(f"floor: REPORT answered {answer.status}")
        if answer.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return data

    data = report(body)
    found = re.search(rb"<(?:\w+:)?sync-token>([^<]+)</", data)
    fetched = data.count(b"BEGIN:VCALENDAR")
    multigets = 0
    if not token and fetched == 0:
        # The server sent hrefs and ETags only: fetch the data the cheapest way left.
        tree = ElementTree.fromstring(data)
        hrefs = [h.text or "" for h in tree.iter("{DAV:}href")]
        hrefs = [h for h in hrefs if not h.endswith("/")]
        for i in range(0, len(hrefs), MULTIGET_CHUNK):
            chunk = "".join(f"<D:href>{h}</D:href>" for h in hrefs[i : i + MULTIGET_CHUNK])
            multiget = (
                '<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
                f"</D:prop>{chunk}</C:calendar-multiget>"
            )
            fetched += report(multiget).count(b"BEGIN:VCALENDAR")
            multigets += 1
    conn.close()
    seconds = time.perf_counter() - began
    _emit(
        {
            "op_seconds": seconds,
            "token": found.group(1).decode() if found else "",
            "objects": fetched,
            "multigets": multigets,
        }
    )


# -- MendCRM ----------------------------------------------------------------------------------

# What a pass imports lazily, imported before the clock starts, as in a running service and
# as the other contenders import their libraries first: the pipeline's modules, every module of
# the stage packages (their exports load on first use), and the template engine (render.py
# imports jinja2 only when a note is rendered, so that read commands need not load it).
PASS_MODULES = (
    "mendcrm.pipeline",
    "mendcrm.changed_pass",
    "mendcrm.contacts",
    "mendcrm.copies",
    "mendcrm.detection",
    "mendcrm.forgetting",
    "mendcrm.pass_memo",
    "mendcrm.planning",
    "mendcrm.playbook",
    "mendcrm.render",
    "mendcrm.repository",
    "jinja2",
)
PASS_PACKAGES = ("mendcrm.sources", "mendcrm.events", "mendcrm.annotations")


def _import_pass_modules() -> None:
    import importlib
    import pkgutil

    for module in PASS_MODULES:
        importlib.import_module(module)
    for name in PASS_PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.iter_modules(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def mendcrm(
    url: str, username: str, password: str, store_path: str, now: str, lookahead: int
) -> None:
    """Run one MendCRM pass against the server on the store and report it."""
    _import_pass_modules()
    from mendcrm import pipeline
    from mendcrm.clock import FrozenClock
    from mendcrm.config.model import (
        AccountConfig,
        Config,
        MeConfig,
        StoreConfig,
        SyncConfig,
    )
    from mendcrm.store import Store

    config = Config(
        me=MeConfig(emails=("me@example.com",), timezone="Europe/Berlin"),
        store=StoreConfig(path=Path(store_path)),
        sync=SyncConfig(lookahead_days=lookahead, timeout_seconds=600),
        accounts=(AccountConfig(name="bench", url=url, username=username, annotate="off"),),
    )
    clock = FrozenClock(datetime.fromisoformat(now))
    stage: list[float] = []
    fetch = pipeline.fetch

    def timed_fetch(*args: Any, **kwargs: Any) -> Any:
        # The sync stage alone (sources + events), to set beside the floor.
        started = time.perf_counter()
        try:
            return fetch(*args, **kwargs)
        finally:
            stage.append(time.perf_counter() - started)

    pipeline.fetch = timed_fetch
    began = time.perf_counter()
    summary = pipeline.sync_pass(
        config, Store(store_path), clock=clock, password_for=lambda _: password
    )
    seconds = time.perf_counter() - began
    errors = summary.errors
    if errors:
        raise SystemExit(f"mendcrm: the pass failed: {errors}")
    _emit(
        {
            "op_seconds": seconds,
            "sync_seconds": sum(stage),
            "calendars": len(summary.reports),
            "methods": sorted({r.method for r in summary.reports}),
            "fetched": sum(r.fetched for r in summary.reports),
            "filtered": sum(r.filtered for r in summary.reports),
            "occurrences": len(summary.sync.occurrences),
            "encounters": len(summary.plan.detected),
            "queue_changes": len(summary.plan.queue),
            "client_requests": summary.sync.requests,
            "warnings": len(summary.warnings),
        }
    )


# -- a script on the caldav library -----------------------------------------------------------


def caldav_script(
    url: str, username: str, password: str, cache_path: str, start: str, end: str
) -> None:
    """Sync with ``get_objects_by_sync_token(load_objects=True)``, expand what changed over the
    window, keep the occurrences per object in a JSON cache, and report it."""
    import recurring_ical_events
    from caldav.davclient import DAVClient
    from icalendar import Calendar

    window = (datetime.fromisoformat(start), datetime.fromisoformat(end))
    cache_file = Path(cache_path)
    began = time.perf_counter()
    cache: dict[str, Any] = (
        json.loads(cache_file.read_text()) if cache_file.exists() else {"objects": {}}
    )
    client = DAVClient(url=url, username=username, password=password, timeout=600)
    if cache.get("calendar"):
        calendar = client.calendar(url=cache["calendar"])
    else:
        calendar = client.principal().calendars()[0]
    found = calendar.get_objects_by_sync_token(sync_token=cache.get("token"), load_objects=True)
    parsed = 0
    for obj in found:
        if obj.data is None:
            continue
        occurrences = recurring_ical_events.of(Calendar.from_ical(obj.data)).between(*window)
        cache["objects"][str(obj.url)] = [
            [str(o.get("UID")), o.decoded("DTSTART").isoformat(), str(o.get("SUMMARY", ""))]
            for o in occurrences
        ]
        parsed += 1
    for gone in getattr(found, "deleted_urls", ()) or ():
        cache["objects"].pop(str(gone), None)
    cache["token"] = found.sync_token
    cache["calendar"] = str(calendar.url)
    cache_file.write_text(json.dumps(cache))
    occurrences_total = sum(len(v) for v in cache["objects"].values())
    seconds = time.perf_counter() - began
    _emit({"op_seconds": seconds, "parsed": parsed, "occurrences": occurrences_total})


COMMANDS: dict[str, Callable[..., None]] = {
    "floor": floor,
    "mendcrm": mendcrm,
    "caldav-script": caldav_script,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.contenders")
    parser.add_argument("contender", choices=sorted(COMMANDS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--store", default="")
    parser.add_argument("--cache", default="")
    parser.add_argument("--now", default="")
    parser.add_argument("--start", default="")
    parser.add_argument("--end", default="")
    parser.add_argument("--lookahead", type=int, default=30)
    args = parser.parse_args(argv)
    if args.contender == "floor":
        floor(args.url, args.username, args.password, args.token)
    elif args.contender == "mendcrm":
        mendcrm(args.url, args.username, args.password, args.store, args.now, args.lookahead)
    else:
        caldav_script(args.url, args.username, args.password, args.cache, args.start, args.end)


if __name__ == "__main__":
    main()
