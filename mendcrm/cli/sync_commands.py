"""``mendcrm sync`` (one pass of the pipeline) and ``mendcrm events`` (what MendCRM sees)."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import (
    days_option,
    emit_json,
    json_option,
    shorten,
    table,
    write_control,
)
from mendcrm.model import to_iso


class _TerminalProgress:
    """Objects fetched per calendar, on one rewritten stderr line (only on a terminal)."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, calendar: str, fetched: int) -> None:
        write_control(sys.stderr, "\r\033[K")
        sys.stderr.write(f"syncing {shorten(calendar, 50)}: {fetched} objects fetched")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            write_control(sys.stderr, "\r\033[K")
            sys.stderr.flush()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the pass's summary as JSON.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Only this account or feed, by its name in the config (repeatable); prefix it with "
    "account: or feed: where two share a name.",
)
@click.option(
    "--no-deliver", is_flag=True, help="Plan and annotate, but leave due notes for the daemon."
)
@click.option(
    "--full",
    is_flag=True,
    help="Detect and plan from everything, even when nothing they read has changed "
    "(and render every note again).",
)
@pass_app
def sync(
    app: AppContext, as_json: bool, sources: tuple[str, ...], no_deliver: bool, full: bool
) -> None:
    """Run one pass: fetch calendars, detect encounters, plan the queue, annotate, deliver."""
    from mendcrm.daemon.health import record_manual_sync
    from mendcrm.delivery import deliver_due
    from mendcrm.pipeline import sync_pass
    from mendcrm.plugins import make_plugin_manager
    from mendcrm.sources.selection import configured_sources, select_sources

    config = app.config
    if not config.accounts and not config.feeds and not config.programmes:
        raise click.UsageError(
            "no calendars configured: add one with `mendcrm account add`, a [[feeds]] entry "
            "or `mendcrm programme add`"
        )
    # Sources left out keep their stored calendars and encounters untouched this pass.
    only = select_sources(config, sources) if sources else None
    progress = _TerminalProgress() if sys.stderr.isatty() and not as_json else None
    manager = make_plugin_manager(config)
    try:
        summary = sync_pass(
            config,
            app.store,
            clock=app.clock,
            plugin_manager=manager,
            progress=progress,
            only=only,
            force=True,  # the user asked now: do not wait out a failing source's back-off
            incremental=not full,
        )
    finally:
        if progress is not None:
            progress.close()
    synced = [r.source for r in summary.sync.sources]
    record_manual_sync(app.store, app.clock.now(), synced, summary.errors)
    delivered = (
        [] if no_deliver else deliver_due(app.store, config, manager, clock=app.clock).delivered
    )
    if as_json:
        emit_json(summary.to_json() | {"delivered": delivered})
    else:
        rows = [
            [
                r.source,
                shorten(r.name or r.calendar, 30),
                r.method or "-",
                str(r.fetched),
                str(r.changed),
                str(r.deleted),
                str(r.occurrences),
                str(r.requests),
                f"{r.seconds:.2f}",
            ]
            for r in summary.reports
        ]
        table(
            rows,
            [
                "SOURCE",
                "CALENDAR",
                "METHOD",
                "FETCHED",
                "CHANGED",
                "DELETED",
                "OCCURRENCES",
                "REQUESTS",
                "SECONDS",
            ],
        )
        plan = summary.plan
        click.echo(
            f"encounters: {len(plan.detected)} new, {len(plan.changed)} changed, "
            f"{len(plan.withdrawn)} withdrawn; {summary.due} notes due"
            + (f", {len(delivered)} delivered through plugins" if delivered else "")
        )
    for warning in summary.warnings:
        click.echo(f"mendcrm: warning: {warning}", err=True)
    for source, error in summary.errors.items():
        click.echo(f"mendcrm: error: {source}: {error}", err=True)
    attempted = only if only is not None else set(configured_sources(config))
    if summary.errors and attempted <= set(summary.errors):
        sys.exit(1)  # nothing could be synced at all


@click.command()
@days_option
@json_option
@pass_app
def events(app: AppContext, days: int | None, as_json: bool) -> None:
    """Show the occurrences MendCRM saw at its last sync, in the window ahead."""
    from mendcrm.events.window import Span
    from mendcrm.render import describe_when, user_zone
    from mendcrm.sources.state import calendar_occurrences

    now = app.clock.now()
    ahead = timedelta(days=days or app.config.sync.lookahead_days)
    span = Span(now - timedelta(days=1), now + ahead)
    with app.store.read() as view:
        docs = [d for d in view.all("sync_state") if d.get("kind") == "calendar"]
    found = sorted(
        (o for doc in docs for o in calendar_occurrences(doc, span)), key=lambda o: (o.start, o.uid)
    )
    if as_json:
        emit_json([o.to_record() | {"start": to_iso(o.start), "end": to_iso(o.end)} for o in found])
        return
    if not found:
        click.echo("no events in the window: run `mendcrm sync` first?", err=True)
        return
    zone = user_zone(app.config.me)
    table(
        [
            [
                describe_when(o.start, o.end, zone, all_day=o.all_day),
                shorten(o.summary, 40),
                shorten(o.calendar_name or o.calendar, 20),
                str(len(o.attendees)),
                o.my_partstat or "",
            ]
            for o in found
        ],
        ["WHEN", "SUMMARY", "CALENDAR", "ATTENDEES", "YOU"],
    )
