"""One pass of the pipeline, stage by stage: sources → events → detection → planning → actions.

Read top to bottom, this is what ``mendcrm sync`` and each daemon tick do. Network work happens
before and after the store transaction, never while holding the lock; detection and planning are
pure and run inside one transaction, so a pass is one atomic write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mendcrm import repository
from mendcrm.addresses import mail_address, user_addresses
from mendcrm.clock import Clock
from mendcrm.config.model import AccountConfig, Config
from mendcrm.model import Contact, Encounter, replace
from mendcrm.secrets import get_password
from mendcrm.store import Store

if TYPE_CHECKING:
    import pluggy

    from mendcrm.annotations import AnnotationResult
    from mendcrm.planning import Plan
    from mendcrm.sources.results import SyncResult


Progress = Callable[[str, int], None]


@dataclass
class PassSummary:
    """What one pass did: the sync result, the plan it applied, and the annotation work."""

    sync: SyncResult
    plan: Plan
    annotations: AnnotationResult | None = None
    due: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def failed_sources(self) -> set[str]:
        return self.sync.failed_sources

    @property
    def reports(self) -> list[Any]:
        return self.sync.reports

    @property
    def errors(self) -> dict[str, str]:
        """Given nothing, return ``{source: one-line error}`` for every source that failed."""
        found = {s.source: s.error for s in self.sync.sources if s.error}
        for report in self.sync.reports:
            if report.error:
                found.setdefault(report.source, report.error)
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            # Per source its totals; its calendars are listed once, below.
            "sources": [
                {k: v for k, v in s.to_dict().items() if k != "calendars"}
                for s in self.sync.sources
            ],
            "calendars": [r.to_dict() for r in self.sync.reports],
            "occurrences": len(self.sync.occurrences),
            "encounters": {
                "detected": len(self.plan.detected),
                "changed": len(self.plan.changed),
                "withdrawn": len(self.plan.withdrawn),
            },
            "queue_changes": len(self.plan.queue),
            "due": self.due,
            "annotations": {
                "requests": self.annotations.requests,
                "completed_followups": self.annotations.completed_followups,
            }
            if self.annotations
            else None,
            "warnings": self.warnings,
            "errors": self.errors,
        }


def sync_pass(
    config: Config,
    store: Store,
    *,
    clock: Clock,
    plugin_manager: pluggy.PluginManager | None = None,
    password_for: Callable[[AccountConfig], str] = get_password,
    progress: Progress | None = None,
    only: set[str] | None = None,
    force: bool = False,
    incremental: bool = True,
) -> PassSummary:
    """Given the config and the store, run one whole pass and return what it did.

    A failing source is reported in the summary, never raised; so is a failing annotation write.
    A source still backing off after failures is skipped unless ``force`` (the CLI forces, the
    daemon does not). ``incremental=False`` detects and plans from everything even when
    nothing they read changed (:mod:`mendcrm.pass_memo`).
    Raise StoreError if the store cannot be read or written, ConfigError for a bad playbook or
    template.
    """
    started = time.monotonic()
    now = clock.now()

    # 1–2. sources and events: fetch what changed, expand occurrences in the window.
    sync = fetch(
        config, store, now=now, password_for=password_for, progress=progress, only=only, force=force
    )

    # 3–4. detection and planning, applied in one transaction.
    warnings: list[str] = []
    the_plan, due = detect_and_plan(
        config,
        store,
        sync,
        now=now,
        plugin_manager=plugin_manager,
        warnings=warnings,
        incremental=incremental,
    )

    # 5. actions: annotate the calendars, tell plugins what changed.
    summary = PassSummary(sync=sync, plan=the_plan, due=due, warnings=warnings)
    # A server's calendar-user-address-set may hold the user's mail address instead (RFC 6638).
    if config.accounts and not any(map(mail_address, user_addresses(config.me.emails, sync.state))):
        summary.warnings.append(
            "[me] emails is empty, so MendCRM cannot tell which invitations you declined or "
            "which events you organise; add your addresses to the config"
        )
    summary.annotations = annotate(config, store, now=now, password_for=password_for)
    if summary.annotations is not None:
        summary.warnings.extend(summary.annotations.warnings)
    announce(plugin_manager, store, the_plan, config)
    summary.warnings.extend(sync.warnings)
    from mendcrm.forgetting import finish_removals  # forgotten contacts: retried every pass

    summary.warnings.extend(
        finish_removals(
            config, store, now=now, password_for=password_for, plugin_manager=plugin_manager
        )
    )
    summary.seconds = time.monotonic() - started
    return summary


from mendcrm.planning_stage import (  # noqa: E402 - the middle stage, in its own module
    detect_and_plan,
    is_annotation_state,
)


def fetch(
    config: Config,
    store: Store,
    *,
    now: datetime,
    password_for: Callable[[AccountConfig], str],
    progress: Progress | None = None,
    only: set[str] | None = None,
    force: bool = False,
) -> SyncResult:
    """Given the config and store, return the sources' occurrences and new state (no writes)."""
    from mendcrm.sources import sync_sources

    with store.read(only=["sync_state"]) as view:
        # Annotation documents share the table but belong to the actions stage.
        state = {d["id"]: d for d in view.all("sync_state") if not is_annotation_state(d["id"])}
    return sync_sources(
        config,
        state,
        now=now,
        password_for=password_for,
        progress=progress,
        only=only,
        force=force,
    )


