"""The dedicated calendar: MendCRM's own calendar on the account's server, kept in step.

It holds one short prep event per encounter (ending when the encounter starts, free/busy
transparent, private, with an alarm) and one task per follow-up. What was written is remembered
in the account's annotation state: path, ETag and a hash of the content. A pass then costs one
PROPFIND (the calendar's ETags) and writes only what changed, so a pass with no change sends no
write at all.

Changes made in the user's apps are theirs: an edited annotation is not rewritten until MendCRM's
own content for it changes, a deleted one is not put back until then, and a task completed in a
tasks app is reported so the follow-up can be marked done.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import icalendar

from mendcrm.annotations import dav
from mendcrm.annotations.text import content_hash
from mendcrm.config.model import AccountConfig
from mendcrm.model import from_iso, to_iso
from mendcrm.sources import davxml
from mendcrm.sources.discovery import discover, list_calendars
from mendcrm.sources.transport import Transport

PRODID = "-//MendCRM//annotations//EN"
FILE_PREFIX = "mendcrm-"
"""Every object MendCRM writes to its calendar is named so; the user's own are left alone."""


class CalendarGone(Exception):
    """The dedicated calendar remembered in the state no longer exists."""


@dataclass(frozen=True, slots=True)
class Desired:
    """One object the dedicated calendar should hold: its key in the state and its content."""

    key: str
    kind: str
    content: Mapping[str, Any]
    queue_id: str = ""
    open: bool = True
    """For a task: whether the follow-up is still open in MendCRM (a remote completion counts)."""

    @property
    def name(self) -> str:
        return FILE_PREFIX + hashlib.sha256(self.key.encode()).hexdigest()[:24] + ".ics"

    @property
    def hash(self) -> str:
        return content_hash([self.kind, self.content])

    def text(self, now: datetime) -> str:
        """Return the object as iCalendar text, stamped ``now`` (DTSTAMP is not content)."""
        return render(self, now)


def prep_event(
    encounter_id: str,
    *,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    stage: str = "",
) -> Desired:
    """Return the prep event for an encounter (``stage`` only in full detail)."""
    content = {
        "uid": f"{FILE_PREFIX}{hashlib.sha256(encounter_id.encode()).hexdigest()[:24]}@mendcrm",
        "start": to_iso(start),
        "end": to_iso(end),
        "summary": summary,
        "description": description,
        "encounter": encounter_id,
        "stage": stage,
    }
    return Desired(key=f"event:{encounter_id}", kind="event", content=content)


def followup_task(
    item_id: str,
    *,
    due: datetime,
    summary: str,
    description: str,
    state: str,
    closed_at: datetime | None,
) -> Desired:
    """Return the task for a follow-up queue item in ``state``."""
    status = {"done": "COMPLETED", "dismissed": "CANCELLED"}.get(state, "NEEDS-ACTION")
    content = {
        "uid": f"{FILE_PREFIX}{hashlib.sha256(item_id.encode()).hexdigest()[:24]}@mendcrm",
        "due": to_iso(due),
        "summary": summary,
        "description": description,
        "status": status,
        "completed": to_iso(closed_at) if status == "COMPLETED" and closed_at else "",
        "item": item_id,
    }
    return Desired(
        key=f"todo:{item_id}",
        kind="todo",
        content=content,
        queue_id=item_id,
        open=state not in ("done", "dismissed"),
    )


def render(want: Desired, now: datetime) -> str:
    c = want.content
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if want.kind == "event":
        component: icalendar.cal.Component = icalendar.Event()
        component.add("uid", c["uid"])
        component.add("dtstamp", now)
        component.add("dtstart", from_iso(c["start"]))
        component.add("dtend", from_iso(c["end"]))
        component.add("summary", c["summary"])
        component.add("description", c["description"])
        # A prep block must not make the user look busy to colleagues checking free/busy.
        component.add("transp", "TRANSPARENT")
        component.add("class", "PRIVATE")
        component.add("x-mendcrm-encounter", c["encounter"])
        if c["stage"]:
            component.add("x-mendcrm-stage", c["stage"])
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", c["summary"])
        alarm.add("trigger", timedelta(0))
        component.add_component(alarm)
    else:
        component = icalendar.Todo()
        component.add("uid", c["uid"])
        component.add("dtstamp", now)
        component.add("summary", c["summary"])
        component.add("description", c["description"])
        component.add("due", from_iso(c["due"]))
        component.add("status", c["status"])
        if c["completed"]:
            component.add("completed", from_iso(c["completed"]))
        component.add("class", "PRIVATE")
        component.add("x-mendcrm-queue-item", c["item"])
    calendar.add_component(component)
    return calendar.to_ical().decode("utf-8")


