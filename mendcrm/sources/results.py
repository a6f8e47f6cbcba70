"""What a sync pass hands back: occurrences, new state documents, and a report per calendar."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mendcrm.model import Occurrence


@dataclass(slots=True)
class CalendarReport:
    """How one calendar's sync went. ``error`` is a one-line message when it failed.

    ``method`` is how changes were found: ``sync-token``, ``ctag``, ``time-range``, ``feed``,
    or ``unchanged`` when the cheap check showed nothing new; a first sync says how it read
    the calendar: ``sync-token``/``ctag``/``time-range`` when it asked for the window only
    (a time-range query), ``sync-multiget`` when it listed every object with a sync-collection
    REPORT and fetched them all by calendar-multiget (servers whose time-range query costs more
    than that, see :mod:`mendcrm.sources.strategy`). ``fetched`` counts objects downloaded,
    ``filtered`` those of them proven outside the horizon from their raw text and so never
    parsed (:mod:`mendcrm.events.prefilter`), ``changed``/``deleted`` what that changed in the
    state.
    """

    source: str
    calendar: str
    name: str = ""
    method: str = ""
    fetched: int = 0
    filtered: int = 0
    changed: int = 0
    deleted: int = 0
    occurrences: int = 0
    requests: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    suspicious: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SourceReport:
    """One account or feed as a whole: its calendars' totals plus discovery requests."""

    source: str
    requests: int = 0
    seconds: float = 0.0
    error: str = ""
    skipped: bool = False
    calendars: list[CalendarReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SyncResult:
    """The outcome of :func:`mendcrm.sources.sync_sources`.

    ``occurrences``: every occurrence in the window, from every calendar known (unchanged ones
    from the stored state; a failed calendar contributes its last good state).
    ``state``: the complete new ``sync_state`` table, keyed by document id.
    ``stale_keys``: ids present before that should be deleted now.
    ``failed_sources``: sources that failed or looked suspicious this pass; planning must not
    withdraw their encounters because an occurrence is missing.
    """

    occurrences: list[Occurrence] = field(default_factory=list)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale_keys: set[str] = field(default_factory=set)
    reports: list[CalendarReport] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)
    failed_sources: set[str] = field(default_factory=set)

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.reports for w in r.warnings]

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.sources)

    def summary(self) -> dict[str, Any]:
        """Return the JSON-ready summary for ``mendcrm sync --json``."""
        return {
            "occurrences": len(self.occurrences),
            "failed_sources": sorted(self.failed_sources),
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar found on an account."""

    name: str
    url: str
    components: tuple[str, ...] = ()
    sync_token: bool = False
    ctag: bool = False
    selected: bool = True


@dataclass(frozen=True, slots=True)
class AccountTestReport:
    """What ``mendcrm account test`` found on an account."""

    account: str
    url: str
    principal: str
    home: str
    calendars: tuple[CalendarInfo, ...]
    sync_token: bool
    requests: int
    seconds: float
    addresses: tuple[str, ...] = ()
    """The principal's calendar-user-address-set (RFC 6638 §2.4.1): MendCRM counts these as
    the user's own, with ``[me] emails``."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


__all__ = ["AccountTestReport", "CalendarInfo", "CalendarReport", "SourceReport", "SyncResult"]
