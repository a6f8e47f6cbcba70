"""One annotation pass over every account, and ``annotations clear``.

The pipeline calls :func:`annotate_accounts` once per sync pass, after planning is committed and
outside the store lock (it talks to servers), and stores ``result.state`` in ``sync_state``.
Per account (``annotate`` = ``off`` | ``dedicated`` | ``inline``):

1. decide what should be annotated where (pure, :func:`mendcrm.annotations.plan.plan_account`):
   active encounters of this account that have not ended yet or are annotated already; their
   follow-ups; in inline mode, the encounters whose event is safe to change go inline and the
   others to the dedicated calendar;
2. inline blocks first (an event that turns out unsafe moves to the dedicated calendar), then
   the dedicated calendar, created only when something must go there.

An account whose server refuses writes gets one warning and the others carry on. Encounters
from read-only feeds are not annotated: there is nowhere to write them, and putting them into
some account's calendar would be a guess.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from mendcrm.addresses import user_addresses
from mendcrm.annotations import dav, dedicated, inline
from mendcrm.annotations.plan import AccountPlan, Words, plan_account, prep_event_for
from mendcrm.config.model import AccountConfig, Config
from mendcrm.errors import MendError
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.playbook import Playbook, load_playbook
from mendcrm.render import user_zone
from mendcrm.sources.caldav_account import make_transport, source_name
from mendcrm.sources.sync import make_env
from mendcrm.sources.transport import Transport

log = logging.getLogger(__name__)

STATE_PREFIX = "annotations:"
PasswordFor = Callable[[AccountConfig], str]


def state_id(account: str) -> str:
    """Return the id of an account's annotation state document in ``sync_state``."""
    return f"{STATE_PREFIX}{account}"


@dataclass
class AnnotationResult:
    """What a pass did: the state documents to store (by id), one warning per account that
    could not be annotated, follow-ups completed in a tasks app, and the requests sent."""

    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    completed_followups: list[str] = field(default_factory=list)
    requests: int = 0


# -- doing (I/O) --------------------------------------------------------------------------------


def _new_doc(account: AccountConfig, old: Mapping[str, Any] | None) -> dict[str, Any]:
    doc = copy.deepcopy(dict(old)) if old else {}
    doc.update(id=state_id(account.name), kind="annotations", account=account.name)
    doc.setdefault("items", {})
    return doc


def _transport(
    config: Config,
    account: AccountConfig,
    state: Mapping[str, Mapping[str, Any]],
    password_for: PasswordFor,
    now: datetime,
    sleep: Callable[[float], None],
) -> Transport:
    password = password_for(account) if account.username else ""
    auth = (state.get(source_name(account)) or {}).get("auth")  # what the sync found working
    return make_transport(account, password, make_env(config, now), auth, sleep)


def found_collections(
    state: Mapping[str, Mapping[str, Any]], account: AccountConfig, *, homes: bool = False
) -> set[str]:
    """Given the sync state, return the URLs of the account's calendars the sync found (and,
    with ``homes``, the calendar homes it listed them from): the only collections an inline
    annotation may read or write in."""
    source = source_name(account)
    found = {
        str(doc["calendar"])
        for doc in state.values()
        if doc.get("kind") == "calendar" and doc.get("source") == source and doc.get("calendar")
    }
    if homes:
        listing = (state.get(source) or {}).get("listing") or []
        found.update(str(target[0]) for target in listing if target)
    return found


def _refused_warning(account: AccountConfig, exc: dav.WriteRefused) -> str:
    return (
        f"account {account.name!r}: the server refuses MendCRM's writes ({exc}); this account's "
        "calendar annotations were skipped (hint: give the account write access, create a "
        f'calendar named "{account.annotation_calendar}" yourself, or set annotate = "off")'
    )


