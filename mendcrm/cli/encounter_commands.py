"""``mendcrm encounter dismiss|dismissed``: the user's "not this person"."""

from __future__ import annotations

import click

from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import emit_json, json_option, shorten, table
from mendcrm.model import to_iso


@click.group()
def encounter() -> None:
    """Dismiss an encounter that is not the person, and list what you dismissed."""


@encounter.command("dismiss")
@click.argument("encounter_id", metavar="ID")
@click.option(
    "--series",
    is_flag=True,
    help="Every instance of its series with that contact, future ones too.",
)
@pass_app
def dismiss(app: AppContext, encounter_id: str, series: bool) -> None:
    """Say encounter ID is not this person: withdraw it (and its notes) for good."""
    from mendcrm.dismissals import dismiss_encounter
    from mendcrm.retention import Retention

    with app.store.transaction() as tx:
        result = dismiss_encounter(
            tx,
            encounter_id,
            series=series,
            now=app.clock.now(),
            retention=Retention.of(app.config),
        )
    what = "every instance of the series of" if series else "encounter"
    summary = result.encounter.occurrence.summary or result.encounter.occurrence.uid
    click.echo(
        f"{what} {result.encounter.id} ({shorten(summary, 40)}) dismissed"
        + (" (already)" if result.already else "")
        + f"; {len(result.withdrawn)} withdrawn now, later syncs leave it out"
    )


@encounter.command("dismissed")
@json_option
@pass_app
def dismissed(app: AppContext, as_json: bool) -> None:
    """List the encounters and series you dismissed, most recent first."""
    from mendcrm import repository
    from mendcrm.dismissals import dismissals

    with app.store.read() as view:
        found = dismissals(view)
        names = {c.id: c.name for c in repository.contacts(view)}
    if as_json:
        emit_json(
            [
                {
                    "id": d.id,
                    "scope": d.scope,
                    "encounter_id": d.encounter_id,
                    "contact": {"id": d.contact_id, "name": names.get(d.contact_id, "")},
                    "uid": d.uid,
                    "summary": d.summary,
                    "start": to_iso(d.start) if d.start else None,
                    "dismissed_at": to_iso(d.at),
                }
                for d in found
            ]
        )
        return
    if not found:
        click.echo("nothing dismissed", err=True)
        return
    rows = [
        [
            d.encounter_id,
            d.scope,
            names.get(d.contact_id, d.contact_id),
            shorten(d.summary, 40),
            f"{d.at:%Y-%m-%d}",
        ]
        for d in found
    ]
    table(rows, ["ENCOUNTER", "SCOPE", "CONTACT", "EVENT", "DISMISSED"])


__all__ = ["encounter"]
