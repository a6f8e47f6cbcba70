"""The bench's smallest sync path, so the suite does not rot between benchmark runs.

50 events on a counting Radicale, every contender once: the figures are not judged here (that
is what ``make bench`` is for), only that each contender ran, was counted on the server side,
and that the table and its target lines come out.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench.sync_scenario import PEERS, run_sync, sync_table

pytestmark = pytest.mark.caldav


def test_smallest_sync_scenario_runs_every_contender(tmp_path: Path) -> None:
    have_vdirsyncer = importlib.util.find_spec("vdirsyncer") is not None
    peers = PEERS if have_vdirsyncer else ("caldav",)

    figures = run_sync("radicale", 50, seed=7, folder=tmp_path, repeats=1, peers=peers)

    assert set(figures.first) == {"mendcrm", "mendcrm-sync", "floor", *peers}
    ours_first, ours_again = figures.first["mendcrm"], figures.again["mendcrm"]
    assert ours_first.report["fetched"] > 0 and ours_first.report["occurrences"] > 0
    assert ours_again.requests == ours_again.report["calendars"] == 1
    assert figures.first["floor"].report["objects"] == 50
    assert figures.first["caldav"].requests > 50  # one GET per object, counted by the server
    for name, run in figures.first.items():
        if name != "mendcrm-sync":
            assert run.wall > 0 and run.peak_rss > 10 * 1024 * 1024 and run.bytes_down > 0, name
    if have_vdirsyncer:
        assert figures.mirrored["vdirsyncer"] == 50
    # One event changed on the server by a PUT: the sync-token REPORT hands back that one
    # object (RFC 6578 §3.2), so the pass fetches exactly one.
    changed = figures.changed["mendcrm"]
    assert changed.report["fetched"] == 1 and changed.report["methods"] == ["sync-token"]
    text = sync_table(figures).render()
    assert "target: one event changed, whole pass within 2×" in text
    assert "target: first pass faster than vdirsyncer" in text or not have_vdirsyncer
    assert "target: no-change re-sync, one request per calendar: MET" in text


def test_targets_table_lists_every_target_and_judges_what_was_measured() -> None:
    from bench.targets import NOT_MEASURED, TARGETS, Targets

    targets = Targets()
    # help 0.1 s; upcoming 0.2 s is 2.0× (within 2.5×), contact list 0.3 s is 3.0× (over).
    targets.add_startup(
        {
            ("mendcrm --help", "full"): 0.1,
            ("mendcrm upcoming", "full"): 0.2,
            ("mendcrm upcoming", "empty"): 9.0,  # the empty store is not the target's
            ("mendcrm contact list", "full"): 0.3,
        }
    )
    targets.add("detection", "build + detect", 0.25)
    text = targets.table().render()
    rows = {t.key: line for t in TARGETS for line in text.splitlines() if t.what in line}
    assert set(rows) == {t.key for t in TARGETS}  # every target has its row
    assert "2.00× (upcoming)" in rows["reads"] and "3.00× (contact list)" in rows["reads"]
    assert rows["reads"].endswith("MISSED")
    assert rows["detection"].endswith("MET") and "0.250 s" in rows["detection"]
    assert NOT_MEASURED in rows["one-change"] and NOT_MEASURED in rows["first-floor"]


def test_the_daemon_target_judges_both_pages_after_the_passes_and_at_the_end() -> None:
    from types import SimpleNamespace

    from bench.targets import MIB, Targets

    def run(page: bool, after: float, start: float, end: float) -> SimpleNamespace:
        return SimpleNamespace(
            page=page, passes=20, rss_after_passes=after * MIB, rss_start=start * MIB,
            rss_end=end * MIB,
        )  # fmt: skip

    targets = Targets()
    # Page off rests at 31 MiB; page on at 48, but grows 5 MiB over the rest period to 61:
    # over the 60 MiB bound (MISSED) and not flat (a note).
    targets.add_daemon([run(False, 31.0, 31.0, 31.5), run(True, 48.0, 56.0, 61.0)])
    row = next(line for line in targets.table().render().splitlines() if "daemon" in line)
    assert "31.0 MiB (page off, after 20 passes)" in row
    assert "61.0 MiB (page on, end of rest)" in row
    assert row.endswith("MISSED")
    assert targets.notes == ["daemon (page on): RSS moved +5.0 MiB at rest: not flat"]
