"""The middle of a pass: detection and planning in one store transaction, or, when nothing they
read has changed, only marking due what has fallen due (:mod:`mendcrm.pass_memo`).

Pure apart from the one transaction: the sources' result comes in, encounters and queue items
go out with the new sync state, atomically.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from mendcrm import repository
from mendcrm.addresses import user_addresses
from mendcrm.config.model import Config
from mendcrm.model import Contact, Encounter, Interaction, QueueItem
from mendcrm.nudges import next_nudge_change
from mendcrm.retention import Retention, prune
from mendcrm.store import Store, Transaction

if TYPE_CHECKING:
    import pluggy

    from mendcrm.events.window import Span
    from mendcrm.pass_memo import PassMemo, Tables
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
    context = _context(config, playbook, plugin_manager, mine, sync, keep)
    if memo_ok and _nothing_to_do(store, context, sync, now):
        from mendcrm.planning import Plan

        return Plan(), 0
    renderer = Renderer.from_config(
        config, playbook, sections=_sections_hook(plugin_manager, config)
    )
    with store.transaction() as tx:
        memo = pass_memo.PassMemo.load(tx) if memo_ok else None
        if memo is not None and memo.covers(_inputs(tx, context, sync), now):
            _write_sync_state(tx, sync, held=set())
            return _mark_due_only(tx, memo, now, context, sync)
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

    encounters, queue = final
    thresholds = pass_memo.Thresholds(now)
    starts = thresholds.encounters(encounters)
    thresholds.queue(queue, keep.keep_for)
    interactions = _by_contact(done.interactions)
    thresholds.add(next_nudge_change(now, done.contacts, interactions, playbook, starts))
    thresholds.window(sync.state.values(), window)
    thresholds.midnight(zone)
    return pass_memo.PassMemo(
        inputs=_inputs(tx, context, sync),
        computed_at=now,
        valid_until=thresholds.first,
        next_due=pass_memo.next_due(queue),
    )


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
    _write_sync_state(tx, sync, held)
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


def _write_sync_state(tx: Transaction, sync: SyncResult, held: set[str]) -> None:
    for key in sync.stale_keys:
        doc = tx.get("sync_state", key) or {}
        if not is_annotation_state(key) and doc.get("source") not in held:
            tx.delete("sync_state", key)
    tx.put_many("sync_state", sync.state.values())


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


def _mark_due_only(
    tx: Transaction, memo: PassMemo, now: datetime, context: str, sync: SyncResult
) -> tuple[Plan, int]:
    """The skipped pass: planning would change nothing, so only mark due what has fallen due,
    and keep the memo in step with the queue that changed."""
    from mendcrm import pass_memo
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
            inputs=_inputs(tx, context, sync),
            computed_at=memo.computed_at,
            valid_until=memo.valid_until,
            next_due=pass_memo.next_due(i for i in pending if i.id not in due_now),
            rendered_from=memo.rendered_from,
        ).to_record(),
    )
    return Plan(), len(newly_due)


def _inputs(tx: Tables, context: str, sync: SyncResult) -> str:
    from mendcrm.pass_memo import inputs_digest

    return inputs_digest(tx, context, sync.state, [tx.get("meta", DEPARTED_ID)])


def _nothing_to_do(store: Store, context: str, sync: SyncResult, now: datetime) -> bool:
    """Return True if the memo covers this pass, nothing has fallen due and the sync changed
    no stored document: then the pass writes nothing, and needs neither the lock nor the
    store's big tables decoded (the transaction checks again before it acts otherwise)."""
    from mendcrm.pass_memo import PassMemo

    with store.read(only=["meta", "sync_state"]) as view:
        memo = PassMemo.load(view)
        if memo is None or not memo.covers(_inputs(view, context, sync), now):
            return False
        if memo.next_due is not None and now >= memo.next_due:
            return False
        stored = {d["id"]: d for d in view.all("sync_state") if not is_annotation_state(d["id"])}
    return stored == sync.state


