"""Every file of the shared iCalendar corpus goes through the reader without an exception."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendcrm.events import ReadContext, Span, read_object

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "icalendar-tests"
FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


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
    assert reading.occurrences or reading.warnings or _has_no_timed_event(path)


def _has_no_timed_event(path: Path) -> bool:
    text = path.read_text(errors="replace").upper()
    return "BEGIN:VEVENT" not in text or "DTSTART" not in text
