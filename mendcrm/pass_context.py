"""What a pass depends on beyond the store: the context digest of the pass memo, and the hook
through which plugins add sections to prep notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mendcrm.config.model import Config
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.retention import Retention

if TYPE_CHECKING:
    import pluggy

    from mendcrm.playbook import Playbook
    from mendcrm.sources.results import SyncResult


def pass_context(
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


def sections_hook(plugin_manager: pluggy.PluginManager | None, config: Config) -> Any:
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


__all__ = ["pass_context", "sections_hook"]
