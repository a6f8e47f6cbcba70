"""Finding, loading and calling plugins.

Three places are searched, later ones winning a name clash:

1. the first-party plugins shipped with MendCRM: the top-level ``plugins/`` folder of a source
   checkout, or ``mendcrm/_plugins/`` inside an installed wheel (the build copies it there);
2. the entry-point group ``mendcrm`` of installed distributions (``[project.entry-points.mendcrm]
   NAME = "module"``);
3. each folder in ``[plugins] paths``: every ``*.py`` file in it is a plugin named after the file.

Plugin files are loaded by file path under a private module name, never imported as ``plugins``,
so they cannot clash with anything in site-packages. Discovery only lists names; a plugin's code
runs only when it is enabled (``[plugins] enabled``) and a plugin manager is built. There is no
global manager: :func:`make_plugin_manager` builds a fresh one from a config each time (the daemon
builds a new one on reload).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from mendcrm import hookspecs
from mendcrm.config.model import Config
from mendcrm.errors import ConfigError, MendError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mendcrm"
PLUGIN_HEALTH_ID = "plugins"
"""The id of the ``meta`` document where delivery records each plugin's last error and counts."""


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin can be loaded from: its name, the kind of place and the place itself."""

    name: str
    origin: str
    """``built-in``, ``entry point`` or ``path``."""
    location: str
    load: Callable[[], object] = field(repr=False, compare=False)


@dataclass(frozen=True)
class PluginStatus:
    """One row of ``mendcrm plugins list``."""

    name: str
    origin: str
    location: str
    enabled: bool
    hooks: tuple[str, ...] = ()
    error: str = ""
    """Why it failed to load or validate, or the last delivery error recorded in the store."""
    error_at: str = ""
    delivered: int = 0

    @property
    def failing(self) -> bool:
        return bool(self.error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "location": self.location,
            "enabled": self.enabled,
            "hooks": list(self.hooks),
            "failing": self.failing,
            "error": self.error,
            "error_at": self.error_at,
            "delivered": self.delivered,
        }


def builtin_plugin_dir() -> Path | None:
    """Return the folder of the first-party plugins, or None if this build has none.

    An installed wheel carries them as ``mendcrm/_plugins``; a source checkout has the top-level
    ``plugins/`` folder beside the package (recognised by the ``pyproject.toml`` next to it, so an
    unrelated ``plugins`` folder in site-packages is never picked up).
    """
    package = Path(__file__).resolve().parent
    shipped = package / "_plugins"
    if shipped.is_dir():
        return shipped
    root = package.parent
    checkout = root / "plugins"
    if checkout.is_dir() and (root / "pyproject.toml").is_file():
        return checkout
    return None


def _file_sources(folder: Path, origin: str) -> list[PluginSource]:
    if not folder.is_dir():
        return []
    return [
        PluginSource(path.stem, origin, str(path), _file_loader(path))
        for path in sorted(folder.glob("*.py"))
        if not path.name.startswith("_")
    ]


def _file_loader(path: Path) -> Callable[[], object]:
    def load() -> object:
        return load_module_from_path(path)

    return load


def load_module_from_path(path: Path) -> ModuleType:
    """Given a plugin file, execute it as a fresh module and return it; raise on any error.

    The private module name (``mendcrm_plugin_STEM``) keeps it apart from anything importable.
    It is put in ``sys.modules`` because dataclasses and pickling look modules up there.
    """
    module_name = f"mendcrm_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _entry_point_sources() -> list[PluginSource]:
    sources = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        sources.append(PluginSource(ep.name, "entry point", ep.value, ep.load))
    return sources


def discover(config: Config) -> dict[str, PluginSource]:
    """Given the config, return every plugin that could be enabled, by name; nothing is loaded."""
    found: dict[str, PluginSource] = {}
    builtin = builtin_plugin_dir()
    groups: list[Iterable[PluginSource]] = [
        _file_sources(builtin, "built-in") if builtin else [],
        _entry_point_sources(),
        *(_file_sources(folder, "path") for folder in config.plugins.paths),
    ]
    for group in groups:
        for source in group:
            if source.name in found:
                log.debug(
                    "plugin %s from %s shadows %s",
                    source.name,
                    source.location,
                    found[source.name].location,
                )
            found[source.name] = source
    return found


def new_plugin_manager() -> pluggy.PluginManager:
    """Return an empty plugin manager that knows MendCRM's hooks (for tests and tools)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load_plugin(source: PluginSource) -> object:
    """Given a discovered plugin, import it and return the plugin; raise MendError if it fails."""
    try:
        return source.load()
    except Exception as exc:
        raise MendError(
            f"plugin {source.name!r} ({source.location}) failed to load: "
            f"{type(exc).__name__}: {one_line(str(exc))}",
            hint="fix or update the plugin, or remove it from [plugins] enabled",
        ) from None


