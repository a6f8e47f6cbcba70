"""The middle of a pass: detection and planning in one store transaction, or, when nothing they
read has changed, only marking due what has fallen due (:mod:`mendcrm.pass_memo`); the passes
that skip the full recomputation are in :mod:`mendcrm.short_passes`.

Pure apart from the one transaction: the sources' result comes in, encounters and queue items
go out with the new sync state, atomically.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from mendcrm import repository
from mendcrm.addresses import user_addresses
from mendcrm.config.model import Config
from mendcrm.departed import DEPARTED_ID, hold_departed_sources
from mendcrm.model import Contact, Encounter, Interaction, QueueItem
from mendcrm.pass_context import pass_context, sections_hook
from mendcrm.retention import Retention, prune
from mendcrm.short_passes import (
    changed_only,
    inputs_of,
    is_annotation_state,
    mark_due_only,
    memo_with_contacts,
    nothing_to_do,
    write_sync_state,
)
from mendcrm.store import Store, Transaction

if TYPE_CHECKING:
    import pluggy

    from mendcrm.events.window import Span
    from mendcrm.pass_memo import PassMemo
    from mendcrm.planning import Plan
    from mendcrm.playbook import Playbook
    from mendcrm.render import Renderer
    from mendcrm.sources.results import SyncResult


def detect_and_plan(
    config: Config,
    store: Store,
    sync: SyncResult,
    *,
    now: datetime,
    plugin_manager: pluggy.PluginManager | None = None,
    warnings: list[str] | None = None,
    retention: Retention | None = None,
    incremental: bool = True,
) -> tuple[Plan, int]:
    """Given a sync result, detect encounters, plan the queue and commit it with the sync state.

    Return the plan and how many items became due; append to ``warnings`` what the user should
    know. Everything is read and written inside one transaction, so a concurrent
    ``mendcrm log`` is never lost; what the pass withdrew unseen, and what closed longer ago than
    ``retention`` allows (default: the config's ``[store] retention_days``), leaves the store in
    that transaction (:mod:`mendcrm.retention`). When nothing detection and planning read has
    changed since the last full pass and no threshold of time lies between, the pass only
    marks due what has fallen due (:mod:`mendcrm.pass_memo`); ``incremental=False`` always
    recomputes everything.
    """
    from mendcrm import pass_memo
    from mendcrm.playbook import load_playbook
    from mendcrm.render import Renderer

    playbook = load_playbook(config.playbook)
    keep = retention or Retention.of(config)
    mine = user_addresses(config.me.emails, sync.state)
    # Programmes change with their own clock (heads-ups, sessions): always recomputed.
    memo_ok = incremental and sync.window is not None and not config.programmes
    context = pass_context(config, playbook, plugin_manager, mine, sync, keep)
    if memo_ok and nothing_to_do(store, context, sync, now):
        from mendcrm.planning import Plan

        return Plan(), 0
    renderer = Renderer.from_config(
        config, playbook, sections=sections_hook(plugin_manager, config)
    )
    with store.transaction() as tx:
        memo = pass_memo.PassMemo.load(tx) if memo_ok else None
        # The planning tables as read: hashed once for both checks of the memo below.
        tables = pass_memo.PLANNING_TABLES
        read_as = tx.digest(tables) if memo is not None else ""
        if memo is not None and memo.covers(inputs_of(tx, context, sync, read_as), now):
            write_sync_state(tx, sync, held=set())
            return mark_due_only(tx, memo, now, context, sync)
        if memo is not None and not sync.stale_keys:
            changed = changed_only(
                tx, memo, read_as, config, sync, now, context, playbook, renderer, mine, keep
            )
            if changed is not None:
                return changed
        rendered_from = pass_memo.render_digest(tx, context) if memo_ok else ""
        keep_rendered = memo is not None and memo.rendered_from == rendered_from
        done = _full_pass(
            tx, config, sync, now, plugin_manager, warnings, keep, playbook, renderer, mine,
            keep_rendered,
        )  # fmt: skip
        final = _final_records(tx, done)
        if memo_ok and final is not None and sync.window is not None:
            memo = _memo_after(
                tx, done, final, now, sync, sync.window, context, playbook, keep, renderer.zone
            )
            tx.put("meta", dataclasses.replace(memo, rendered_from=rendered_from).to_record())
        else:
            pass_memo.forget(tx)
    return done.plan, len(done.newly_due)


def _memo_after(
    tx: Transaction,
    done: FullPass,
    final: tuple[list[Encounter], list[QueueItem]],
    now: datetime,
    sync: SyncResult,
    window: Span,
    context: str,
    playbook: Playbook,
    keep: Retention,
    zone: tzinfo,
) -> PassMemo:
    """Given a full pass and what it leaves, return the memo: its inputs, and the first moment
    at which the time alone could change what it decided (:mod:`mendcrm.pass_memo`)."""
    from mendcrm import pass_memo
    from mendcrm.time_thresholds import timeline_of

    encounters, queue = final
    timeline = timeline_of(
        now, encounters=encounters, queue=queue, contacts=done.contacts,
        interactions=done.interactions, state=sync.state.values(), window=window,
        playbook=playbook, keep=keep, zone=zone,
    )  # fmt: skip
    entries, keyed_until = timeline.kept()
    memo = pass_memo.PassMemo(
        inputs=inputs_of(tx, context, sync),
        computed_at=now,
        valid_until=timeline.first,
        next_due=pass_memo.next_due(queue),
        timeline=entries,
        keyed_until=keyed_until,
    )
    return memo_with_contacts(memo, tx, context, sync)


@dataclass(frozen=True, slots=True)
class FullPass:
    """What :func:`_full_pass` did (plan, items marked due, departed sources held back) and the
    records it read."""

    plan: Plan
    newly_due: list[QueueItem]
    held: set[str]
    contacts: list[Contact]
    interactions: list[Interaction]
    stored: list[Encounter]
    stored_queue: list[QueueItem]


def _full_pass(
    tx: Transaction,
    config: Config,
    sync: SyncResult,
    now: datetime,
    plugin_manager: pluggy.PluginManager | None,
    warnings: list[str] | None,
    retention: Retention,
    playbook: Playbook,
    renderer: Renderer,
    mine: frozenset[str],
    keep_rendered: bool,
) -> FullPass:
    """Detect and plan from everything, inside the pass's transaction; return what it did and
    read."""
    from mendcrm.copies import keep_known_ids, one_copy_each
    from mendcrm.detection import ContactIndex, detect
    from mendcrm.dismissals import Dismissals
    from mendcrm.planning import mark_due, plan

    contacts = repository.contacts(tx)
    index = ContactIndex.build(c for c in contacts if c.flagged)
    # A meeting seen through several calendars or objects is detected once, keeping its id.
    annotating = {f"account:{a.name}" for a in config.accounts if a.annotate != "off"}
    occurrences = one_copy_each(sync.occurrences, annotating=annotating)
    found = detect(occurrences, index, me=config.me, settings=config.detection, mine=mine)
    programmes = None
    if config.programmes:
        from mendcrm.programmes.encounters import programme_encounters

        programmes = programme_encounters(
            config, sync.state, occurrences, found, index.contacts, index.names
        )
        found = programmes.encounters
    stored = repository.encounters(tx)
    detected = keep_known_ids(found, stored)
    held = hold_departed_sources(tx, config, stored, now, warnings)
    stored_queue = repository.queue(tx)
    interactions = repository.interactions(tx)
    the_plan = plan(
        detected=detected,
        stored_encounters=stored,
        stored_queue=stored_queue,
        contacts=contacts,
        interactions=interactions,
        failed_sources=sync.failed_sources | held,
        now=now,
        config=config,
        playbook=playbook,
        renderer=renderer,
        dismissals=Dismissals.load(tx),
        keep_rendered=keep_rendered,
    )
    if programmes is not None or any(i.kind == "heads-up" for i in stored_queue):
        from mendcrm.programmes.heads_up import with_heads_ups

        the_plan = with_heads_ups(
            the_plan,
            programmes,
            stored,
            detected,
            stored_queue,
            contacts,
            held=sync.failed_sources | held,
            now=now,
            zone=renderer.zone,
        )
    write_sync_state(tx, sync, held)
    repository.save(tx, "encounters", *the_plan.encounters)
    repository.save(tx, "queue", *the_plan.queue)
    # The queue as it now stands is the stored one with the plan's items laid over it: no need
    # to decode every item again to find the due ones.
    queue = {i.id: i for i in stored_queue}
    queue.update((i.id, i) for i in the_plan.queue)
    newly_due = mark_due(queue.values(), now)
    repository.save(tx, "queue", *newly_due)
    prune(tx, now=now, retention=retention, nudges_in_use=the_plan.nudges_in_use)
    return FullPass(the_plan, newly_due, held, contacts, interactions, stored, stored_queue)


def _final_records(
    tx: Transaction, done: FullPass
) -> tuple[list[Encounter], list[QueueItem]] | None:
    """Return the encounters and queue a full pass leaves (what it pruned may still be among
    them), or None when a later pass may not be skipped whatever happens: a departed source is
    being held, or heads-ups are queued."""
    departed = tx.get("meta", DEPARTED_ID) or {}
    if done.held or departed.get("sources"):
        return None
    queue = {i.id: i for i in done.stored_queue}
    queue.update((i.id, i) for i in done.plan.queue)
    queue.update((i.id, i) for i in done.newly_due)
    if any(i.kind == "heads-up" for i in queue.values()):
        return None
    encounters = {e.id: e for e in done.stored}
    encounters.update((e.id, e) for e in done.plan.encounters)
    return list(encounters.values()), list(queue.values())


__all__ = ["detect_and_plan", "is_annotation_state"]
