"""The local page's weight and speed, and the README's screenshots, from a real browser.

    python -m bench.page [--seed N] [--screenshots FOLDER]

Builds the store scenario's store (2,000 contacts, 10,000 interactions, 2,500 encounters around
today, 5,000 notes; :mod:`bench.store_scenario`), starts ``mendcrm ui`` on it as its own process
and opens each main page in Debian's chromium (Playwright, nothing downloaded). Per page: bytes
transferred, requests, server time for the HTML and the first contentful paint. With
``--screenshots``, writes each page at desktop (1280 px) and phone (390 px) width as PNG there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.store_scenario import store_records, write_mendcrm

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MENDCRM_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _start(config: Path) -> tuple[subprocess.Popen[str], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mendcrm",
            "--config",
            str(config),
            "ui",
            "--no-open",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("MendCRM page: "):
        proc.kill()
        raise SystemExit(f"mendcrm ui did not start: {line}{proc.stdout.read()}")
    return proc  # the line is printed once it listens, line.split(": ", 1)[1].strip()


def _pages(store: Path) -> list[tuple[str, str]]:
    from mendcrm.store import Store

    with Store(store).read() as view:
        contact = sorted(view.all("contacts"), key=lambda c: c["id"])[0]["id"]
        prep = next(r["id"] for r in view.all("queue") if r["kind"] == "prep")
    return [
        ("Today", "/"),
        ("People", "/people"),
        ("A contact", f"/people/{contact}"),
        ("A prep note", f"/prep/{prep}"),
    ]


def measure(url: str, pages: list[tuple[str, str]], shots: Path | None) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    base = url.split("/?", 1)[0]
    rows = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url)
        for name, route in pages:
            sizes: list[int] = []

            def count(request: Any, sizes: list[int] = sizes) -> None:
                sizes.append(request.sizes()["responseBodySize"])

            page.on("requestfinished", count)
            started = time.perf_counter()
            page.goto(base + route, wait_until="load")
            wall = time.perf_counter() - started
            timing = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " const p = performance.getEntriesByName('first-contentful-paint')[0];"
                " return {html: n.responseEnd - n.requestStart, bytes: n.encodedBodySize,"
                " fcp: p ? p.startTime : null}; }"
            )
            rows.append(
                {
                    "page": name,
                    "requests": len(sizes),
                    "bytes": sum(sizes),
                    "html_ms": round(timing["html"]),
                    "fcp_ms": round(timing["fcp"]) if timing["fcp"] is not None else None,
                    "load_ms": round(wall * 1000),
                }
            )
            page.remove_listener("requestfinished", count)
            if shots is not None:
                slug = name.lower().replace(" ", "-")
                page.screenshot(path=str(shots / f"{slug}-desktop.png"))
        if shots is not None:
            phone = browser.new_context(viewport={"width": 390, "height": 844})
            small = phone.new_page()
            small.goto(url)
            for name, route in pages:
                small.goto(base + route)
                slug = name.lower().replace(" ", "-")
                small.screenshot(path=str(shots / f"{slug}-phone.png"))
        browser.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.page", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--screenshots", type=Path, help="Write PNG screenshots into this folder.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mendcrm-page-") as folder:
        store = Path(folder) / "store.json"
        records = store_records(args.seed, datetime.now(UTC))
        now = datetime.now(UTC).isoformat()
        for item in records["queue"]:
            if item["due"] <= now:
                item["state"] = "due"  # as the daemon would have marked them
        write_mendcrm(store, records)
        config = Path(folder) / "config.toml"
        config.write_text(f"[store]\npath = {json.dumps(str(store))}\n")
        proc, url = _start(config)
        try:
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
            rows = measure(url, _pages(store), args.screenshots)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"{'page':<12} {'requests':>8} {'bytes':>9} {'html ms':>8} {'FCP ms':>7} {'load ms':>8}")
    for row in rows:
        print(
            f"{row['page']:<12} {row['requests']:>8} {row['bytes']:>9} {row['html_ms']:>8} "
            f"{row['fcp_ms'] if row['fcp_ms'] is not None else '-':>7} {row['load_ms']:>8}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
