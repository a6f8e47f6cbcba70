"""Loading the configuration as a pipeline: read → validate → build → logical checks.

Each step raises :class:`~mendcrm.errors.ConfigError` with one line naming the file, the key and
how to fix it; nothing downstream ever sees an unchecked value.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mendcrm.config.model import (
    AccountConfig,
    Config,
    DaemonConfig,
    DetectionConfig,
    FeedConfig,
    FollowupConfig,
    MeConfig,
    PluginsConfig,
    PrepConfig,
    ProgrammeConfig,
    StoreConfig,
    SyncConfig,
    UiConfig,
)
from mendcrm.config.paths import default_config_path
from mendcrm.config.schema import (
    ARRAY_SECTIONS,
    FREE_TABLES,
    REQUIRED,
    SECTIONS,
    Key,
    parse_clock,
    parse_duration,
)
from mendcrm.errors import ConfigError
from mendcrm.urls import UrlProblem, url_problem

# Kept importable from here for callers written before mendcrm.urls existed.

ENV_VAR = "MENDCRM_CONFIG"


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """Given ``--config`` (or None), return the path to use and whether the user chose it.

    The order is ``--config``, then ``$MENDCRM_CONFIG``, then the user's config directory.
    """
    if explicit is not None:
        return explicit.expanduser(), True
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


def load_config(explicit: Path | None = None) -> Config:
    """Given ``--config`` (or None), return the validated Config; raise ConfigError if unusable.

    A missing file at the default location means "all defaults"; a missing file the user named
    is an error.
    """
    path, chosen = config_path(explicit)
    if not path.exists():
        if chosen:
            raise ConfigError(
                f"config file {path} does not exist",
                hint="create it with `mendcrm init`, or check --config / $MENDCRM_CONFIG",
            )
        return Config()
    raw = read_toml(path)
    validate(raw, path)
    config = build(raw, path)
    check_logic(config, path)
    return config


def read_toml(path: Path) -> dict[str, Any]:
    """Given a file path, return its parsed TOML; raise ConfigError naming the line if not TOML."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        # TOML is UTF-8 (toml.io, "Spec"); a BOM as Windows editors write it is tolerated.
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8 in your editor",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}", hint="fix the syntax at the line named"
        ) from None


def validate(raw: dict[str, Any], path: Path) -> None:
    """Given parsed TOML, raise ConfigError at the first unknown key, wrong type or bad value."""
    for section, value in raw.items():
        if section in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{path}: [{section}] must be a table", hint=f"write it as [{section}]"
                )
            _validate_table(
                value, SECTIONS[section], f"{section}.", path, free=section in FREE_TABLES
            )
        elif section in ARRAY_SECTIONS:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(
                    f"{path}: {section} must be an array of tables",
                    hint=f"write each entry as [[{section}]]",
                )
            for index, entry in enumerate(value):
                where = f"{section}[{index}]."
                _validate_table(entry, ARRAY_SECTIONS[section], where, path)
                for key in REQUIRED[section]:
                    if key not in entry:
                        raise ConfigError(
                            f"{path}: [[{section}]] entry {index + 1} has no `{key}`",
                            hint=f'add {key} = "…" to that entry',
                        )
        else:
            raise ConfigError(
                f"{path}: unknown section or key `{section}`",
                hint="known sections: " + ", ".join(sorted([*SECTIONS, *ARRAY_SECTIONS])),
            )


def _validate_table(
    table: dict[str, Any], keys: dict[str, Key], prefix: str, path: Path, *, free: bool = False
) -> None:
    for name, value in table.items():
        spec = keys.get(name)
        if spec is None:
            if free and isinstance(value, dict):
                continue  # [plugins.NAME] tables are validated by the plugin that owns them
            raise ConfigError(
                f"{path}: unknown key `{prefix}{name}`",
                hint="known keys here: " + ", ".join(sorted(keys)),
            )
        # bool is an int subclass in Python; a TOML `true` must not pass for a number
        if not isinstance(value, spec.types) or (
            isinstance(value, bool) and bool not in spec.types
        ):
            raise ConfigError(
                f"{path}: `{prefix}{name}` must be {spec.expect}, not {_toml_type(value)}",
                hint=f"change the value of {prefix}{name}",
            )
        if spec.check is not None:
            problem = spec.check(value)
            if problem:
                raise ConfigError(
                    f"{path}: `{prefix}{name}` = {value!r} is not valid", hint=problem
                )