# -- finding or creating the calendar ---------------------------------------------------------


def _names_match(found: str, wanted: str) -> bool:
    return found.strip().casefold() == wanted.strip().casefold()


def find_calendar(t: Transport, account: AccountConfig) -> tuple[str | None, str]:
    """Given an account, return (URL of its calendar named ``annotation_calendar`` or None, the
    calendar home where one would be created)."""
    wanted = account.annotation_calendar
    if "/" in wanted:
        return urljoin(account.url, wanted), ""
    targets = discover(t, account.url).targets
    # A URL that is one calendar: new calendars go beside it.
    homes = [
        url if depth == "1" else urljoin(url.rstrip("/") + "/", "..") for url, depth in targets
    ]
    listing = list_calendars(t, [(home, "1") for home in homes])
    for calendar in listing:
        if _names_match(calendar.name, wanted):
            return calendar.url, homes[0]
    return None, homes[0]


def ensure_calendar(
    t: Transport, account: AccountConfig, doc: dict[str, Any], *, create: bool = True
) -> str | None:
    """Given an account and its annotation state, return the dedicated calendar's URL, finding
    it by name or creating it (once) when ``create``; raise WriteRefused if the server will not
    create it."""
    if doc.get("calendar"):
        return str(doc["calendar"])
    url, home = find_calendar(t, account)
    if url is None and create:
        slug = "mendcrm"
        for _ in range(3):
            candidate = urljoin(home.rstrip("/") + "/", f"{slug}/")
            if dav.mkcalendar(t, candidate, account.annotation_calendar):
                url = candidate
                doc["created"] = True
                break
            slug = f"mendcrm-{uuid.uuid4().hex[:8]}"  # the plain name is taken by something else
        else:
            raise dav.WriteRefused(home, 403, "MKCALENDAR")
    if url is not None:
        doc["calendar"] = url
    return url


# -- keeping it in step -----------------------------------------------------------------------


def _completed(text: str) -> bool:
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError:
        return False
    for todo in calendar.walk("VTODO"):
        if str(todo.get("STATUS", "")).upper() == "COMPLETED" or todo.get("COMPLETED") is not None:
            return True
    return False


