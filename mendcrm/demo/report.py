"""The demo's report: what MendCRM found, one prep note in full, and where it wrote things."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mendcrm import repository
from mendcrm.clock import Clock
from mendcrm.render import describe_when, match_reason, user_zone

if TYPE_CHECKING:
    from mendcrm.demo.run import DemoRun
    from mendcrm.pipeline import PassSummary

Echo = Callable[[str], None]
RULE = "─" * 72


def _heading(echo: Echo, text: str) -> None:
    echo(f"\n{text}\n{'─' * len(text)}")


def print_report(run: DemoRun, summary: PassSummary, clock: Clock, echo: Echo) -> None:
    """Given the finished demo pass, print the report a newcomer reads."""
    zone = user_zone(run.config.me)
    now = clock.now()
    with run.store.read() as view:
        contacts = {c.id: c for c in repository.contacts(view)}
        encounters = [
            e
            for e in repository.encounters(view)
            if e.state == "active" and e.occurrence.end >= now
        ]
        queue = repository.queue(view)
        annotation_docs = [d for d in view.all("sync_state") if d["id"].startswith("annotations:")]

    fetched = sum(r.fetched for r in summary.reports)
    echo(
        f"Synced {len(summary.reports)} calendar(s): {fetched} objects, "
        f"{len(summary.sync.occurrences)} occurrences in the next "
        f"{run.config.sync.lookahead_days} days, in {summary.seconds:.1f} s."
    )

    _heading(echo, f"Upcoming encounters ({len(encounters)})")
    for e in encounters:
        occ = e.occurrence
        person = contacts[e.contact_id]
        echo(f"• {person.name} [{person.stage}] — {occ.summary} ({e.kind})")
        echo(f"    {describe_when(occ.start, occ.end, zone, all_day=occ.all_day)}")
        echo(f"    why: {match_reason(e)}, confidence {e.match.confidence:.2f}")
    matched = {e.occurrence.uid for e in encounters}
    skipped = [ev for ev in _sample_events(now) if ev.uid not in matched]
    if skipped:
        echo("  Not encounters: " + "; ".join(ev.purpose for ev in skipped) + ".")

    prep = sorted(
        (i for i in queue if i.kind == "prep" and i.state in ("due", "delivered")),
        key=lambda i: i.due,
    ) or sorted(
        (i for i in queue if i.kind == "prep" and i.state == "pending"), key=lambda i: i.due
    )
    if prep:
        _heading(echo, "A prep note, in full")
        echo(prep[0].body.rstrip())

    followups = [i for i in queue if i.kind in ("followup", "nudge") and i.state != "withdrawn"]
    _heading(echo, f"Follow-ups queued ({len(followups)})")
    for item in sorted(followups, key=lambda i: i.due):
        who = contacts[item.contact_id].name
        echo(f"• {item.due.astimezone(zone):%a %d %b %H:%M}  {item.kind:<8} {who}: {item.title}")

    _heading(echo, "Where MendCRM wrote")
    for doc in annotation_docs:
        echo(f"• calendar annotations ({doc['id'].split(':', 1)[1]}): {_calendar_url(doc)}")
    notes = sorted(run.notes.glob("**/*.md")) if run.notes.exists() else []
    echo(
        f"• markdown notes: {run.notes} ({len(notes)} file(s): "
        f"{', '.join(n.name for n in notes[:4])}{'…' if len(notes) > 4 else ''})"
    )
    echo(f"• store: {run.store.path}")
    echo("  (all of it is removed when the demo ends; `mendcrm demo --keep` leaves it to explore)")
    delivered = [i for i in queue if i.state == "delivered"]
    echo(
        f"• delivered through plugins just now: {len(delivered)} note(s)"
        if delivered
        else "• nothing was due yet, so nothing was delivered"
    )


def _sample_events(now: Any) -> list[Any]:
    from mendcrm.demo import sample

    return sample.events(now)


def _calendar_url(doc: dict[str, Any]) -> str:
    return str(doc.get("calendar_url") or doc.get("calendar") or "(not created: see warnings)")
