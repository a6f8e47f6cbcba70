"""CalDAV discovery: from an account's URL to its calendars.

The URL may be a server root, a principal, a calendar home or one calendar. A root that refuses
PROPFIND (Nextcloud answers 405) leads on to ``/.well-known/caldav`` (RFC 6764 §5); the
principal gives the calendar home (RFC 4791 §6.2.1) and the user's calendar-user-address-set
(RFC 6638 §2.4.1); one PROPFIND on the home lists the calendars with their sync-token and ctag.
Every request goes through the account's :class:`~mendcrm.sources.transport.Transport`, which
keeps credentials to their protection space.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from mendcrm.config.model import AccountConfig
from mendcrm.errors import SourceError
from mendcrm.sources import davxml
from mendcrm.sources.davxml import CS, C, D, tag
from mendcrm.sources.member_loader import read_multistatus
from mendcrm.sources.results import CalendarInfo
from mendcrm.sources.transport import Transport


@dataclass(frozen=True, slots=True)
class DavCalendar:
    """A calendar as the listing shows it."""

    url: str
    name: str
    components: tuple[str, ...]
    token: str | None
    ctag: str | None
    sync_report: bool

    def info(self, selected: bool = True) -> CalendarInfo:
        return CalendarInfo(
            name=self.name,
            url=self.url,
            components=self.components,
            sync_token=self.token is not None or self.sync_report,
            ctag=self.ctag is not None,
            selected=selected,
        )


def multistatus(
    transport: Transport, url: str, method: str, body: str, depth: str | None
) -> davxml.Multistatus:
    headers = {"Content-Type": "application/xml; charset=utf-8"}
    if depth is not None:
        headers["Depth"] = depth
    status, found = read_multistatus(transport, url, method, body, headers)
    if status == 404:
        raise CollectionGone(f"{transport.where}: {url} was not found (404)")
    if status in (405, 501) and method == "PROPFIND":
        raise ServerFailed(
            f"{transport.where}: {davxml.href_path(url)} does not speak WebDAV "
            f"({status} to PROPFIND)",
            hint="check that the url points at the CalDAV server",
            status=status,
        )
    if found is None:
        raise ServerFailed(
            f"{transport.where}: {method} {davxml.href_path(url)} answered {status}",
            hint="the server may be down or misconfigured; MendCRM retries on the next sync",
            status=status,
        )
    return found


class CollectionGone(SourceError):
    """A stored URL no longer exists on the server."""


class ServerFailed(SourceError):
    """The server answered a request with an error status."""

    def __init__(self, message: str, *, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where an account's calendars are: the principal (if any) and the places to list, and
    the principal's calendar-user-address-set (RFC 6638 §2.4.1; empty if it offers none)."""

    principal: str
    targets: list[tuple[str, str]]
    addresses: tuple[str, ...] = ()


def discover(transport: Transport, url: str) -> Discovery:
    """Given the configured URL (server root, principal, calendar home or one calendar), return
    the places to list calendars from as (URL, Depth); raise SourceError if none is found.

    A URL that is no principal or calendar, or that refuses PROPFIND altogether (a Nextcloud
    server root answers 405), leads to the server's well-known entry point (RFC 6764 §5).
    """
    refused: ServerFailed | None = None
    try:
        found = _listing_targets_at(transport, url)
    except ServerFailed as exc:
        if exc.status not in (405, 501):
            raise
        refused, found = exc, None
    if found is not None:
        return found
    well_known = urljoin(url, "/.well-known/caldav")
    try:
        found = _listing_targets_at(transport, well_known)
    except ServerFailed:
        if refused is None:
            raise
        found = None
    if found is not None:
        return found
    if refused is not None:
        raise refused
    raise SourceError(
        f"{transport.where}: no CalDAV principal or calendar found at {url}",
        hint="give the server's CalDAV URL (its root, your principal, or a calendar)",
    )