def _toml_type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _path(value: str | None, base: Path) -> Path | None:
    if not value:
        return None
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def build(raw: dict[str, Any], path: Path) -> Config:
    """Given validated TOML, return the Config, relative paths taken from the file's folder."""
    base = path.parent
    me = raw.get("me", {})
    sync = raw.get("sync", {})
    detection = raw.get("detection", {})
    prep = raw.get("prep", {})
    followup = raw.get("followup", {})
    plugins = raw.get("plugins", {})
    daemon = raw.get("daemon", {})
    ui = raw.get("ui", {})
    return Config(
        me=MeConfig(
            name=me.get("name", ""),
            emails=tuple(e.strip().lower() for e in me.get("emails", [])),
            timezone=me.get("timezone", ""),
            day_starts=parse_clock(me["day_starts"])
            if "day_starts" in me
            else MeConfig().day_starts,
            day_ends=parse_clock(me["day_ends"]) if "day_ends" in me else MeConfig().day_ends,
        ),
        store=StoreConfig(
            path=_path(raw.get("store", {}).get("path"), base),
            retention_days=raw.get("store", {}).get("retention_days", StoreConfig().retention_days),
        ),
        sync=SyncConfig(**sync),
        detection=DetectionConfig(
            conference_keywords=tuple(
                detection.get("conference_keywords", DetectionConfig().conference_keywords)
            ),
            min_confidence=detection.get("min_confidence", DetectionConfig().min_confidence),
        ),
        prep=PrepConfig(
            lead=parse_duration(prep["lead"]) if "lead" in prep else PrepConfig().lead,
            conference_evening_hour=prep.get(
                "conference_evening_hour", PrepConfig().conference_evening_hour
            ),
            template=_path(prep.get("template"), base),
        ),
        followup=FollowupConfig(
            delay=parse_duration(followup["delay"])
            if "delay" in followup
            else FollowupConfig().delay,
            template=_path(followup.get("template"), base),
        ),
        playbook=_path(raw.get("playbook", {}).get("path"), base),
        accounts=tuple(_account(entry, base) for entry in raw.get("accounts", [])),
        feeds=tuple(
            FeedConfig(
                name=e["name"],
                url=e.get("url", ""),
                path=_path(e.get("path"), base),
                user_agent=e.get("user_agent", "").strip(),
            )
            for e in raw.get("feeds", [])
        ),
        programmes=tuple(
            ProgrammeConfig(
                name=e["name"],
                url=e.get("url", ""),
                path=_path(e.get("path"), base),
                format=e.get("format", "auto"),
                timezone=e.get("timezone", ""),
                calendar_match=tuple(e.get("calendar_match", ())),
                refresh_hours=e.get("refresh_hours", ProgrammeConfig("").refresh_hours),
                attend=e.get("attend", False),
            )
            for e in raw.get("programmes", [])
        ),
        plugins=PluginsConfig(
            enabled=tuple(plugins.get("enabled", [])),
            paths=tuple(p for p in (_path(v, base) for v in plugins.get("paths", [])) if p),
            settings={k: v for k, v in plugins.items() if isinstance(v, dict)},
            timeout_seconds=plugins.get("timeout_seconds", PluginsConfig().timeout_seconds),
        ),
        daemon=DaemonConfig(**daemon),
        ui=UiConfig(
            **{k: v for k, v in ui.items() if k in ("enabled", "host", "port")},
            tls_cert=_path(ui.get("tls_cert"), base),
            tls_key=_path(ui.get("tls_key"), base),
            allowed_hosts=tuple(h.strip() for h in ui.get("allowed_hosts", [])),
        ),
        source=path,
    )


