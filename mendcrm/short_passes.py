"""The passes that skip the full recomputation, and what they share with it.

A pass whose inputs the memo (:mod:`mendcrm.pass_memo`) still covers either does nothing
(:func:`nothing_to_do`, decided without the store's lock) or only marks due what has fallen
due (:func:`mark_due_only`); one where only some calendar objects, or only the planning inputs
of some contacts, changed detects and plans those alone (:func:`changed_only`,
:mod:`mendcrm.changed_pass`). :mod:`mendcrm.planning_stage` decides which runs; the full pass
stays there.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mendcrm import repository
from mendcrm.departed import DEPARTED_ID
from mendcrm.model import QueueItem
from mendcrm.retention import Retention, prune
from mendcrm.store import Store, Transaction

if TYPE_CHECKING:
    from mendcrm.config.model import Config
    from mendcrm.pass_memo import PassMemo, Tables
    from mendcrm.planning import Plan
    from mendcrm.playbook import Playbook
    from mendcrm.render import Renderer
    from mendcrm.sources.results import SyncResult


def write_sync_state(tx: Transaction, sync: SyncResult, held: set[str]) -> None:
    for key in sync.stale_keys:
        doc = tx.get("sync_state", key) or {}
        if not is_annotation_state(key) and doc.get("source") not in held:
            tx.delete("sync_state", key)
    # A calendar's document holds every object: one the pass left as it was is not copied
    # (proving it plain JSON) only to be found equal to the stored one.
    stored = {r["id"]: r for r in tx.decode("sync_state", lambda r: r)}
    tx.put_many("sync_state", (d for k, d in sync.state.items() if stored.get(k) != d))


def mark_due_only(
    tx: Transaction, memo: PassMemo, now: datetime, context: str, sync: SyncResult
) -> tuple[Plan, int]:
    """The skipped pass: planning would change nothing, so only mark due what has fallen due,
    and keep the memo in step with the queue that changed."""
    from mendcrm import pass_memo
    from mendcrm.contact_changes import rest_digest
    from mendcrm.planning import Plan, mark_due

    if memo.next_due is None or now < memo.next_due:
        return Plan(), 0
    pending = tx.decode("queue", QueueItem.from_record, lambda r: r.get("state") == "pending")
    newly_due = mark_due(pending, now)
    repository.save(tx, "queue", *newly_due)
    due_now = {i.id for i in newly_due}
    tx.put(
        "meta",
        pass_memo.PassMemo(
            inputs=inputs_of(tx, context, sync),
            # A clock gone back before a due time just marked must recompute (planning puts
            # such an item back to pending); no threshold lies between, so the memo's claim
            # holds from any later moment on.
            computed_at=max([memo.computed_at, *(i.due for i in newly_due)]),
            valid_until=memo.valid_until,
            next_due=pass_memo.next_due(i for i in pending if i.id not in due_now),
            rendered_from=memo.rendered_from,
            rest=rest_digest(tx, context, sync.state, tx.get("meta", DEPARTED_ID)),
            index=memo.index,
            people=memo.people,
            timeline=memo.timeline,
            keyed_until=memo.keyed_until,
        ).to_record(),
    )
    return Plan(), len(newly_due)


def changed_only(
    tx: Transaction,
    memo: PassMemo,
    read_as: str,
    config: Config,
    sync: SyncResult,
    now: datetime,
    context: str,
    playbook: Playbook,
    renderer: Renderer,
    mine: frozenset[str],
    keep: Retention,
) -> tuple[Plan, int] | None:
    """The pass over what changed (:mod:`mendcrm.changed_pass`): when the memo covers the
    stored state but for some calendar objects and the planning inputs of some contacts
    (:mod:`mendcrm.contact_changes`), detect and plan the meetings of those objects and
    contacts and the contacts' nudges alone, and commit; return None (having written nothing)
    when only a full pass will do. A clock past the memo's first threshold adds the UIDs and
    contacts of the thresholds crossed (:mod:`mendcrm.time_thresholds`), if the memo kept
    them all."""
    from mendcrm import changed_pass as cp
    from mendcrm import contact_changes as cc
    from mendcrm.pass_memo import inputs_digest, render_digest
    from mendcrm.planning import Plan, mark_due
    from mendcrm.time_thresholds import memo_from_records, time_scope

    assert sync.window is not None
    stored = {
        r["id"]: r
        for r in tx.decode("sync_state", lambda r: r, lambda r: not is_annotation_state(r["id"]))
    }
    departed = tx.get("meta", DEPARTED_ID)
    changed = cp.changed_objects(stored, sync.state)
    if changed is None:
        return None
    # The clock past the memo's first threshold: the thresholds crossed join the scope.
    timed = time_scope(memo, now)
    if timed is None:
        return None
    digests, edited = cc.ContactDigests(memo.index, memo.people), frozenset[str]()
    if inputs_digest(read_as, context, stored, [departed]) != memo.inputs:
        # Not the store the memo saw: go on only if just some contacts' own records changed.
        if memo.rest != cc.rest_digest(tx, context, stored, departed):
            return None
        digests = cc.ContactDigests.of(tx)
        found = digests.edited_since(memo)
        if not found:
            return None
        edited = found
    uids = cp.touched_uids(stored, sync.state, changed) | cc.uids_naming(tx, edited)
    uids |= timed.uids
    planned = edited | timed.contacts
    if uids or planned:
        the_plan, scope, interactions, contacts = cp.plan_changed(
            tx, config=config, state=sync.state, uids=uids, window=sync.window, now=now,
            playbook=playbook, renderer=renderer, mine=mine,
            keep_rendered=memo.rendered_from == render_digest(tx, context), edited=planned,
        )  # fmt: skip
    else:  # only sync-tokens or a feed's validator changed: no meeting to look at again
        the_plan, scope, interactions, contacts = Plan(), cp.Scope.EMPTY, [], []
    write_sync_state(tx, sync, held=set())
    repository.save(tx, "encounters", *the_plan.encounters)
    repository.save(tx, "queue", *the_plan.queue)
    due, next_due = cp.due_now(tx, now)
    newly_due = mark_due(due, now)
    repository.save(tx, "queue", *newly_due)
    if edited or timed.crossed:
        # The planned contacts' nudges in use are the plan's; everyone else's stand as the
        # last pass pruned them (nothing they depend on changed, no retention of theirs ran
        # out: a closed nudge's retention is keyed to its contact). Crossed retention of
        # other items is decided from the records alone, over the whole store, as the full
        # pass does.
        in_use = the_plan.nudges_in_use | cc.nudges_outside(tx, scope.contacts)
        prune(tx, now=now, retention=keep, nudges_in_use=in_use)
    elif not the_plan.empty:
        # Nudges in use are those of the last full pass (the memo vouches for the contacts
        # and their interactions): None keeps every closed nudge, as that pass's prune left
        # them. With nothing planned, that prune's result stands as it is.
        prune(tx, now=now, retention=keep, nudges_in_use=None)
    if timed.crossed:
        # The old memo's first thresholds are behind: every one ahead, from the records.
        after = memo_from_records(
            tx, inputs=inputs_of(tx, context, sync), now=now, state=sync.state,
            window=sync.window, playbook=playbook, keep=keep, zone=renderer.zone,
            rendered_from=memo.rendered_from,
        )  # fmt: skip
    else:
        after = cp.memo_after_change(
            memo, inputs=inputs_of(tx, context, sync), now=now, scope=scope, the_plan=the_plan,
            changed_entries=cp.changed_entries(sync.state, changed), window=sync.window,
            contacts=contacts, interactions=interactions, playbook=playbook, keep=keep,
            zone=renderer.zone, next_due=next_due,
        )  # fmt: skip
    tx.put("meta", memo_with_contacts(after, tx, context, sync, digests).to_record())
    return the_plan, len(newly_due)


def memo_with_contacts(
    memo: PassMemo, tx: Transaction, context: str, sync: SyncResult, digests: Any = None
) -> PassMemo:
    """Return the memo with what tells a later pass which contacts alone changed."""
    from mendcrm.contact_changes import with_contacts

    return with_contacts(memo, tx, context, sync.state, tx.get("meta", DEPARTED_ID), digests)


def inputs_of(tx: Tables, context: str, sync: SyncResult, tables: str | None = None) -> str:
    """Return the memo's digest of the pass's inputs; ``tables``: the planning tables' digest
    if the caller has it."""
    from mendcrm.pass_memo import PLANNING_TABLES, inputs_digest

    if tables is None:
        tables = tx.digest(PLANNING_TABLES)
    return inputs_digest(tables, context, sync.state, [tx.get("meta", DEPARTED_ID)])


def nothing_to_do(store: Store, context: str, sync: SyncResult, now: datetime) -> bool:
    """Return True if the memo covers this pass, nothing has fallen due and the sync changed
    no stored document: then the pass writes nothing, and needs neither the lock nor the
    store's big tables decoded (the transaction checks again before it acts otherwise)."""
    from mendcrm.pass_memo import PassMemo

    with store.read(only=["meta", "sync_state"]) as view:
        memo = PassMemo.load(view)
        if memo is None or (memo.next_due is not None and now >= memo.next_due):
            return False
        # The sync's own comparison first: a changed object is the common reason to go on.
        stored = view.decode("sync_state", lambda r: r, lambda r: not is_annotation_state(r["id"]))
        if {r["id"]: r for r in stored} != sync.state:
            return False
        return memo.covers(inputs_of(view, context, sync), now)


def is_annotation_state(doc_id: str) -> bool:
    from mendcrm.annotations import STATE_PREFIX

    return doc_id.startswith(STATE_PREFIX)


__all__ = [
    "changed_only",
    "inputs_of",
    "is_annotation_state",
    "mark_due_only",
    "memo_with_contacts",
    "nothing_to_do",
    "write_sync_state",
]
