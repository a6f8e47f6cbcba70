"""The validated configuration, as frozen dataclasses.

:mod:`mendcrm.config.load` builds these from TOML; every other module receives them and never
reads the file itself. Defaults here are the documented defaults of ``config.example.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal

AnnotateMode = Literal["off", "dedicated", "inline"]
AnnotationDetail = Literal["discreet", "full"]

DEFAULT_CONFERENCE_KEYWORDS: tuple[str, ...] = (
    "conference",
    "summit",
    "expo",
    "congress",
    "symposium",
    "convention",
    "forum",
    "meetup",
    "workshop",
    "trade fair",
)


@dataclass(frozen=True, slots=True)
class MeConfig:
    """Who the user is: their own addresses (to find their PARTSTAT) and their time zone."""

    name: str = ""
    emails: tuple[str, ...] = ()
    timezone: str = ""
    """IANA zone name; empty means the system's zone."""
    day_starts: time = time(8, 0)
    day_ends: time = time(21, 0)
    """Notes fall due between these wall-clock times in ``timezone`` (see mendcrm.due_times)."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: Path | None = None
    """None means ``<user data dir>/mendcrm/store.json``."""
    retention_days: int = 90
    """Closed records nobody will read again leave the store this many days after they closed
    (see :mod:`mendcrm.retention`)."""


@dataclass(frozen=True, slots=True)
class SyncConfig:
    lookahead_days: int = 30
    interval_minutes: int = 15
    timeout_seconds: float = 30.0
    max_occurrences_per_series: int = 500
    max_object_bytes: int = 1_000_000
    request_deadline_seconds: float = 300.0
    """Total seconds one request to a server may take; ``timeout_seconds`` is per read."""
    listing_refresh_minutes: int = 60
    """How long an account's calendar listing is trusted: within it, a pass asks each known
    calendar for its changes directly; 0 lists the calendars on every pass."""


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    conference_keywords: tuple[str, ...] = DEFAULT_CONFERENCE_KEYWORDS
    min_confidence: float = 0.3


@dataclass(frozen=True, slots=True)
class PrepConfig:
    lead: timedelta = timedelta(hours=24)
    conference_evening_hour: int = 19
    """A conference's prep note is due at this local hour on the evening before it starts."""
    template: Path | None = None


@dataclass(frozen=True, slots=True)
class FollowupConfig:
    delay: timedelta = timedelta(hours=2)
    template: Path | None = None


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One CalDAV account. The password is never here: keyring or ``password_command``."""

    name: str
    url: str
    username: str = ""
    password_command: tuple[str, ...] = ()
    calendars: tuple[str, ...] = ()
    """Calendar names or URLs to include; empty means every event calendar."""
    exclude: tuple[str, ...] = ()
    annotate: AnnotateMode = "dedicated"
    annotation_calendar: str = "MendCRM"
    annotation_detail: AnnotationDetail = "discreet"
    annotation_minutes: int = 30
    ca_file: Path | None = None
    timeout_seconds: float | None = None
    """Per-account override of ``[sync] timeout_seconds``."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """A read-only calendar: an https .ics URL, a local .ics file or a vdir folder."""

    name: str
    url: str = ""
    path: Path | None = None
    user_agent: str = ""
    """The User-Agent for an https feed; empty means MendCRM's browser-like default."""


@dataclass(frozen=True, slots=True)
class ProgrammeConfig:
    """A conference programme: an https (or loopback http) URL or a local file, in one of the
    formats of :data:`mendcrm.config.schema.PROGRAMME_FORMATS`."""

    name: str
    url: str = ""
    path: Path | None = None
    format: str = "auto"
    timezone: str = ""
    """The zone of times written without a UTC offset (Sessionize, floating iCalendar)."""
    calendar_match: tuple[str, ...] = ()
    """Words that name the conference in the user's calendar, beside its title and acronym."""
    refresh_hours: float = 12.0
    """How often the daemon fetches it; a manual sync always asks."""
    attend: bool = False
    """The user goes, whether or not their calendar shows it (``mendcrm programme attend``)."""


@dataclass(frozen=True, slots=True)
class PluginsConfig:
    enabled: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each plugin's own ``[plugins.NAME]`` table, validated by the plugin."""
    timeout_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """``[daemon]``: how often due notes are delivered, how far apart a failing source is
    retried at most, and how long one sync pass may run before it is stopped."""

    deliver_interval_seconds: int = 60
    max_backoff_minutes: int = 60
    max_pass_minutes: int = 30


@dataclass(frozen=True, slots=True)
class UiConfig:
    """``[ui]``: whether the daemon serves the local web page too, and where. Off loopback it
    needs TLS (``tls_cert``/``tls_key``, PEM files) or a TLS-terminating proxy whose Host names
    are ``allowed_hosts``, plus a password in the keyring (``mendcrm ui set-password``)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration. ``source`` is the file it came from (None for defaults)."""

    me: MeConfig = MeConfig()
    store: StoreConfig = StoreConfig()
    sync: SyncConfig = SyncConfig()
    detection: DetectionConfig = DetectionConfig()
    prep: PrepConfig = PrepConfig()
    followup: FollowupConfig = FollowupConfig()
    playbook: Path | None = None
    accounts: tuple[AccountConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    programmes: tuple[ProgrammeConfig, ...] = ()
    plugins: PluginsConfig = PluginsConfig()
    daemon: DaemonConfig = DaemonConfig()
    ui: UiConfig = UiConfig()
    source: Path | None = None

    def account(self, name: str) -> AccountConfig | None:
        """Given an account name, return its config, or None if there is no such account."""
        return next((a for a in self.accounts if a.name == name), None)

    def programme(self, name: str) -> ProgrammeConfig | None:
        """Given a programme name, return its config, or None if there is no such programme."""
        return next((p for p in self.programmes if p.name == name), None)
