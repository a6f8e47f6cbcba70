"""``mendcrm programme add|list|show|attend|remove``: conference programmes, a thin shell over
:mod:`mendcrm.config.edit` (the config, comments kept) and :mod:`mendcrm.programmes.listing`."""

from __future__ import annotations

from typing import Any

import click

from mendcrm import repository
from mendcrm.cli.context import AppContext, pass_app
from mendcrm.cli.output import emit_json, json_option, table
from mendcrm.config.schema import PROGRAMME_FORMATS
from mendcrm.errors import NotFoundError, UsageError


@click.group()
def programme() -> None:
    """Add, list, show, attend and remove conference programmes."""


def _entry(app: AppContext, name: str) -> Any:
    entry = app.config.programme(name)
    if entry is None:
        known = ", ".join(p.name for p in app.config.programmes) or "none configured"
        raise NotFoundError(f"no programme named {name!r}", hint=f"known: {known}")
    return entry


def _state(app: AppContext, name: str) -> dict[str, Any] | None:
    with app.store.read() as view:
        return view.get("sync_state", f"programme:{name}")


@programme.command("add")
@click.argument("name")
@click.argument("location", metavar="URL|PATH")
@click.option("--format", "fmt", type=click.Choice(PROGRAMME_FORMATS), default=None)
@click.option("--timezone", default=None, help="IANA zone for times without a UTC offset.")
@pass_app
def add(app: AppContext, name: str, location: str, fmt: str | None, timezone: str | None) -> None:
    """Add programme NAME from an https URL (or loopback http) or a local file PATH."""
    from mendcrm.config.edit import add_programme
    from mendcrm.config.schema import PROGRAMME_KEYS
    from mendcrm.urls import url_problem

    entry: dict[str, Any] = {"name": name}
    if "://" in location:
        if url_problem(location) is not None:
            raise UsageError(
                f"{location!r} is not an https:// URL",
                hint="plain http is allowed only for localhost; or give a local file path",
            )
        entry["url"] = location
    else:
        entry["path"] = location
    if fmt:
        entry["format"] = fmt
    if timezone is not None:
        check = PROGRAMME_KEYS["timezone"].check
        problem = check(timezone) if check else None
        if problem:
            raise UsageError(f"--timezone {timezone!r} is not valid", hint=problem)
        entry["timezone"] = timezone
    add_programme(app.config_file, entry)
    click.echo(f"added programme {name} to {app.config_file}; `mendcrm sync` reads it")


@programme.command("list")
@json_option
@pass_app
def list_programmes(app: AppContext, as_json: bool) -> None:
    """List the programmes: format, title, dates, sessions, speakers, last fetch, error."""
    from mendcrm.programmes.listing import programme_row

    with app.store.read() as view:
        rows = [
            programme_row(p, view.get("sync_state", f"programme:{p.name}"))
            for p in app.config.programmes
        ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no programmes: add one with `mendcrm programme add NAME URL`", err=True)
        return
    table(
        [
            [
                r["name"],
                r["format"],
                r["title"] or "-",
                f"{r['first_day'] or '?'}…{r['last_day'] or '?'}",
                str(r["sessions"]),
                str(r["speakers"]),
                r["last_fetched"] or "never",
                r["error"] or "",
            ]
            for r in rows
        ],
        ["NAME", "FORMAT", "TITLE", "DATES", "SESSIONS", "SPEAKERS", "FETCHED", "ERROR"],
    )


@programme.command("show")
@click.argument("name")
@json_option
@pass_app
def show(app: AppContext, name: str, as_json: bool) -> None:
    """Show programme NAME's sessions, those where a flagged contact speaks first."""
    from mendcrm.programmes.listing import programme_detail

    entry = _entry(app, name)
    with app.store.read() as view:
        doc = view.get("sync_state", f"programme:{name}")
        detail = programme_detail(entry, doc, repository.contacts(view), repository.queue(view))
    if as_json:
        emit_json(detail)
        return
    click.echo(f"{detail['title'] or name}  ({detail['first_day']} … {detail['last_day']})")
    if detail["error"]:
        click.echo(f"last fetch failed: {detail['error']}")
    for item in detail["heads_ups"]:
        click.echo(f"heads-up [{item['state']}]: {item['title']}")
    for s in detail["sessions_detail"]:
        mark = "*" if s["flagged"] else " "
        who = ", ".join(p["name"] for p in s["speakers"]) or "-"
        click.echo(f"{mark} {s['start']}  {s['room'] or '-'}  {s['title']}  ({who})")
        for f in s["flagged"]:
            click.echo(f"    {f['contact']['name']}: {f['evidence']}, confidence {f['confidence']}")


@programme.command("attend")
@click.argument("name")
@pass_app
def attend(app: AppContext, name: str) -> None:
    """Mark programme NAME as attended, with or without a calendar event."""
    from mendcrm.config.edit import set_programme_key

    _entry(app, name)
    set_programme_key(app.config_file, name, "attend", True)
    click.echo(f"attending {name}: the next sync plans prep notes and follow-ups")


@programme.command("remove")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Remove programme NAME from the config (its encounters are kept one more sync)."""
    from mendcrm.config.edit import remove_programme

    if not remove_programme(app.config_file, name):
        raise NotFoundError(f"no programme named {name!r} in {app.config_file}")
    click.echo(f"removed programme {name}")
