"""Which calendar event is the user going to a programme's conference (issue 13: an event
overlapping the programme's dates whose title or place holds its title or acronym without the
year, or a ``calendar_match`` term)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mendcrm.config.model import ProgrammeConfig
from mendcrm.programmes.encounters import conference_event
from mendcrm.programmes.model import Programme
from tests.core.builders import occurrence

FINOPS = Programme(
    "FinOps Summit 2027",
    (),
    acronym="finops-2027",
    first_day=date(2027, 3, 11),
    last_day=date(2027, 3, 12),
)
DAY_ONE = datetime(2027, 3, 11, 9, tzinfo=UTC)


def _going(summary: str = "", location: str = "", *, start: datetime = DAY_ONE, **kw: object):
    config = ProgrammeConfig(name="finops", path=None, **kw)  # type: ignore[arg-type]
    occ = occurrence("conf", start=start, hours=8, summary=summary, location=location)
    return conference_event(FINOPS, config, [occ])


@pytest.mark.parametrize(
    ("summary", "location"),
    [
        ("FinOps Summit", ""),  # the title without its year
        ("FINOPS SUMMIT 2027 (Lisbon)", ""),
        ("Trip", "FinOps Summit venue"),  # in the place
        ("FinOps day 1", ""),  # the acronym without its year
    ],
)
def test_named_by_title_or_acronym(summary: str, location: str) -> None:
    assert _going(summary, location) is not None


@pytest.mark.parametrize(
    "summary",
    [
        "Summit prep",  # part of the title is not the title
        "Cloud costs workshop",
        "Summit",
    ],
)
def test_not_named(summary: str) -> None:
    assert _going(summary) is None


def test_calendar_match_terms() -> None:
    assert _going("Lisbon cost conference") is None
    assert _going("Lisbon cost conference", calendar_match=("cost conference",)) is not None


def test_only_overlapping_the_programmes_dates() -> None:
    # A day of slack either side for the zones; a week later is another event.
    assert _going("FinOps Summit", start=DAY_ONE - timedelta(days=1)) is not None
    assert _going("FinOps Summit", start=DAY_ONE + timedelta(days=7)) is None
    assert _going("FinOps Summit", start=DAY_ONE - timedelta(days=7)) is None


def test_the_longest_event_is_the_conference() -> None:
    flight = occurrence(
        "flight", start=DAY_ONE - timedelta(hours=20), hours=3, summary="Flight to FinOps Summit"
    )
    conf = occurrence("conf", start=DAY_ONE, hours=40, summary="FinOps Summit")
    config = ProgrammeConfig(name="finops", path=None)
    found = conference_event(FINOPS, config, [flight, conf])
    assert found is not None and found.uid == "conf"
