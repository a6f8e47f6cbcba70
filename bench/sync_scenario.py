"""Scenarios 1 and 2: syncing a generated calendar, MendCRM against the tools a user would use.

For one server and one calendar size, every contender runs in its own fresh process against the
same warmed server, interleaved run by run so that noise on the machine falls on all of them:

- MendCRM: one whole pass (sync + detection + planning + the store commit) from an empty sync
  state, then a pass with nothing changed, then (after one event in the window is changed on
  the server by a PUT through its HTTP API) a pass with one change; its store holds contacts
  drawn from the calendar's attendees, some flagged, so detection and planning have real work;
- the raw sync-collection REPORT (the floor), from scratch and from its token;
- vdirsyncer mirroring the calendar to a folder (``discover`` apart, then ``sync`` twice), and
  the same with its time range set to MendCRM's window;
- a script on the caldav library's convenience API (:mod:`bench.contenders`).

MendCRM's first pass asks the server only for the window (a time-range query), where the floor
and vdirsyncer's normal mirror take the whole calendar; that difference is MendCRM's design,
and the windowed vdirsyncer row shows the peer doing the same task.
"""

from __future__ import annotations

import random
import re
import shutil
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.generate import GeneratedObject, generate_calendar
from bench.measure import Run, measure, median_run, python_argv
from bench.servers import PASSWORD, USER, BenchServer, basic_auth, http_request, running
from bench.tables import Table, mib, ratio, seconds, size
from bench.vdirsyncer_peer import vdirsyncer_runs

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
"""The bench's "now": the middle of the generated calendar's two years."""
LOOKAHEAD_DAYS = 30
WINDOW = (NOW - timedelta(days=1), NOW + timedelta(days=LOOKAHEAD_DAYS))
"""MendCRM's window at NOW (``mendcrm.events.window.sync_window``); the peers expand over it too."""

PEERS = ("vdirsyncer", "vdirsyncer-window", "caldav")
FLAGGED_SHARE = 1 / 20
CONTENDER_LABELS = {
    "mendcrm": "MendCRM (sync+detect+plan)",
    "mendcrm-sync": "MendCRM, its sync stage",
    "floor": "raw sync-collection REPORT",
    "vdirsyncer": "vdirsyncer mirror",
    "vdirsyncer-window": "vdirsyncer, window only",
    "caldav": "caldav lib script",
}


@dataclass
class SyncFigures:
    """Everything measured for one server and one calendar size."""

    kind: str
    events: int
    recurring: int
    repeats: int
    first: dict[str, Run] = field(default_factory=dict)
    again: dict[str, Run] = field(default_factory=dict)
    changed: dict[str, Run] = field(default_factory=dict)
    """The pass after one event was changed on the server (MendCRM and its sync stage)."""
    first_all: dict[str, list[Run]] = field(default_factory=dict)
    discover: dict[str, Run] = field(default_factory=dict)
    mirrored: dict[str, int] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    warm_seconds: float = 0.0


def contacts_for(objects: Iterable[GeneratedObject], seed: int) -> list[dict[str, object]]:
    """Given the calendar, return contact records for its attendees, one in twenty flagged
    (strained, cordial, talking or rebuilding): about 20 people being mended, each met a couple
    of times a month in a calendar this busy, so detection and planning have real work."""
    from mendcrm.model import Contact

    people: dict[str, str] = {}
    pattern = re.compile(r"ATTENDEE;CN=([^;:]+)[^:]*:mailto:(\S+)")
    for obj in objects:
        for cn, email in pattern.findall(obj.ics):
            people.setdefault(email.lower(), cn)
    people.pop("me@example.com", None)
    rng = random.Random(seed)
    records = []
    for i, (email, name) in enumerate(sorted(people.items())):
        flagged = rng.random() < FLAGGED_SHARE
        stage = rng.choice(("strained", "cordial", "talking", "rebuilding")) if flagged else "none"
        contact = Contact(
            id=f"c{i:04d}",
            name=name,
            emails=(email,),
            stage=stage,
            history="Left the team after a disagreement about the roadmap." if flagged else "",
            strengths="Knows the billing system inside out." if flagged else "",
            goal="Get back to a working relationship." if flagged else "",
        )
        records.append(contact.to_record())
    return records


def write_base_store(path: Path, contacts: list[dict[str, object]]) -> None:
    """Write a MendCRM store holding only the contacts (no sync state yet)."""
    from mendcrm.store import Store

    with Store(path).transaction() as tx:
        tx.put_many("contacts", contacts)


