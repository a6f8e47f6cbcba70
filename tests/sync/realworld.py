"""Running the real-world corpus under ``tests/corpus/realworld/`` through every reader.

Each corpus file is one calendar object shaped as a real calendar tool writes it. The tests
state, per file, what RFC 5545 says its occurrences are; this module reads the files the ways
MendCRM does (the pure reader, a local file feed, a vdir folder, a CalDAV calendar) and returns
what came out in a form those expectations can be compared with.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mendcrm.config.model import FeedConfig
from mendcrm.events import ReadContext, Span, read_object
from mendcrm.model import Occurrence
from tests.fixtures.servers import DavAccount
from tests.sync.helpers import Syncer, make_config

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "realworld"
SPAN = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 31, tzinfo=UTC))
"""Inside the sync horizon of :data:`tests.sync.helpers.NOW` (1 May 2026, 30 days ahead)."""


@dataclass(frozen=True, order=True)
class Seen:
    """One occurrence as the expectations state it: UTC start and end, identity, all-day."""

    start: datetime
    end: datetime
    recurrence_id: str | None
    all_day: bool


def seen(occurrences: list[Occurrence], uid: str) -> list[Seen]:
    """Return the occurrences of ``uid``, in time order, as :class:`Seen` rows."""
    return sorted(
        Seen(o.start, o.end, o.recurrence_id, o.all_day) for o in occurrences if o.uid == uid
    )


def read_pure(path: Path, zone_name: str = "Europe/Berlin") -> tuple[list[Occurrence], list[str]]:
    """Read one corpus file with :func:`read_object` (the user in ``zone_name``)."""
    context = ReadContext(source="feed:corpus", calendar=str(path.parent), zone=ZoneInfo(zone_name))
    reading = read_object(path.read_bytes(), SPAN, context, href=path.name)
    return reading.occurrences, reading.warnings


def read_file_feed(path: Path) -> tuple[list[Occurrence], list[str]]:
    """Read one corpus file as a local ``.ics`` file feed, through a whole sync pass."""
    result = Syncer(make_config(feeds=(FeedConfig(name="file", path=path),)))()
    return list(result.occurrences), [w for r in result.reports for w in r.warnings]


def read_vdir(paths: list[Path], folder: Path) -> tuple[list[Occurrence], list[str]]:
    """Copy the corpus files into a vdir ``folder`` and read it through a whole sync pass."""
    folder.mkdir()
    for path in paths:
        shutil.copy(path, folder / path.name)
    result = Syncer(make_config(feeds=(FeedConfig(name="vdir", path=folder),)))()
    return list(result.occurrences), [w for r in result.reports for w in r.warnings]


def read_caldav(
    paths: list[Path], account: DavAccount, *, one_calendar_each: bool = False
) -> tuple[dict[str, list[Occurrence]], list[str], list[str]]:
    """Store the corpus files on a CalDAV server and sync; return the occurrences of the
    calendar each file went into (by file name), the warnings, and the names of the files the
    server refused to store (a server may reject what it finds invalid, which is its right:
    those are then not read from it).

    ``one_calendar_each`` puts every file in a calendar of its own: files that are versions of
    one series share a UID, which one calendar may hold only once (RFC 4791 §5.3.2.1).
    """
    where: dict[str, str] = {}
    refused: list[str] = []
    calendar = ""
    for path in paths:
        if one_calendar_each or not calendar:
            calendar = account.new_calendar(path.stem)
        where[path.name] = calendar
        try:
            account.put(calendar, path.name, path.read_text())
        except AssertionError:
            refused.append(path.name)
    result = Syncer(make_config((account.config("work"),)))()
    by_file = {
        name: [o for o in result.occurrences if o.calendar == url] for name, url in where.items()
    }
    return by_file, [w for r in result.reports for w in r.warnings], refused
