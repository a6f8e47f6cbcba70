"""Every file of the shared iCalendar corpus goes through the reader without an exception."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendcrm.events import ReadContext, Span, read_object

CORPUS = Path(
    os.environ.get("MENDCRM_CORPUS")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "icalendar-tests"
)
FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []

EXPECTED: dict[str, tuple[int, str | None]] = {
    # file: (occurrences in 1970-2040, a fragment of the one warning expected, or None for none).
    # Worked out by reading each file (RFC 5545 references where it decides).
    # No VEVENT at all: nothing to read, nothing wrong with it.
    "empty.ics": (0, None),
    "bom_calendar.ics": (0, None),  # a UTF-8 BOM before BEGIN:VCALENDAR is dropped
    "issue_1050_empty_calendar.ics": (0, None),
    "time.ics": (0, None),  # one X- property of VALUE=TIME, no component
    "calendar_with_unicode.ics": (0, None),  # calendar properties in UTF-8, no component
    # One event each, in the span, nothing wrong: TZID=America/New_York is an IANA name;
    # EXDATE without a rule excludes nothing that exists (§3.8.5.1); escaped commas in
    # CATEGORIES are text (§3.3.11).
    "issue_1081_tzid_param.ics": (1, None),
    "issue_1081_list_of_properties.ics": (1, None),
    "issue_127_categories_with_commas.ics": (1, None),
    # DAILY;COUNT=10 from 2025-01-01T10:00Z: ten instances, all in the span (§3.3.10).
    "issue_1081_event_with_rrule.ics": (10, None),
    # One DATE-TIME DTSTART, no DTEND: an instant on 2025-01-01 (§3.6.1).
    "issue_1050_simple_calendar.ics": (1, None),
    # A lone RECURRENCE-ID component (its master missing) is still the one instance it names.
    "issue_1231_recurrence.ics": (1, None),
    # TZID=CUSTOM_tzid with no VTIMEZONE (§3.2.19 requires one): read in the user's zone, said.
    "issue_722_missing_VTIMEZONE_custom.ics": (1, "unknown TZID 'CUSTOM_tzid'"),
    # No DTSTART (§3.6.1 requires one without a METHOD): nothing to place in time.
    "issue_1081_with_summary.ics": (0, "event has no DTSTART"),
    # DTSTART:INVALID-DATE is no DATE or DATE-TIME (§3.3.4, §3.3.5).
    "broken_dtstart.ics": (0, "DTSTART"),
    "issue_1081_invalid_start_and_end.ics": (0, "DTSTART"),
    # FREQ=INVALID_TYPE_CAUSES_ERROR is none of the seven FREQ values (§3.3.10).
    "issue_1081_invalid_rrule_freq.ics": (0, "INVALID_TYPE_CAUSES_ERROR"),
}
"""Files whose outcome is checked exactly. The rest of the corpus (106 files) is held only to
the weaker rule below: occurrences or a warning. Extending this table is open work."""


@pytest.mark.skipif(not FILES, reason="the shared corpus is not beside the checkout")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file_yields_occurrences_or_warnings(path: Path) -> None:
    context = ReadContext(
        source="feed:corpus",
        calendar=str(path.parent),
        zone=ZoneInfo("Europe/Berlin"),
        my_emails=frozenset({"me@example.com"}),
        max_occurrences=200,
    )
    # A wide span, so the recurrence code runs on every series in the corpus.
    span = Span(datetime(1970, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # icalendar notes its guesses; the reader's own are checked
        reading = read_object(path.read_bytes(), span, context, href=path.name)
    for occurrence in reading.occurrences:
        assert occurrence.start.tzinfo is not None and occurrence.end >= occurrence.start
        assert occurrence.source == "feed:corpus" and occurrence.uid
    for warning in reading.warnings:
        assert path.name in warning and "\n" not in warning
    if path.name in EXPECTED:
        count, warning = EXPECTED[path.name]
        assert len(reading.occurrences) == count, reading.warnings
        if warning is None:
            assert reading.warnings == []
        else:
            assert len(reading.warnings) == 1 and warning in reading.warnings[0], reading.warnings
        return
    assert reading.occurrences or reading.warnings or _has_no_timed_event(path)


def test_the_table_names_files_the_corpus_holds() -> None:
    if FILES:
        assert set(EXPECTED) <= {p.name for p in FILES}


def _has_no_timed_event(path: Path) -> bool:
    text = path.read_text(errors="replace").upper()
    return "BEGIN:VEVENT" not in text or "DTSTART" not in text