def _account(entry: dict[str, Any], base: Path) -> AccountConfig:
    values = dict(entry)
    for key in ("password_command", "calendars", "exclude"):
        if key in values:
            values[key] = tuple(values[key])
    if "ca_file" in values:
        values["ca_file"] = _path(values["ca_file"], base)
    return AccountConfig(**values)


def check_logic(config: Config, path: Path) -> None:
    """Given a built Config, raise ConfigError for what is well-typed but cannot work together."""
    if config.me.day_starts >= config.me.day_ends:
        raise ConfigError(
            f'{path}: `me.day_starts` = "{config.me.day_starts:%H:%M}" is not before '
            f'`me.day_ends` = "{config.me.day_ends:%H:%M}"',
            hint="the day runs from day_starts to day_ends on one date, e.g. "
            'day_starts = "08:00", day_ends = "21:00"',
        )
    names: set[str] = set()
    for source, kind in (
        [(a.name, "account") for a in config.accounts]
        + [(f.name, "feed") for f in config.feeds]
        + [(p.name, "programme") for p in config.programmes]
    ):
        if source in names:
            raise ConfigError(
                f"{path}: two sources are named {source!r}",
                hint="give each account, feed and programme its own name "
                f"(this {kind} is a duplicate)",
            )
        names.add(source)
    for account in config.accounts:
        problem = url_problem(account.url)
        if problem is UrlProblem.NOT_HTTP:
            raise ConfigError(
                f"{path}: account {account.name!r}: url {account.url!r} is not an http(s) URL",
                hint="use the server's CalDAV address, e.g. https://dav.example.org/",
            )
        if problem is UrlProblem.PLAIN_HTTP:
            raise ConfigError(
                f"{path}: account {account.name!r} uses plain http:// to "
                f"{urlsplit(account.url).hostname}",
                hint="use https:// — passwords and calendars must not cross the network "
                "unencrypted (plain http is allowed only for localhost)",
            )
        if account.ca_file is not None and not account.ca_file.is_file():
            raise ConfigError(
                f"{path}: account {account.name!r}: ca_file {account.ca_file} does not exist",
                hint="point ca_file at a PEM bundle, or remove the key to use the system's CAs",
            )
    for feed in config.feeds:
        if bool(feed.url) == bool(feed.path):
            raise ConfigError(
                f"{path}: feed {feed.name!r} needs exactly one of `url` or `path`",
                hint='use url = "https://…/calendar.ics" or path = "~/calendars/work"',
            )
        if feed.url and url_problem(feed.url) is not None:
            raise ConfigError(
                f"{path}: feed {feed.name!r}: url {feed.url!r} must be https://",
                hint="webcal:// feeds are https:// feeds; plain http is allowed only for localhost",
            )
    for programme in config.programmes:
        if bool(programme.url) == bool(programme.path):
            raise ConfigError(
                f"{path}: programme {programme.name!r} needs exactly one of `url` or `path`",
                hint='use url = "https://…/schedule.json" or path = "~/conferences/x.json"',
            )
        if programme.url and url_problem(programme.url) is not None:
            raise ConfigError(
                f"{path}: programme {programme.name!r}: url {programme.url!r} must be https://",
                hint="plain http is allowed only for localhost",
            )
    if (config.ui.tls_cert is None) != (config.ui.tls_key is None):
        raise ConfigError(
            f"{path}: [ui] needs both tls_cert and tls_key, or neither",
            hint="give the certificate and its private key as two PEM files",
        )
    for label, file in (("ui.tls_cert", config.ui.tls_cert), ("ui.tls_key", config.ui.tls_key)):
        if file is not None and not file.is_file():
            raise ConfigError(
                f"{path}: `{label}` names {file}, which does not exist",
                hint="point it at a PEM file (certificate, or its private key)",
            )
    for label, file in (
        ("playbook.path", config.playbook),
        ("prep.template", config.prep.template),
        ("followup.template", config.followup.template),
    ):
        if file is not None and not file.is_file():
            raise ConfigError(
                f"{path}: `{label}` names {file}, which does not exist",
                hint="fix the path, or remove the key to use the built-in one",
            )