def reconcile(
    t: Transport, doc: dict[str, Any], desired: Mapping[str, Desired], *, now: datetime
) -> list[str]:
    """Bring the dedicated calendar in line with ``desired``, updating ``doc["items"]`` as each
    write succeeds; return the ids of follow-ups completed in the user's tasks app. Raise
    CalendarGone if the calendar no longer exists, WriteRefused if the server refuses a write."""
    calendar = str(doc["calendar"])
    listing = dav.list_etags(t, calendar)
    if listing is None:
        raise CalendarGone(calendar)
    base = davxml.href_path(calendar).rstrip("/") + "/"
    items: dict[str, dict[str, Any]] = doc.setdefault("items", {})
    mine = {k: v for k, v in items.items() if v.get("where") == "dedicated"}

    changed_tasks: list[str] = []
    for key, item in mine.items():
        server_etag = listing.get(item["href"])
        if server_etag is None:
            item["gone"], item["etag"] = True, ""
            continue
        item["gone"] = False
        if item.get("etag") and server_etag != item["etag"] and item["kind"] == "todo":
            changed_tasks.append(key)
        item["etag"] = server_etag  # an edit made in the user's apps is theirs to keep
    if changed_tasks:
        texts = dav.multiget(t, calendar, [mine[k]["href"] for k in changed_tasks])
        for key in changed_tasks:
            mine[key]["done_remote"] = _completed(texts.get(mine[key]["href"], ""))

    for key, item in list(mine.items()):
        if key in desired:
            continue
        if not item.get("gone"):
            _delete(t, calendar, item["href"], item.get("etag"))
        # Out of the listing too, or the clean-up of lost objects below would delete it again.
        listing.pop(item["href"], None)
        del items[key]

    wanted_paths = {base + want.name for want in desired.values()}
    tracked = {item["href"] for item in items.values() if item.get("where") == "dedicated"}
    for href in listing:
        name = href.rsplit("/", 1)[-1]
        if name.startswith(FILE_PREFIX) and href not in tracked and href not in wanted_paths:
            _delete(t, calendar, href, listing[href])  # left over from a lost state

    completed: list[str] = []
    for key, want in desired.items():
        href = base + want.name
        have: dict[str, Any] | None = items.get(key)
        if have is not None and have.get("where") != "dedicated":
            have = None
        if have is not None and have["hash"] == want.hash:
            pass
        elif (
            have is not None
            and not have.get("gone")
            and want.kind == "todo"
            and (
                not want.open and have.get("done_remote") and want.content["status"] == "COMPLETED"
            )
        ):
            have["hash"] = want.hash  # already completed in the tasks app: nothing to add
        else:
            if have is None:
                etag = listing.get(href)  # ours, from a state that was lost
            else:
                etag = None if have.get("gone") else have.get("etag")
            try:
                new_etag = dav.put(t, urljoin(calendar, want.name), want.text(now), etag=etag)
            except dav.Conflict:
                continue  # changed meanwhile; looked at again on the next pass
            have = {
                "where": "dedicated",
                "kind": want.kind,
                "href": href,
                "etag": new_etag,
                "hash": want.hash,
                "gone": False,
            }
            if want.queue_id:
                have["queue_id"] = want.queue_id
            items[key] = have
        if want.kind == "todo" and want.open and have.get("done_remote"):
            completed.append(want.queue_id)
    return completed


def _delete(t: Transport, calendar: str, href: str, etag: str | None) -> None:
    url = urljoin(calendar, href)
    try:
        dav.delete(t, url, etag=etag or None)
    except dav.Conflict:
        # Changed since the listing; it is still MendCRM's own object in MendCRM's calendar.
        dav.delete(t, url)


def clear(t: Transport, doc: dict[str, Any], *, remove_calendar: bool) -> list[str]:
    """Delete every object MendCRM wrote to its calendar (and the calendar itself if asked and
    MendCRM created it or it is left empty); return warnings."""
    warnings: list[str] = []
    calendar = doc.get("calendar")
    items: dict[str, dict[str, Any]] = doc.setdefault("items", {})
    if not calendar:
        return warnings
    listing = dav.list_etags(t, str(calendar))
    if listing is None:
        doc.pop("calendar", None)
        for key in [k for k, v in items.items() if v.get("where") == "dedicated"]:
            del items[key]
        return warnings
    for key, item in list(items.items()):
        if item.get("where") != "dedicated":
            continue
        if item["href"] in listing:
            _delete(t, str(calendar), item["href"], listing[item["href"]])
            listing.pop(item["href"])
        del items[key]
    for href in list(listing):
        if href.rsplit("/", 1)[-1].startswith(FILE_PREFIX):
            _delete(t, str(calendar), href, listing.pop(href))
    if remove_calendar:
        if doc.get("created") or not listing:
            dav.delete(t, str(calendar))
            doc.pop("calendar", None)
            doc.pop("created", None)
        else:
            warnings.append(
                f"kept the calendar {davxml.href_path(str(calendar))}: MendCRM did not create it "
                f"and it still holds {len(listing)} object(s) of yours"
            )
    return warnings


__all__ = [
    "FILE_PREFIX",
    "CalendarGone",
    "Desired",
    "clear",
    "ensure_calendar",
    "find_calendar",
    "followup_task",
    "prep_event",
    "reconcile",
    "render",
]
