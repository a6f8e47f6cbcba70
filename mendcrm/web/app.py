"""The page's application: the guard every request passes, the routes, the templates.

:func:`make_app` builds a Starlette application over a :class:`Site` (config, store, clock,
sessions). Pages (:mod:`mendcrm.web.pages`) read the store; actions (:mod:`mendcrm.web.actions`)
change it through :mod:`mendcrm.changes`, the functions the CLI uses, in the store's transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mendcrm.clock import Clock
from mendcrm.config.model import Config
from mendcrm.store import Store
from mendcrm.web.security import HEADERS, Sessions

HERE = Path(__file__).parent


@dataclass
class Site:
    """What the page works on: the config, the store, the clock, the sessions and the Host
    header values it answers to; ``password_for`` reads account passwords (forgetting a
    contact removes their calendar annotations)."""

    config: Config
    store: Store
    clock: Clock
    sessions: Sessions
    hosts: frozenset[str]
    password_for: Callable[[Any], str] | None = None
    templates: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Given a request, a template and its values, return the page (with the CSRF token,
        the discreet switch and a message carried in ``?note=``)."""
        template = self.templates.get_template(name)
        session = request.cookies.get(self.sessions.cookie)
        text = template.render(
            csrf=self.sessions.csrf_of(session) or "",
            discreet=request.cookies.get(f"{self.sessions.cookie}_discreet") == "1",
            note=request.query_params.get("note", "")[:300],
            path=request.url.path,
            **context,
        )
        return HTMLResponse(text, status_code=status)


class Guard:
    """ASGI middleware: the Host check, the token exchange, the session, CSRF on POST and the
    security headers, before any route runs (static files included)."""

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        answer = await self._check(request)
        if answer is not None:
            await _with_headers(answer)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                known = {k.lower() for k, _ in headers}
                for key, value in HEADERS.items():
                    if key.lower().encode() not in known:
                        headers.append((key.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _check(self, request: Request) -> Response | None:
        sessions = self.site.sessions
        host = request.headers.get("host", "")
        if host not in self.site.hosts:
            return PlainTextResponse("unknown host", status_code=403)
        secure = sessions.secure or request.url.scheme == "https"
        token = request.query_params.get("token")
        if token is not None:
            if not sessions.token_ok(token):
                return PlainTextResponse("wrong or old token", status_code=401)
            if sessions.password is not None:  # off loopback: the password is still to come
                answer = RedirectResponse("/login", status_code=303)
                _cookie(answer, sessions.login_cookie, sessions.start_login(), secure)
                return answer
            rest = [(k, v) for k, v in parse_qsl(request.url.query) if k != "token"]
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            answer = RedirectResponse(target, status_code=303)
            _cookie(answer, sessions.cookie, sessions.start(), secure)
            return answer
        if request.url.path == "/login" and sessions.password is not None:
            return await self._login(request, secure)
        if (
            request.url.path.startswith("/static/")
            and request.method == "GET"
            and sessions.login_csrf_of(request.cookies.get(sessions.login_cookie))
        ):
            return None  # the login form's style sheet
        session = request.cookies.get(sessions.cookie)
        if sessions.csrf_of(session) is None:
            return PlainTextResponse(
                "open the page with the link `mendcrm ui --url` prints", status_code=401
            )
        if request.method not in ("GET", "HEAD"):
            if request.method != "POST":
                return PlainTextResponse("method not allowed", status_code=405)
            form = await request.form()
            request.scope["mendcrm.form"] = dict(form)  # the body is read once; actions use this
            given = form.get("csrf")
            if not sessions.csrf_ok(session, given if isinstance(given, str) else None):
                return PlainTextResponse("missing or wrong form token", status_code=403)
        return None

    async def _login(self, request: Request, secure: bool) -> Response:
        """The login form (GET) and its answer (POST): only a started login (the token was
        right) sees it; a client that failed too often waits; the right password starts the
        session and ends the login."""
        sessions = self.site.sessions
        login = request.cookies.get(sessions.login_cookie)
        csrf = sessions.login_csrf_of(login)
        if csrf is None:
            return PlainTextResponse(
                "open the page with the link `mendcrm ui --url` prints", status_code=401
            )
        if request.method == "GET":
            return self._login_form(csrf, "", 200)
        if request.method != "POST":
            return PlainTextResponse("method not allowed", status_code=405)
        client = request.client.host if request.client else ""
        wait = sessions.wait_for(client)
        if wait > 0:
            seconds = math.ceil(wait)
            busy = self._login_form(csrf, f"Too many wrong passwords: wait {seconds} s.", 429)
            busy.headers["Retry-After"] = str(seconds)  # RFC 9110 §10.2.3: whole seconds
            return busy
        form = await request.form()
        given, password = form.get("csrf"), form.get("password")
        try:
            session = sessions.log_in(
                login,
                given if isinstance(given, str) else None,
                password if isinstance(password, str) else "",
                client,
            )
        except PermissionError as exc:
            if str(exc) == "wrong password":
                return self._login_form(csrf, "Wrong password.", 401)
            return PlainTextResponse("missing or wrong form token", status_code=403)
        answer = RedirectResponse("/", status_code=303)
        _cookie(answer, sessions.cookie, session, secure)
        answer.delete_cookie(sessions.login_cookie, path="/")
        return answer

    def _login_form(self, csrf: str, message: str, status: int) -> HTMLResponse:
        text = self.site.templates.get_template("login.html").render(csrf=csrf, message=message)
        return HTMLResponse(text, status_code=status)


def _cookie(response: Response, name: str, value: str, secure: bool) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, path="/")


def _with_headers(response: Response) -> Response:
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def cookie_header(name: str, value: str) -> str:
    """Given a cookie's name and value, return a Cookie header (for tests and tools)."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    return jar.output(header="", sep=";").strip()


def make_app(site: Site) -> Starlette:
    """Given the site, return the page's ASGI application."""
    from mendcrm.web import actions, pages

    routes = [
        Route("/", pages.today),
        Route("/prep/{item_id}", pages.prep_note),
        Route("/people", pages.people),
        Route("/people/new", pages.new_contact),
        Route("/people/{contact_id}", pages.contact),
        Route("/people/{contact_id}/edit", pages.edit_contact),
        Route("/backup", pages.backup_download),
        *actions.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.site = site
    return app


def guarded(site: Site) -> ASGIApp:
    """Given the site, return the application behind its guard: what the server runs."""
    return Guard(make_app(site), site)


__all__ = ["Guard", "Site", "cookie_header", "guarded", "make_app"]