def _context(
    config: Config,
    playbook: Playbook,
    plugin_manager: pluggy.PluginManager | None,
    mine: frozenset[str],
    sync: SyncResult,
    retention: Retention,
) -> str:
    """Return the digest of a pass's inputs that do not live in the store."""
    from mendcrm import __version__
    from mendcrm.pass_memo import context_digest
    from mendcrm.render import template_sources, user_zone, zone_name

    plugins: list[str] = []
    if plugin_manager is not None:
        versions = {
            id(plugin): f"{dist.project_name} {dist.version}"
            for plugin, dist in plugin_manager.list_plugin_distinfo()
        }
        plugins = sorted(
            f"{name} {versions.get(id(plugin), '')}"
            for name, plugin in plugin_manager.list_name_plugin()
        )
    return context_digest(
        version=__version__,
        config=config,
        playbook=playbook,
        templates=template_sources(config),
        zone=zone_name(user_zone(config.me)),
        plugins=plugins,
        mine=mine,
        failed=sync.failed_sources,
        retention=retention,
    )


def _by_contact(interactions: list[Interaction]) -> dict[str, list[Interaction]]:
    grouped: dict[str, list[Interaction]] = {}
    for interaction in interactions:
        grouped.setdefault(interaction.contact_id, []).append(interaction)
    return grouped


DEPARTED_ID = "departed_sources"


def hold_departed_sources(
    tx: Transaction,
    config: Config,
    encounters: list[Encounter],
    now: datetime,
    warnings: list[str] | None,
) -> set[str]:
    """Given the stored encounters, return the sources to hold back this pass, and warn.

    A source that has upcoming encounters but is no longer in the config may be a typo or a
    rename: the first pass that notices keeps its encounters and state (and says so); the next
    one lets them go. Putting the source back cancels the countdown.
    """
    configured = {f"account:{a.name}" for a in config.accounts}
    configured |= {f"feed:{f.name}" for f in config.feeds}
    configured |= {f"programme:{p.name}" for p in config.programmes}
    upcoming = [e for e in encounters if e.state == "active" and e.occurrence.end >= now]
    active = {e.occurrence.source for e in upcoming}
    record = dict(tx.get("meta", DEPARTED_ID) or {"id": DEPARTED_ID})
    noticed: dict[str, str] = {
        s: when for s, when in record.get("sources", {}).items() if s not in configured
    }
    held: set[str] = set()
    for source in sorted(active - configured):
        if source in noticed:
            continue  # warned last pass: withdraw now
        noticed[source] = now.isoformat()
        held.add(source)
        count = sum(1 for e in upcoming if e.occurrence.source == source)
        if warnings is not None:
            warnings.append(
                f"{source} is no longer in the config: its {count} encounter(s) are kept for "
                "now and withdrawn at the next sync (put it back to keep them)"
            )
    noticed = {s: w for s, w in noticed.items() if s in active}
    if noticed != record.get("sources", {}):
        tx.put("meta", {"id": DEPARTED_ID, "sources": noticed})
    return held


def _sections_hook(plugin_manager: pluggy.PluginManager | None, config: Config) -> Any:
    """Given the plugin manager, return a callable collecting extra prep-note sections, or None."""
    if plugin_manager is None:
        return None
    from mendcrm.plugins import call_each

    def sections(
        item: QueueItem, contact: Contact | None, encounter: Encounter | None
    ) -> list[str]:
        found: list[str] = []
        for outcome in call_each(
            plugin_manager,
            "prep_note_sections",
            item=item,
            contact=contact,
            encounter=encounter,
            config=config,
        ):
            if outcome.value:
                found.extend(outcome.value if isinstance(outcome.value, list) else [outcome.value])
        return found

    return sections


def is_annotation_state(doc_id: str) -> bool:
    from mendcrm.annotations import STATE_PREFIX

    return doc_id.startswith(STATE_PREFIX)


__all__ = ["DEPARTED_ID", "detect_and_plan", "hold_departed_sources", "is_annotation_state"]
