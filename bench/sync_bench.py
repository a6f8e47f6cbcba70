"""Benchmark: MendCRM's sync of a 5,000-event calendar against the raw REPORT it must beat.

Run: ``.venv/bin/python -m bench.sync_bench [--events N] [--seed S] [--repeat R] [--json]``

One run generates a calendar (``bench.generate``: two years wide, 8% recurring with overrides,
1–6 attendees each), writes it straight into the storage of a fresh local Radicale, warms the
server's cache, then measures on the same calendar:

- floor: one bare sync-collection REPORT with calendar-data (http.client, no parsing) — the
  least any client must pay to learn the calendar from scratch;
- MendCRM first sync (empty state) and no-change re-sync: wall seconds (median of ``--repeat``),
  HTTP requests, peak Python memory (tracemalloc, in a separate pass so it does not slow the
  timed ones), and the size of the state it would store;
- the horizon moving forward (31 days later): what the window sliding costs.

Targets (issue 3): first sync within 2× the floor; re-sync one request per calendar.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import generate_calendar, write_radicale_collection
from mendcrm.config.model import AccountConfig, Config, MeConfig, SyncConfig
from mendcrm.sources import state_size, sync_sources
from tests.fixtures.servers import DavServer, basic_auth, http_request

CENTER = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
USER, CALENDAR = "bench", "work"


def _floor_body() -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token/><D:sync-level>1</D:sync-level>'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>"
    )


def floor_request(server: DavServer) -> tuple[float, int]:
    """Send the raw sync-collection REPORT and return (seconds, body bytes)."""
    headers = {"Depth": "1", "Content-Type": "application/xml", **basic_auth(USER, "x")}
    began = time.perf_counter()
    answer = http_request(
        f"{server.url}{USER}/{CALENDAR}/", "REPORT", _floor_body(), headers, timeout=600
    )
    seconds = time.perf_counter() - began
    if answer.status != 207:
        raise RuntimeError(f"floor REPORT answered {answer.status}")
    return seconds, len(answer.body)


def _peak_memory(action: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        value = action()
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(events: int, seed: int, repeat: int) -> dict[str, Any]:
    """Generate, load, measure; return the figures."""
    objects = generate_calendar(events, seed=seed, center=CENTER)
    with tempfile.TemporaryDirectory(prefix="mendcrm-bench-") as tmp:
        storage = Path(tmp) / "radicale"
        began = time.perf_counter()
        write_radicale_collection(storage, USER, CALENDAR, objects, display="Work")
        load_seconds = time.perf_counter() - began
        server = DavServer("radicale", storage).start()
        try:
            began = time.perf_counter()
            floor_request(server)  # Radicale builds its item cache on first read
            warm_seconds = time.perf_counter() - began
            config = Config(
                me=MeConfig(emails=("me@example.com",), timezone="Europe/Berlin"),
                sync=SyncConfig(timeout_seconds=600),
                accounts=(
                    AccountConfig(name="bench", url=server.url, username=USER, annotate="off"),
                ),
            )

            def sync(state: dict[str, Any], now: datetime) -> Any:
                return sync_sources(config, state, now=now, password_for=lambda _: "x")

            floors, firsts, resyncs = [], [], []
            body_bytes = 0
            first = resync = None
            for _ in range(repeat):
                seconds, body_bytes = floor_request(server)
                floors.append(seconds)
                began = time.perf_counter()
                first = sync({}, CENTER)
                firsts.append(time.perf_counter() - began)
                began = time.perf_counter()
                resync = sync(first.state, CENTER + timedelta(minutes=15))
                resyncs.append(time.perf_counter() - began)
            assert first is not None and resync is not None
            _, floor_memory = _peak_memory(lambda: floor_request(server))
            _, first_memory = _peak_memory(lambda: sync({}, CENTER))
            _, resync_memory = _peak_memory(
                lambda: sync(first.state, CENTER + timedelta(minutes=15))
            )
            began = time.perf_counter()
            slid = sync(resync.state, CENTER + timedelta(days=31))
            slide_seconds = time.perf_counter() - began
        finally:
            server.stop()
    floor = statistics.median(floors)
    first_s = statistics.median(firsts)
    report = first.reports[0]
    return {
        "events": events,
        "seed": seed,
        "recurring": sum(o.recurring for o in objects),
        "load_seconds": round(load_seconds, 2),
        "server_warmup_seconds": round(warm_seconds, 2),
        "floor": {
            "seconds": round(floor, 3),
            "requests": 1,
            "body_bytes": body_bytes,
            "peak_memory_bytes": floor_memory,
        },
        "first_sync": {
            "seconds": round(first_s, 3),
            "requests": first.requests,
            "objects_fetched": report.fetched,
            "occurrences_in_window": len(first.occurrences),
            "peak_memory_bytes": first_memory,
            "state_bytes": state_size(first.state.values()),
            "ratio_to_floor": round(first_s / floor, 2),
            "method": report.method,
            "warnings": len(first.warnings),
        },
        "resync_no_change": {
            "seconds": round(statistics.median(resyncs), 3),
            "requests": resync.requests,
            "calendars": len(resync.reports),
            "peak_memory_bytes": resync_memory,
        },
        "window_slides_31_days": {
            "seconds": round(slide_seconds, 3),
            "requests": slid.requests,
            "objects_fetched": sum(r.fetched for r in slid.reports),
            "state_bytes": state_size(slid.state.values()),
        },
        "targets_met": {
            "first_sync_within_2x_floor": first_s <= 2 * floor,
            "resync_one_request_per_calendar": resync.requests <= len(resync.reports),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()
    figures = run(args.events, args.seed, args.repeat)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    floor, first, again = figures["floor"], figures["first_sync"], figures["resync_no_change"]
    slide = figures["window_slides_31_days"]

    def mib(value: int) -> str:
        return f"{value / (1024 * 1024):.1f} MiB"

    lines = [
        f"calendar: {figures['events']} events ({figures['recurring']} recurring), "
        f"seed {figures['seed']}; written to storage in {figures['load_seconds']} s, "
        f"server warm-up {figures['server_warmup_seconds']} s",
        f"floor   raw sync-collection REPORT: {floor['seconds']:.3f} s, 1 request, "
        f"{mib(floor['body_bytes'])} body, peak {mib(floor['peak_memory_bytes'])}",
        f"first   MendCRM first sync:         {first['seconds']:.3f} s, {first['requests']} "
        f"requests, {first['objects_fetched']} objects fetched, "
        f"{first['occurrences_in_window']} occurrences, peak {mib(first['peak_memory_bytes'])}"
        f"  -> {first['ratio_to_floor']}x floor",
        f"again   no-change re-sync:          {again['seconds']:.3f} s, {again['requests']} "
        f"request(s) for {again['calendars']} calendar(s), peak {mib(again['peak_memory_bytes'])}",
        f"slide   window +31 days:            {slide['seconds']:.3f} s, {slide['requests']} "
        f"requests, {slide['objects_fetched']} objects fetched",
        f"state   after first sync {first['state_bytes'] / 1024:.0f} KiB, "
        f"after the slide {slide['state_bytes'] / 1024:.0f} KiB",
        f"targets {figures['targets_met']}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