def run_sync(
    kind: str,
    events: int,
    *,
    seed: int,
    folder: Path,
    repeats: int,
    peers: Iterable[str] = PEERS,
    peer_repeats: dict[str, int] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> SyncFigures:
    """Measure every contender on a ``kind`` server holding ``events`` generated events.

    ``peer_repeats`` caps the runs of slow peers (the caldav script needs minutes at 20,000
    events); MendCRM and the floor always run ``repeats`` times.
    """
    peers = [p for p in PEERS if p in set(peers)]
    limits = {p: repeats for p in peers} | (peer_repeats or {})
    objects = generate_calendar(events, seed=seed)
    figures = SyncFigures(kind, events, sum(o.recurring for o in objects), repeats)
    work = folder / f"{kind}-{events}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    base_store = work / "base-store.json"
    write_base_store(base_store, contacts_for(objects, seed))
    log(f"{kind}, {events:,} events: loading and warming the server")
    with running(kind, work, objects) as server:
        figures.warm_seconds = server.warm_seconds
        firsts: dict[str, list[Run]] = {}
        agains: dict[str, list[Run]] = {}
        changes: dict[str, list[Run]] = {}
        edited = _object_in_window(objects)
        token = ""
        for attempt in range(repeats):
            log(f"{kind}, {events:,} events: round {attempt + 1} of {repeats}")
            run = _floor(server, "")
            token = str(run.report.get("token", ""))
            firsts.setdefault("floor", []).append(run)
            agains.setdefault("floor", []).append(_floor(server, token))
            store = work / f"store-{attempt}.json"
            shutil.copyfile(base_store, store)
            firsts.setdefault("mendcrm", []).append(_mendcrm(server, store))
            agains.setdefault("mendcrm", []).append(_mendcrm(server, store))
            change_one_event(server, edited, attempt)
            changes.setdefault("mendcrm", []).append(_mendcrm(server, store))
            for peer in [p for p in peers if attempt < limits[p]]:
                if peer == "caldav":
                    cache = work / f"caldav-cache-{attempt}.json"
                    firsts.setdefault(peer, []).append(_caldav(server, cache))
                    agains.setdefault(peer, []).append(_caldav(server, cache))
                    continue
                window = WINDOW if peer == "vdirsyncer-window" else None
                found, first, again, mirrored = vdirsyncer_runs(
                    server, work / f"{peer}-{attempt}", USER, PASSWORD, window
                )
                firsts.setdefault(peer, []).append(first)
                agains.setdefault(peer, []).append(again)
                figures.discover[peer] = found
                figures.mirrored[peer] = mirrored
    figures.first = {name: median_run(runs) for name, runs in firsts.items()}
    figures.again = {name: median_run(runs) for name, runs in agains.items()}
    figures.changed = {name: median_run(runs) for name, runs in changes.items()}
    figures.first["mendcrm-sync"] = _sync_stage(firsts["mendcrm"])
    figures.again["mendcrm-sync"] = _sync_stage(agains["mendcrm"])
    figures.changed["mendcrm-sync"] = _sync_stage(changes["mendcrm"])
    figures.first_all = firsts
    figures.runs = {name: len(runs) for name, runs in firsts.items()}
    return figures


def _object_in_window(objects: list[GeneratedObject]) -> GeneratedObject:
    """Return the single (non-recurring) event starting nearest to NOW: inside the window
    whenever the calendar has one there, so changing it gives planning something to redo."""
    pattern = re.compile(r"\nDTSTART[^:\n]*:(\d{8})")
    now = NOW.date()

    def distance(obj: GeneratedObject) -> int:
        found = pattern.search(obj.ics)
        if obj.recurring or found is None:
            return 1 << 30
        return abs((datetime.strptime(found.group(1), "%Y%m%d").date() - now).days)

    return min(objects, key=distance)


def change_one_event(server: BenchServer, obj: GeneratedObject, round_: int) -> None:
    """Change one event on the server as a calendar app would: a PUT of the whole object with
    a new SUMMARY and a higher SEQUENCE (RFC 5545 §3.8.7.4), through the server's HTTP API, so
    it notices the change itself (new ETag, new sync-token)."""
    text = obj.ics.replace("\r\nSUMMARY:", f"\r\nSEQUENCE:{round_ + 1}\r\nSUMMARY:Moved: ", 1)
    headers = {"Content-Type": "text/calendar; charset=utf-8", **basic_auth()}
    answer = http_request(server.calendar_url + obj.name, "PUT", text.encode(), headers)
    if answer.status not in (200, 201, 204):
        raise RuntimeError(f"{server.kind}: PUT of {obj.name} answered {answer.status}")


def _sync_stage(runs: list[Run]) -> Run:
    """Return MendCRM's runs seen through their sync stage only (op = the stage's seconds)."""
    stages = [float(r.report.get("sync_seconds", 0.0)) for r in runs]
    return replace(median_run(runs), op=statistics.median(stages))


def _floor(server: BenchServer, token: str) -> Run:
    argv = python_argv(
        "bench.contenders", "floor", "--url", server.calendar_url,
        "--username", USER, "--password", PASSWORD, "--token", token,
    )  # fmt: skip
    return measure(server, argv)


def _mendcrm(server: BenchServer, store: Path) -> Run:
    argv = python_argv(
        "bench.contenders", "mendcrm", "--url", server.url, "--username", USER,
        "--password", PASSWORD, "--store", str(store), "--now", NOW.isoformat(),
        "--lookahead", str(LOOKAHEAD_DAYS),
    )  # fmt: skip
    return measure(server, argv)


def _caldav(server: BenchServer, cache: Path) -> Run:
    argv = python_argv(
        "bench.contenders", "caldav-script", "--url", server.url, "--username", USER,
        "--password", PASSWORD, "--cache", str(cache),
        "--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat(),
    )  # fmt: skip
    return measure(server, argv)


def sync_table(figures: SyncFigures) -> Table:
    """Return scenario 1's table for one server: first and no-change runs, peers ÷ MendCRM."""
    table = Table(
        f"Sync of a {figures.events:,}-event calendar ({figures.recurring:,} recurring) on "
        f"{figures.kind.title()}; median of {figures.repeats} run(s)",
        ["contender", "run", "wall s", "÷M", "op s", "÷M", "requests", "down",
         "peak RSS MiB", "÷M", "server CPU s"],
    )  # fmt: skip
    phases = (("first", figures.first), ("no change", figures.again))
    for phase, runs in (*phases, ("one change", figures.changed)):
        ours = runs.get("mendcrm")
        for name in ("mendcrm", "mendcrm-sync", "floor", *PEERS):
            run = runs.get(name)
            if run is None or ours is None:
                continue
            if name == "mendcrm-sync":
                table.add(CONTENDER_LABELS[name], phase, "", "", seconds(run.op), "",
                          "", "", "", "", "")  # fmt: skip
                continue
            table.add(
                CONTENDER_LABELS[name],
                phase,
                seconds(run.wall),
                ratio(run.wall, ours.wall),
                seconds(run.op),
                ratio(run.op, ours.op),
                f"{run.requests:,}",
                size(run.bytes_down),
                mib(run.peak_rss),
                ratio(run.peak_rss, ours.peak_rss),
                seconds(run.server_cpu),
            )
    table.notes.extend(sync_notes(figures))
    return table


def sync_notes(figures: SyncFigures) -> list[str]:
    """Return the notes under a sync table: what ran, and the targets of issue 8."""
    notes = [
        "÷M = the contender's figure divided by MendCRM's (above 1: MendCRM is faster/lighter).",
        "wall = the whole process (interpreter start and imports included); op = the operation"
        " alone, modules already imported (what a running service pays); — = not measurable"
        " inside the process. 'its sync stage' = the sources and events stages of the same"
        " pass (pipeline.fetch), without detection, planning and the store commit.",
    ]
    fewer = [f"{CONTENDER_LABELS[n]} {k}" for n, k in figures.runs.items() if k < figures.repeats]
    if fewer:
        notes.append("Fewer runs (slow peers): " + ", ".join(fewer) + ".")
    ours_first = figures.first.get("mendcrm")
    if ours_first is not None:
        report = ours_first.report
        methods = ", ".join(report.get("methods") or ["?"])
        notes.append(
            f"MendCRM's first pass read the calendar by {methods} ({size(ours_first.bytes_down)}"
            f" down): fetched {report.get('fetched', '?')} objects, "
            f"{report.get('filtered', 0)} of them proven outside the window + margin from their"
            f" raw text and never parsed; found "
            f"{report.get('occurrences', '?')} occurrences, {report.get('encounters', '?')} "
            f"encounters, {report.get('queue_changes', '?')} queue changes; its first-pass walls"
            " in run order (the first meets the coldest server): "
            + ", ".join(seconds(r.wall) for r in figures.first_all.get("mendcrm", []))
            + " s."
        )
    for peer, found in figures.discover.items():
        notes.append(
            f"{CONTENDER_LABELS[peer]}: `vdirsyncer discover` {seconds(found.wall)} s, "
            f"{found.requests} requests (not counted above); {figures.mirrored.get(peer, 0):,} "
            "files mirrored."
        )
    floor_first = figures.first.get("floor")
    if floor_first is not None and floor_first.report.get("multigets"):
        notes.append(
            f"{figures.kind.title()} leaves calendar-data out of sync-collection answers: the "
            f"floor fetched the objects with {floor_first.report['multigets']} calendar-multiget"
            " REPORTs of 100 hrefs."
        )
    notes.extend(target_lines(figures))
    return notes


def target_lines(figures: SyncFigures) -> list[str]:
    """Return the issue's targets for this server, each met or missed by how much."""
    lines = []
    ours, peer = figures.first.get("mendcrm"), figures.first.get("vdirsyncer")
    if ours is not None and peer is not None:
        if ours.wall < peer.wall:
            verdict = f"MET, {peer.wall / ours.wall:.2f}× faster"
        else:
            verdict = f"MISSED, {ours.wall / peer.wall:.2f}× slower"
        lines.append(
            f"target: first pass faster than vdirsyncer's first mirror: {verdict} "
            f"({seconds(ours.wall)} s vs {seconds(peer.wall)} s, whole processes)"
        )
    again, floor = figures.again.get("mendcrm"), figures.again.get("floor")
    stage = figures.again.get("mendcrm-sync")
    if again is not None:
        calendars = int(again.report.get("calendars", 1)) or 1
        methods = ", ".join(f"{m} {n}" for m, n in again.methods.items())
        lines.append(
            f"target: no-change re-sync, one request per calendar: "
            f"{'MET' if again.requests <= calendars else 'MISSED'} ({again.requests} request(s)"
            f" for {calendars} calendar(s): {methods})"
        )
    if stage is not None and floor is not None and stage.op and floor.op and again and again.op:
        r = stage.op / floor.op
        lines.append(
            f"target: no-change re-sync within 1.5× the raw no-change REPORT: "
            f"{'MET' if r <= 1.5 else 'MISSED'}, {r:.2f}× ({seconds(stage.op)} s vs "
            f"{seconds(floor.op)} s); the whole no-change pass, with detection and planning, "
            f"is {again.op / floor.op:.2f}× ({seconds(again.op)} s)"
        )
    changed = figures.changed.get("mendcrm")
    if changed is not None and floor is not None and changed.op and floor.op:
        r = changed.op / floor.op
        lines.append(
            f"target: one event changed, whole pass within 2× the raw no-change REPORT: "
            f"{'MET' if r <= 2.0 else 'MISSED'}, {r:.2f}× ({seconds(changed.op)} s vs "
            f"{seconds(floor.op)} s; {changed.requests} request(s), "
            f"{changed.report.get('fetched', '?')} object(s) fetched)"
        )
    return lines


def scale_table(results: list[SyncFigures]) -> Table:
    """Return scenario 2's table: each contender's wall time and peak memory at each size."""
    results = sorted(results, key=lambda f: f.events)
    sizes = [f.events for f in results]
    columns = ["contender", "run"]
    for n in sizes:
        columns += [f"{n:,}: wall s", "op s", "RSS MiB"]
    if len(sizes) > 1:
        columns += [f"×{sizes[-1] // max(1, sizes[0])} events: op", "RSS"]
    table = Table(
        f"Scale on {results[0].kind.title()}: how time and memory grow with the calendar",
        columns,
    )
    for phase, pick in (("first", "first"), ("no change", "again")):
        for name in ("mendcrm", "mendcrm-sync", "floor", *PEERS):
            row = [CONTENDER_LABELS[name], phase]
            runs = [getattr(f, pick).get(name) for f in results]
            if all(r is None for r in runs):
                continue
            for run in runs:
                if run is None:
                    row += ["—", "—", "—"]
                elif name == "mendcrm-sync":  # a stage of the pass above: op only
                    row += ["", seconds(run.op), ""]
                else:
                    row += [seconds(run.wall), seconds(run.op), mib(run.peak_rss)]
            if len(sizes) > 1:
                low, high = runs[0], runs[-1]
                if low is not None and high is not None:
                    memory = "" if name == "mendcrm-sync" else ratio(high.peak_rss, low.peak_rss)
                    row += [ratio(high.op or high.wall, low.op or low.wall), memory]
                else:
                    row += ["—", "—"]
            table.add(*row)
    table.notes.append(
        "Growth columns: the largest size's figure divided by the smallest's (op where measured,"
        " else wall); the calendar grows "
        f"{sizes[-1] / max(1, sizes[0]):.0f}×. MendCRM fetches only the window, so its"
        " first pass should grow with the events in the window, not with the calendar."
    )
    for f in results:
        ours = f.first.get("mendcrm")
        if ours is not None:
            table.notes.append(
                f"{f.events:,} events: MendCRM fetched {ours.report.get('fetched', '?')} objects,"
                f" {ours.report.get('occurrences', '?')} occurrences; server warm-up "
                f"{seconds(f.warm_seconds)} s"
            )
    return table


__all__ = [
    "LOOKAHEAD_DAYS",
    "NOW",
    "PEERS",
    "WINDOW",
    "SyncFigures",
    "contacts_for",
    "run_sync",
    "scale_table",
    "sync_table",
    "write_base_store",
]