def _run_inline(
    t: Transport,
    account: AccountConfig,
    doc: dict[str, Any],
    plan: AccountPlan,
    words: Words,
    before_write: inline.BeforeWrite | None,
    warnings: list[str],
    collections: Collection[str],
) -> None:
    items: dict[str, dict[str, Any]] = doc["items"]
    me = words.mine
    for key, want in plan.inline.items():
        item = items.get(key)
        occurrence = want.encounters[0].occurrence
        refused_before = item is not None and item.get("where") == "elsewhere"
        if refused_before and item is not None and item.get("etag") == occurrence.etag:
            outcome = inline.Outcome("refused", occurrence.etag)  # unchanged since it was refused
        elif inline.already_there(item, want.hash, occurrence, want.block):
            continue
        else:
            # The href as the server listed it, read against the calendar it came from (which
            # may be on another host than the configured URL, as iCloud's are).
            url = urljoin(occurrence.calendar, want.href)
            outcome = inline.write(
                t,
                url,
                want.block,
                list(want.lines),
                me,
                collections=collections,
                before_write=before_write,
            )
        if outcome.status in ("written", "unchanged"):
            items[key] = {
                "where": "inline",
                "href": want.href,
                "calendar": occurrence.calendar,
                "etag": outcome.etag,
                "hash": want.hash,
                "encounters": [e.id for e in want.encounters],
            }
        elif outcome.status == "refused":
            log.info("annotating %s in the dedicated calendar: %s", want.href, outcome.reason)
            for encounter in want.encounters:
                contact = words.contacts[encounter.contact_id]
                fallback = prep_event_for(encounter, contact, account, words)
                plan.dedicated[fallback.key] = fallback
            # Remembered with its ETag, so an unchanged event is not read again next time.
            items[key] = {"where": "elsewhere", "href": want.href, "etag": outcome.etag}
        elif outcome.status == "busy":
            warnings.append(
                f"account {account.name!r}: {want.href} kept changing while MendCRM "
                "annotated it; trying again on the next sync"
            )
        else:
            items.pop(key, None)
    for key, item in list(items.items()):
        if key in plan.inline or item.get("where") not in ("inline", "elsewhere"):
            continue
        if item["where"] == "elsewhere":
            del items[key]
        else:
            _remove_inline(t, account, items, key, before_write, warnings, me, collections)


def _remove_inline(
    t: Transport,
    account: AccountConfig,
    items: dict[str, dict[str, Any]],
    key: str,
    before_write: inline.BeforeWrite | None,
    warnings: list[str],
    me: Collection[str],
    collections: Collection[str],
) -> None:
    href = items[key]["href"]
    base = items[key].get("calendar") or t.url  # an item stored without its calendar
    # The calendar it was written in was a found one when it was written.
    allowed = {*collections, *([base] if items[key].get("calendar") else [])}
    outcome = inline.write(
        t, urljoin(base, href), None, [], me, collections=allowed, before_write=before_write
    )
    if outcome.status == "busy":
        warnings.append(
            f"account {account.name!r}: {href} kept changing while MendCRM removed "
            "its note; trying again on the next sync"
        )
        return
    if outcome.status == "refused":
        # Changing it now would be sent to its attendees: leave it, and say so once.
        warnings.append(
            f"account {account.name!r}: left MendCRM's note in {href} because "
            f"{outcome.reason}; remove it by hand if you wish"
        )
    del items[key]


def _run_dedicated(
    t: Transport, account: AccountConfig, doc: dict[str, Any], plan: AccountPlan, now: datetime
) -> list[str]:
    tracked = any(v.get("where") == "dedicated" for v in doc["items"].values())
    if not plan.dedicated and not tracked:
        return []
    if dedicated.ensure_calendar(t, account, doc, create=bool(plan.dedicated)) is None:
        return []
    try:
        return dedicated.reconcile(t, doc, plan.dedicated, now=now)
    except dedicated.CalendarGone:
        # Deleted by the user or the server: start afresh (and create it again if needed).
        doc.pop("calendar", None)
        doc.pop("created", None)
        doc["items"] = {k: v for k, v in doc["items"].items() if v.get("where") != "dedicated"}
        if dedicated.ensure_calendar(t, account, doc, create=bool(plan.dedicated)) is None:
            return []
        return dedicated.reconcile(t, doc, plan.dedicated, now=now)


def _account_error(account: AccountConfig, exc: Exception) -> str:
    if isinstance(exc, dav.WriteRefused):
        return _refused_warning(account, exc)
    if isinstance(exc, MendError):
        return f"account {account.name!r}: calendar annotations skipped: {exc}"
    log.exception("annotating account %s failed unexpectedly", account.name)
    return f"account {account.name!r}: calendar annotations failed ({type(exc).__name__})"