def _listing_targets_at(transport: Transport, url: str) -> Discovery | None:
    try:
        found = multistatus(transport, url, "PROPFIND", davxml.PRINCIPAL_PROPS, "0")
    except CollectionGone:
        return None
    for member in found.members:
        principals = member.hrefs(tag(D, "current-user-principal"))
        principal = urljoin(url, principals[0]) if principals else ""
        if tag(C, "calendar") in member.children(tag(D, "resourcetype")):
            # A calendar URL: list it alone, but still learn who the user is from the principal.
            addresses = _principal(transport, principal)[1] if principal else ()
            return Discovery(principal, [(urljoin(url, member.href), "0")], addresses)
        if principal:
            homes, addresses = _principal(transport, principal)
            if not homes:
                raise SourceError(
                    f"{transport.where}: the principal {davxml.href_path(principal)} has no "
                    "calendar home",
                    hint="check the account on the server",
                )
            return Discovery(principal, [(home, "1") for home in homes], addresses)
    return None


def _principal(transport: Transport, principal: str) -> tuple[list[str], tuple[str, ...]]:
    """Return the principal's calendar homes (URLs) and calendar-user-address-set (the hrefs
    as written: mailto: URIs, paths, urn:uuid: values)."""
    found = multistatus(transport, principal, "PROPFIND", davxml.HOME_PROPS, "0")
    homes = [
        urljoin(principal, h) for m in found.members for h in m.hrefs(tag(C, "calendar-home-set"))
    ]
    addresses = tuple(
        dict.fromkeys(
            h.strip()
            for m in found.members
            for h in m.hrefs(tag(C, "calendar-user-address-set"))
            if h.strip()
        )
    )
    return homes, addresses


def list_calendars(
    transport: Transport, targets: list[tuple[str, str]], *, with_ctag: bool = False
) -> list[DavCalendar]:
    """Given the listing places, return every calendar there with its change markers."""
    calendars: list[DavCalendar] = []
    body = davxml.LISTING_PROPS_WITH_CTAG if with_ctag else davxml.LISTING_PROPS
    for url, depth in targets:
        found = multistatus(transport, url, "PROPFIND", body, depth)
        for member in found.members:
            if tag(C, "calendar") not in member.children(tag(D, "resourcetype")):
                continue
            full = urljoin(url, member.href)
            comp_set = member.props.get(tag(C, "supported-calendar-component-set"))
            comps = tuple(
                str(c.get("name", "")).upper()
                for c in (comp_set if comp_set is not None else [])
                if isinstance(c.tag, str)
            )
            reports = member.children(tag(D, "supported-report-set"))
            calendars.append(
                DavCalendar(
                    url=full,
                    name=member.text(tag(D, "displayname"))
                    or davxml.href_path(full).rstrip("/").rsplit("/", 1)[-1],
                    components=comps,
                    token=member.text(tag(D, "sync-token")) or None,
                    ctag=member.text(tag(CS, "getctag")) or None,
                    sync_report=tag(D, "sync-collection") in reports,
                )
            )
    return calendars


def current_token(transport: Transport, url: str) -> str | None:
    """Given a calendar's URL, return its DAV:sync-token property as the server holds it now
    (PROPFIND, Depth 0): the token a sync-collection REPORT would hand out (RFC 6578 §4), or
    None if the answer carries none. Raise SourceError (or a subclass) as any request does."""
    found = multistatus(transport, url, "PROPFIND", davxml.propfind("D:sync-token"), "0")
    own = davxml.href_path(url).rstrip("/")
    for member in found.members:
        if member.href.rstrip("/") == own:
            return member.text(tag(D, "sync-token")) or None
    return None


def _matches(calendar: DavCalendar, wanted: str) -> bool:
    wanted = wanted.strip()
    if "/" in wanted:
        return davxml.href_path(wanted).rstrip("/") == davxml.href_path(calendar.url).rstrip("/")
    return wanted.casefold() == calendar.name.casefold()


def select_calendars(account: AccountConfig, calendars: list[DavCalendar]) -> list[DavCalendar]:
    """Return the calendars to read: those named in ``calendars`` (default: every calendar that
    holds events), minus ``exclude`` and MendCRM's own annotation calendar."""
    chosen = []
    for calendar in calendars:
        if account.calendars:
            if not any(_matches(calendar, w) for w in account.calendars):
                continue
        elif calendar.components and "VEVENT" not in calendar.components:
            continue
        if any(_matches(calendar, w) for w in account.exclude):
            continue
        if account.annotation_calendar and _matches(calendar, account.annotation_calendar):
            continue
        chosen.append(calendar)
    return chosen


__all__ = [
    "CollectionGone",
    "DavCalendar",
    "Discovery",
    "ServerFailed",
    "current_token",
    "discover",
    "list_calendars",
    "multistatus",
    "select_calendars",
]
