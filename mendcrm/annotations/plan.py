"""What should be annotated where, worked out from the pipeline's records alone (pure).

:func:`plan_account` turns one account's active encounters and follow-ups into an
:class:`AccountPlan`: inline blocks for events that are safe to change, prep events and
follow-up tasks for the dedicated calendar. It sends no request; :mod:`mendcrm.annotations.run`
carries the plan out and may move an inline want to the dedicated calendar when the server's
copy of the event turns out unsafe. Kept apart so the rules can be read and tested without a
server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from mendcrm.annotations import dedicated, inline
from mendcrm.annotations.contentlines import PREFIX
from mendcrm.annotations.markers import make_block
from mendcrm.annotations.text import (
    content_hash,
    event_description,
    event_title,
    inline_line,
    todo_description,
    todo_title,
)
from mendcrm.config.model import AccountConfig, Config
from mendcrm.due_times import UserDay, evening_before
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.playbook import Playbook
from mendcrm.sources.caldav_account import source_name


@dataclass(frozen=True, slots=True)
class InlineWant:
    """MendCRM's block for one event: where, what, and the encounters it speaks for."""

    key: str
    href: str
    block: str
    lines: tuple[str, ...]
    encounters: tuple[Encounter, ...]

    @property
    def hash(self) -> str:
        return content_hash([self.block, list(self.lines)])


@dataclass
class AccountPlan:
    """One account's wants, by state key: objects for the dedicated calendar and inline blocks."""

    dedicated: dict[str, dedicated.Desired] = field(default_factory=dict)
    inline: dict[str, InlineWant] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Words:
    """What the text of an annotation depends on besides its encounter."""

    config: Config
    zone: tzinfo
    playbook: Playbook | None
    contacts: Mapping[str, Contact]
    preps: Mapping[str, QueueItem]
    mine: frozenset[str] = frozenset()
    """The user's identities: ``[me] emails`` and the principals' calendar-user-address-sets."""


def prep_event_for(
    encounter: Encounter, contact: Contact, account: AccountConfig, words: Words
) -> dedicated.Desired:
    """Given an encounter, its contact, the account and the words, return the prep event for
    the dedicated calendar: ``annotation_minutes`` long, ending when the encounter starts (an
    all-day encounter's starts at ``[prep] conference_evening_hour`` the evening before)."""
    occ = encounter.occurrence
    length = timedelta(minutes=max(1, account.annotation_minutes))
    if occ.all_day:
        # Ending at midnight would ring in the night: the evening before, as for conferences,
        # inside the user's day (the one rule for that evening, in mendcrm.due_times).
        start = evening_before(
            occ.start,
            words.config.prep.conference_evening_hour,
            UserDay.of(words.config, words.zone),
        )
        end = start + length
    else:
        end = occ.start
        start = end - length
    detail = account.annotation_detail
    prep = words.preps.get(encounter.id)
    return dedicated.prep_event(
        encounter.id,
        start=start,
        end=end,
        summary=event_title(contact, detail, words.playbook),
        description=event_description(
            contact,
            encounter,
            zone=words.zone,
            detail=detail,
            playbook=words.playbook,
            prep_id=prep.id if prep is not None else None,
        ),
        stage=contact.stage if detail == "full" else "",
    )


def _inline_want(
    href: str, group: list[tuple[Encounter, Contact]], account: AccountConfig, words: Words
) -> InlineWant:
    group = sorted(group, key=lambda pair: (pair[1].name, pair[0].id))
    detail = account.annotation_detail
    block = make_block(
        [inline_line(c, zone=words.zone, detail=detail, playbook=words.playbook) for _, c in group]
    )
    lines = [f"{PREFIX}ENCOUNTER:{e.id}" for e, _ in group]
    if detail == "full":
        # Discreet mode writes no stage: the event may sit in a calendar others can read.
        lines += [f"{PREFIX}STAGE;{PREFIX}ENCOUNTER={e.id}:{c.stage}" for e, c in group]
    return InlineWant(f"inline:{href}", href, block, tuple(lines), tuple(e for e, _ in group))


def plan_account(
    account: AccountConfig,
    doc: Mapping[str, Any],
    encounters: Iterable[Encounter],
    queue_items: Iterable[QueueItem],
    words: Words,
    now: datetime,
) -> AccountPlan:
    """Given an account, its annotation state and the pipeline's records, return what should be
    annotated where (before any server says otherwise)."""
    source = source_name(account)
    items = doc.get("items") or {}
    mine = {e.id: e for e in encounters if e.occurrence.source == source}
    plan = AccountPlan()
    groups: dict[str, list[tuple[Encounter, Contact]]] = {}
    inline_ids = {e for i in items.values() for e in i.get("encounters") or ()}
    for encounter in sorted(mine.values(), key=lambda e: e.id):
        contact = words.contacts.get(encounter.contact_id)
        href = encounter.occurrence.href
        known = f"event:{encounter.id}" in items or encounter.id in inline_ids
        if (
            encounter.state != "active"
            or contact is None
            or (encounter.occurrence.end <= now and not known)
        ):
            continue
        if (
            account.annotate == "inline"
            and inline.occurrence_refusal(encounter.occurrence, words.mine) is None
        ):
            groups.setdefault(href, []).append((encounter, contact))
        else:
            want = prep_event_for(encounter, contact, account, words)
            plan.dedicated[want.key] = want
    for href, group in groups.items():
        want_inline = _inline_want(href, group, account, words)
        plan.inline[want_inline.key] = want_inline
    for item in queue_items:
        if item.kind != "followup":
            continue
        key = f"todo:{item.id}"
        met = mine.get(item.encounter_id or "")
        if met is None and key not in items:
            continue
        if item.state == "withdrawn" or (item.state in ("done", "dismissed") and key not in items):
            continue
        contact = words.contacts.get(item.contact_id)
        if contact is None:
            continue
        detail = account.annotation_detail
        want = dedicated.followup_task(
            item.id,
            due=item.due,
            summary=todo_title(contact),
            description=todo_description(
                contact,
                met,
                zone=words.zone,
                detail=detail,
                playbook=words.playbook,
                item_id=item.id,
            ),
            state=item.state,
            closed_at=item.closed_at,
        )
        plan.dedicated[want.key] = want
    return plan


__all__ = [
    "AccountPlan",
    "InlineWant",
    "Words",
    "plan_account",
    "prep_event_for",
]