def annotate_accounts(
    config: Config,
    encounters: Iterable[Encounter],
    queue_items: Iterable[QueueItem],
    contacts: Iterable[Contact],
    state: Mapping[str, Mapping[str, Any]],
    *,
    password_for: PasswordFor,
    now: datetime,
    playbook: Playbook | None = None,
    before_write: inline.BeforeWrite | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AnnotationResult:
    """Given the config, the stored encounters (active and withdrawn), queue items and contacts,
    and the ``sync_state`` documents by id, annotate every account's calendars and return the
    new annotation state documents, warnings, follow-ups completed remotely and the request
    count. Never raises for a server or account problem: that becomes a warning. Raise
    ConfigError only if ``[me] timezone`` or the playbook file is unusable."""
    encounters = list(encounters)
    queue_items = list(queue_items)
    if playbook is None and any(
        a.annotation_detail == "full" and a.annotate != "off" for a in config.accounts
    ):
        playbook = load_playbook(config.playbook)
    words = Words(
        config=config,
        zone=user_zone(config.me),
        playbook=playbook,
        contacts={c.id: c for c in contacts},
        preps={i.encounter_id: i for i in queue_items if i.kind == "prep" and i.encounter_id},
        mine=user_addresses(config.me.emails, state),
    )
    result = AnnotationResult()
    for account in config.accounts:
        old = state.get(state_id(account.name))
        doc = _new_doc(account, old)
        if account.annotate == "off":
            if old is not None:
                result.state[doc["id"]] = doc  # what was written stays until `annotations clear`
            continue
        plan = plan_account(account, doc, encounters, queue_items, words, now)
        if not plan.dedicated and not plan.inline and not doc["items"]:
            if old is not None:
                result.state[doc["id"]] = doc
            continue
        t: Transport | None = None
        try:
            t = _transport(config, account, state, password_for, now, sleep)
            found = found_collections(state, account)
            _run_inline(t, account, doc, plan, words, before_write, result.warnings, found)
            result.completed_followups += _run_dedicated(t, account, doc, plan, now)
        except Exception as exc:  # one account failing must not stop the others
            result.warnings.append(_account_error(account, exc))
        finally:
            if t is not None:
                result.requests += t.requests
                t.close()
        result.state[doc["id"]] = doc
    return result


def clear_accounts(
    config: Config,
    state: Mapping[str, Mapping[str, Any]],
    *,
    password_for: PasswordFor,
    now: datetime,
    accounts: Iterable[str] | None = None,
    remove_calendar: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> AnnotationResult:
    """Given the config and the stored annotation state, strip MendCRM's inline blocks, delete
    its objects from the dedicated calendar (and the calendar itself with ``remove_calendar``)
    for every account (or those named) and return the cleared state and any warnings."""
    names = set(accounts) if accounts is not None else None
    result = AnnotationResult()
    mine = user_addresses(config.me.emails, state)
    for account in config.accounts:
        if names is not None and account.name not in names:
            continue
        old = state.get(state_id(account.name))
        doc = _new_doc(account, old)
        if old is None and not remove_calendar:
            continue
        t: Transport | None = None
        try:
            t = _transport(config, account, state, password_for, now, sleep)
            items: dict[str, dict[str, Any]] = doc["items"]
            found = found_collections(state, account, homes=True)
            for key in [k for k, v in items.items() if v.get("where") == "inline"]:
                _remove_inline(t, account, items, key, None, result.warnings, mine, found)
            if not doc.get("calendar") and remove_calendar:
                doc["calendar"] = dedicated.find_calendar(t, account)[0]
            for warning in dedicated.clear(t, doc, remove_calendar=remove_calendar):
                result.warnings.append(f"account {account.name!r}: {warning}")
            if not doc.get("calendar"):
                doc.pop("calendar", None)
        except Exception as exc:
            result.warnings.append(_account_error(account, exc))
        finally:
            if t is not None:
                result.requests += t.requests
                t.close()
        result.state[doc["id"]] = doc
    return result


__all__ = [
    "STATE_PREFIX",
    "AnnotationResult",
    "annotate_accounts",
    "clear_accounts",
    "state_id",
]
