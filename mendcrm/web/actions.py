"""The page's actions: plain HTML form POSTs, each one call of :mod:`mendcrm.changes` (the
functions the CLI uses) in one store transaction, answered by a redirect (303, so a reload does
not post again) to the page to see, with a short message. A refused request shows why, with 400.

The guard (:class:`mendcrm.web.app.Guard`) has checked the session and the CSRF token and parsed
the form before any of these runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mendcrm import changes
from mendcrm.dismissals import dismiss_encounter
from mendcrm.errors import MendError
from mendcrm.retention import Retention
from mendcrm.web.app import Site
from mendcrm.web.pages import site_of

Handler = Callable[[Request], Awaitable[Response]]


def _form(request: Request) -> dict[str, str]:
    raw: dict[str, Any] = request.scope.get("mendcrm.form", {})
    return {k: v for k, v in raw.items() if isinstance(v, str)}


def _back(target: str, note: str) -> Response:
    # Only a path on this site: a form field must not send the browser elsewhere.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    return RedirectResponse(f"{target}?note={quote(note)}" if note else target, status_code=303)


def action(work: Callable[[Site, Request, dict[str, str]], tuple[str, str]]) -> Handler:
    """Given the work of an action (site, request, form → (where to go, what to say)), return
    the endpoint: the work runs in a worker thread; a MendError becomes a 400 page saying why."""

    async def endpoint(request: Request) -> Response:
        site = site_of(request)
        form = _form(request)
        try:
            target, note = await run_in_threadpool(work, site, request, form)
        except MendError as exc:
            return site.page(request, "error.html", 400, title="Not done", message=str(exc))
        return _back(target, note)

    return endpoint


def _log(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    contact_id = request.path_params["contact_id"]
    now = site.clock.now()
    with site.store.transaction() as tx:
        person, recorded = changes.log_outcome(
            tx,
            contact_id,
            outcome=form.get("outcome", ""),
            note=form.get("note", ""),
            kind=form.get("kind") or "conversation",
            refused=form.get("refused") == "on",
            when=now,
            now=now,
            playbook_path=site.config.playbook,
        )
    moved = recorded.stage_after != recorded.stage_before
    return f"/people/{person.id}", "logged" + (", and the stage moved" if moved else "")


def _done(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    with site.store.transaction() as tx:
        closed = changes.close_followup(
            tx,
            request.path_params["item_id"],
            now=site.clock.now(),
            outcome=form.get("outcome") or None,
            note=form.get("note", ""),
            playbook_path=site.config.playbook,
            retention=Retention.of(site.config),
        )
    return form.get("back") or "/", f"{closed.item.kind} done"


def _dismiss(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    with site.store.transaction() as tx:
        closed = changes.close_followup(
            tx,
            request.path_params["item_id"],
            now=site.clock.now(),
            dismiss=True,
            retention=Retention.of(site.config),
        )
    return form.get("back") or "/", f"{closed.item.kind} dismissed"


def _snooze(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    try:
        hours = max(1, min(24 * 60, int(form.get("hours") or 24)))
    except ValueError:
        hours = 24
    now = site.clock.now()
    with site.store.transaction() as tx:
        item = changes.snooze(
            tx, request.path_params["item_id"], until=now + timedelta(hours=hours), now=now
        )
    return form.get("back") or "/", f"{item.kind} put off"


def _not_them(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    with site.store.transaction() as tx:
        dismiss_encounter(
            tx,
            request.path_params["encounter_id"],
            series=form.get("series") == "on",
            now=site.clock.now(),
        )
    return form.get("back") or "/", "noted: not this person"


def _stage(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    with site.store.transaction() as tx:
        person = changes.set_stage(
            tx, request.path_params["contact_id"], form.get("stage", ""), now=site.clock.now()
        )
    return f"/people/{person.id}", "stage set"


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _fields(form: dict[str, str]) -> dict[str, Any]:
    return {
        "emails": _lines(form.get("emails", "")),
        "aliases": _lines(form.get("aliases", "")),
        "affinity": _lines(form.get("affinity", "")),
        **{key: form.get(key, "") for key in changes.TEXT_FIELDS},
    }


def _add(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    with site.store.transaction() as tx:
        person = changes.add_contact(
            tx,
            form.get("name", ""),
            now=site.clock.now(),
            stage=form.get("stage") or "none",
            **_fields(form),
        )
    return f"/people/{person.id}", "added"


def _edit(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    with site.store.transaction() as tx:
        person = changes.edit_contact(
            tx,
            request.path_params["contact_id"],
            now=site.clock.now(),
            name=form.get("name"),
            stage=form.get("stage") or None,
            **_fields(form),
        )
    return f"/people/{person.id}", "saved"


def _forget(site: Site, request: Request, form: dict[str, str]) -> tuple[str, str]:
    from mendcrm.errors import UsageError
    from mendcrm.forgetting import finish_removals, forget_in, scrub_copies
    from mendcrm.plugins import make_plugin_manager

    if form.get("confirm") != "on":
        raise UsageError("tick the box to confirm that MendCRM should forget this person")
    now = site.clock.now()
    with site.store.transaction() as tx:
        forgotten = forget_in(tx, request.path_params["contact_id"], now=now)
    if site.password_for is not None:
        finish_removals(
            site.config,
            site.store,
            now=now,
            password_for=site.password_for,
            plugin_manager=make_plugin_manager(site.config),
        )
    scrub_copies(site.store, [forgotten.contact.id])
    return "/people", "forgotten"


async def discreet(request: Request) -> Response:
    """Switch discreet mode (history and notes hidden on screen) for this browser."""
    site = site_of(request)
    form = _form(request)
    name = f"{site.sessions.cookie}_discreet"
    on = request.cookies.get(name) != "1"
    answer = _back(form.get("back") or "/", "")
    answer.set_cookie(name, "1" if on else "0", httponly=True, samesite="strict", path="/")
    return answer


def routes() -> list[Route]:
    """Return the action routes (POST only)."""
    post = ["POST"]
    return [
        Route("/people", action(_add), methods=post),
        Route("/people/{contact_id}/edit", action(_edit), methods=post),
        Route("/people/{contact_id}/log", action(_log), methods=post),
        Route("/people/{contact_id}/stage", action(_stage), methods=post),
        Route("/people/{contact_id}/forget", action(_forget), methods=post),
        Route("/followups/{item_id}/done", action(_done), methods=post),
        Route("/followups/{item_id}/dismiss", action(_dismiss), methods=post),
        Route("/items/{item_id}/snooze", action(_snooze), methods=post),
        Route("/encounters/{encounter_id}/dismiss", action(_not_them), methods=post),
        Route("/discreet", discreet, methods=post),
    ]


__all__ = ["action", "discreet", "routes"]