def validate_plugin(pm: pluggy.PluginManager, name: str, config: Config) -> None:
    """Given a registered plugin's name, run its ``validate_config`` hook on its own table.

    Raise ConfigError (one line naming ``[plugins.NAME] key``) if the table is not acceptable.
    """
    settings = config.plugins.settings.get(name, {})
    for impl in pm.hook.validate_config.get_hookimpls():
        if impl.plugin_name != name:
            continue
        try:
            call_impl(impl, {"name": name, "settings": dict(settings), "config": config})
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"[plugins.{name}] could not be checked: {type(exc).__name__}: "
                f"{one_line(str(exc))}",
                hint=f"see the {name} plugin's documentation for its settings",
            ) from None


def make_plugin_manager(config: Config) -> pluggy.PluginManager:
    """Given the config, return a plugin manager with the enabled plugins loaded and checked.

    Raise ConfigError if an enabled name matches no plugin or a plugin rejects its
    ``[plugins.NAME]`` table, MendError if an enabled plugin fails to import.
    """
    pm = new_plugin_manager()
    if not config.plugins.enabled:
        return pm
    available = discover(config)
    for name in config.plugins.enabled:
        source = available.get(name)
        if source is None:
            known = ", ".join(sorted(available)) or "none"
            raise ConfigError(
                f"[plugins] enabled names {name!r}, which is not an installed plugin",
                hint=f"available plugins: {known}; check the spelling or [plugins] paths",
            )
        plugin = load_plugin(source)
        pm.register(plugin, name=name)
        validate_plugin(pm, name, config)
    return pm


def call_impl(impl: pluggy.HookImpl, kwargs: Mapping[str, Any]) -> Any:
    """Given one hook implementation and the hook's arguments, call it with the ones it asks for."""
    missing = [arg for arg in impl.argnames if arg not in kwargs]
    if missing:
        raise TypeError(f"hook implementation asks for unknown argument(s) {missing}")
    return impl.function(*(kwargs[arg] for arg in impl.argnames))


@dataclass(frozen=True)
class HookOutcome:
    plugin: str
    value: Any = None
    error: str = ""


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[HookOutcome]:
    """Given a hook and its arguments, call every plugin's implementation in turn; never raise.

    For notification hooks (encounter detected/changed/withdrawn, prep-note sections): a plugin's
    exception is logged with its name and reported in its :class:`HookOutcome`; the others still
    run.
    """
    caller = getattr(pm.hook, hook_name)
    outcomes = []
    # pluggy lists implementations last-registered first; report in registration order.
    for impl in reversed(caller.get_hookimpls()):
        try:
            outcomes.append(HookOutcome(impl.plugin_name, value=call_impl(impl, kwargs)))
        except Exception as exc:
            message = f"{type(exc).__name__}: {one_line(str(exc))}"
            log.warning("plugin %s failed in %s: %s", impl.plugin_name, hook_name, message)
            outcomes.append(HookOutcome(impl.plugin_name, error=message))
    return outcomes


def add_plugin_commands(group: Any, config: Config) -> None:
    """Given the CLI's click group, let the enabled plugins add their commands to it."""
    pm = make_plugin_manager(config)
    call_each(pm, "register_commands", cli=group)


def plugins_status(config: Config, health: Mapping[str, Any] | None = None) -> list[PluginStatus]:
    """Given the config and the store's plugin-health document, return one status per plugin.

    Every discovered plugin is listed; enabled ones are loaded and checked here, so a plugin that
    fails to load or rejects its settings shows as failing with that error. Otherwise the last
    delivery error recorded in ``health`` (see :mod:`mendcrm.delivery`) is shown, if any.
    """
    records: Mapping[str, Any] = (health or {}).get("plugins", {})
    available = discover(config)
    names = sorted(set(available) | set(config.plugins.enabled))
    rows = []
    for name in names:
        source = available.get(name)
        enabled = name in config.plugins.enabled
        record = records.get(name, {})
        if source is None:
            rows.append(PluginStatus(name, "missing", "", enabled, error="not installed"))
            continue
        hooks: tuple[str, ...] = ()
        error = record.get("last_error", "") if record.get("failures", 0) else ""
        error_at = record.get("last_error_at", "") if error else ""
        if enabled:
            pm = new_plugin_manager()
            try:
                pm.register(load_plugin(source), name=name)
                validate_plugin(pm, name, config)
            except MendError as exc:
                error, error_at = str(exc), ""
            hooks = (
                tuple(sorted(h.name for h in pm.get_hookcallers(pm.get_plugin(name)) or []))
                if pm.get_plugin(name) is not None
                else ()
            )
        rows.append(
            PluginStatus(
                name,
                source.origin,
                source.location,
                enabled,
                hooks,
                error,
                error_at,
                int(record.get("delivered", 0)),
            )
        )
    return rows


def one_line(text: str, limit: int = 300) -> str:
    """Given any message, return it on one line and at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


__all__ = [
    "ENTRY_POINT_GROUP",
    "PLUGIN_HEALTH_ID",
    "HookOutcome",
    "PluginSource",
    "PluginStatus",
    "add_plugin_commands",
    "builtin_plugin_dir",
    "call_each",
    "call_impl",
    "discover",
    "load_module_from_path",
    "make_plugin_manager",
    "new_plugin_manager",
    "one_line",
    "plugins_status",
]