def annotate(
    config: Config,
    store: Store,
    *,
    now: datetime,
    password_for: Callable[[AccountConfig], str],
) -> AnnotationResult | None:
    """Given the committed queue, write the calendar annotations; return what was done.

    Follow-ups the user completed in a tasks app come back and are marked done here.
    """
    if not any(a.annotate != "off" for a in config.accounts):
        return None
    from mendcrm.annotations import annotate_accounts

    with store.read() as view:
        encounters = repository.encounters(view)
        queue = repository.queue(view)
        contacts = repository.contacts(view)
        state = {d["id"]: d for d in view.all("sync_state")}
    from mendcrm.playbook import load_playbook

    result = annotate_accounts(
        config,
        encounters,
        queue,
        contacts,
        state,
        password_for=password_for,
        now=now,
        playbook=load_playbook(config.playbook),
    )
    with store.transaction() as tx:
        tx.put_many("sync_state", result.state.values())
        for item_id in result.completed_followups:
            item = repository.queue_item(tx, item_id)
            if item is not None and item.state in ("pending", "due", "delivered"):
                repository.save(tx, "queue", replace(item, state="done", closed_at=now))
    # Not logged here: the summary carries them to whoever runs the pass (the CLI prints them,
    # the daemon logs them), so each reaches the user once.
    return result


def announce(
    plugin_manager: pluggy.PluginManager | None, store: Store, the_plan: Plan, config: Config
) -> None:
    """Given the applied plan, call the plugins' encounter hooks; a failing one is only logged."""
    if plugin_manager is None or not (the_plan.detected or the_plan.changed or the_plan.withdrawn):
        return
    from mendcrm.plugins import call_each

    with store.read() as view:
        contacts = {c.id: c for c in repository.contacts(view)}

    def who(encounter: Encounter) -> Contact | None:
        return contacts.get(encounter.contact_id)

    calls: list[tuple[str, dict[str, Any]]] = []
    calls += [
        ("encounter_detected", {"encounter": e, "contact": who(e), "config": config})
        for e in the_plan.detected
    ]
    calls += [
        ("encounter_changed", {"encounter": e, "previous": p, "contact": who(e), "config": config})
        for e, p in the_plan.changed
    ]
    calls += [
        (
            "encounter_withdrawn",
            {"encounter": e, "contact": who(e), "reason": e.withdrawn_reason, "config": config},
        )
        for e in the_plan.withdrawn
    ]
    for hook, kwargs in calls:
        call_each(plugin_manager, hook, **kwargs)  # logs a failing plugin by name, never raises


__all__ = ["PassSummary", "annotate", "announce", "detect_and_plan", "fetch", "sync_pass"]
