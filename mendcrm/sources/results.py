"""What a sync pass hands back: occurrences, new state documents, and a report per calendar."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mendcrm.events.window import Span
from mendcrm.model import Occurrence
from mendcrm.sources.state import calendar_occurrences


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


@dataclass(slots=True, init=False)
class SyncResult:
    """The outcome of :func:`mendcrm.sources.sync_sources`.

    ``occurrences``: every occurrence in the window, from every calendar known (unchanged ones
    from the stored state; a failed calendar contributes its last good state), in time order.
    They are expanded from ``state`` over ``window`` when first asked for: a pass that plans
    nothing (:mod:`mendcrm.pass_memo`) never builds them.
    ``state``: the complete new ``sync_state`` table, keyed by document id.
    ``stale_keys``: ids present before that should be deleted now.
    ``failed_sources``: sources that failed or looked suspicious this pass; planning must not
    withdraw their encounters because an occurrence is missing.
    ``window``: the window the occurrences come from (None when they were given some other way,
    e.g. in a test: then no pass may be skipped).
    """

    state: dict[str, dict[str, Any]]
    stale_keys: set[str]
    reports: list[CalendarReport]
    sources: list[SourceReport]
    failed_sources: set[str]
    window: Span | None
    _occurrences: list[Occurrence] | None

    def __init__(
        self,
        occurrences: list[Occurrence] | None = None,
        *,
        state: dict[str, dict[str, Any]] | None = None,
        window: Span | None = None,
    ) -> None:
        self.state = state if state is not None else {}
        self.stale_keys = set()
        self.reports = []
        self.sources = []
        self.failed_sources = set()
        self.window = window
        self._occurrences = occurrences if occurrences is not None else []

    def expand_from_state(self, window: Span) -> None:
        """Given the window, let ``occurrences`` come from ``state`` over it, when first asked."""
        self.window = window
        self._occurrences = None

    @property
    def occurrences(self) -> list[Occurrence]:
        if self._occurrences is None:
            assert self.window is not None
            found = [
                occurrence
                for doc in self.state.values()
                if doc.get("kind") == "calendar"
                for occurrence in calendar_occurrences(doc, self.window)
            ]
            found.sort(key=lambda o: (o.start, o.source, o.uid, o.recurrence_id or ""))
            self._occurrences = found
        return self._occurrences

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
