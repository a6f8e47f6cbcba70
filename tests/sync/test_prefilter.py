"""The raw-text pre-filter (:func:`mendcrm.events.prefilter.proven_outside`): skipping an object
it proves outside the span never changes what the reader finds.

The property, for every object and span: ``proven_outside(data, span)`` implies
``read_object(data, span, …)`` has no occurrence, in the user's zone at both extremes of UTC
offsets (+14 h Kiritimati, −11 h Pago Pago) and in UTC. Filtered results then equal unfiltered
ones, since an object without occurrences contributes nothing. It runs over the real-world
corpus (tests/corpus/realworld, the shared icalendar corpus), the bench's generated calendar,
objects drawn around the span's edges, and the hostile generator of the reader's own tests.

The cases written out below state from RFC 5545 what must be proven and what must be refused,
so the property cannot hold by the filter proving nothing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mendcrm.events import ReadContext, Span, read_object
from mendcrm.events.prefilter import proven_outside
from tests.sync.hostile_ics import hostile_calendar
from tests.sync.ics import calendar, event, vevent

ZONES = (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago"), UTC)
SPAN = Span(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
BASE = datetime(2026, 5, 1)

REALWORLD = Path(__file__).resolve().parents[1] / "corpus" / "realworld"
SHARED = Path(
    os.environ.get("MENDCRM_CORPUS")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "icalendar-tests"
)


def _occurrences(data: bytes, span: Span) -> list[object]:
    found: list[object] = []
    for zone in ZONES:
        ctx = ReadContext(source="s", calendar="c", zone=zone, my_emails=frozenset({"me@x.org"}))
        found += read_object(data, span, ctx, href="x.ics").occurrences
    return found


def _check(data: bytes, span: Span) -> bool:
    """Assert the property for one object and span; return whether the filter skipped it."""
    skipped = proven_outside(data, span)
    if skipped:
        assert _occurrences(data, span) == [], data.decode("utf-8", "replace")
    return skipped


def _corpus_files() -> list[Path]:
    files = sorted(REALWORLD.rglob("*.ics"))
    if SHARED.is_dir():
        files += sorted(SHARED.rglob("*.ics"))
    return files


def _spans() -> list[Span]:
    """Spans from 1600 to 2100, a year wide, and narrow ones around each corpus's own dates."""
    spans = [
        Span(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
        for year in (1601, 1970, 1997, 2000, 2006, 2010, 2015, 2020, 2024, 2025, 2026, 2030, 2099)
    ]
    start = datetime(2024, 12, 20, tzinfo=UTC)
    spans += [Span(start + timedelta(days=d), start + timedelta(days=d + 9)) for d in range(0, 40)]
    return spans


def test_corpus_objects_skipped_only_when_they_have_no_occurrence() -> None:
    files = _corpus_files()
    assert len(files) >= 45  # the realworld corpus alone has 49 objects
    skipped = 0
    for path in files:
        data = path.read_bytes()
        for span in _spans():
            skipped += _check(data, span)
    # Not vacuous: most files lie outside most of these spans, and the filter proves it.
    assert skipped > len(files) * 5


def test_bench_calendar_skipped_only_when_it_has_no_occurrence() -> None:
    from bench.generate import generate_calendar

    span = Span(datetime(2026, 4, 30, 9, tzinfo=UTC), datetime(2026, 6, 7, 9, tzinfo=UTC))
    objects = generate_calendar(300, seed=11)
    skipped = sum(_check(o.ics.encode(), span) for o in objects)
    # Two years of events against 38 days: about nine in ten lie outside (24 recurring series
    # among them, those that started after the span or ended before it by COUNT).
    assert skipped > 240


# -- cases worked out from the RFC ------------------------------------------------------------


def _b(text: str) -> bytes:
    return text.encode()


@pytest.mark.parametrize(
    "text",
    [
        # A single event a year before the span, and one a year after it.
        event("a", "20250501T100000Z", "20250501T110000Z"),
        event("b", "DTSTART;TZID=Europe/Berlin:20270501T100000"),
        # All-day, three days ending 2026-04-20 (DTEND is exclusive, §3.6.1): 11 days before.
        event("c", "DTSTART;VALUE=DATE:20260417", "DTEND;VALUE=DATE:20260420"),
        # Lower-case names are the same properties (§3.1), folded lines are unfolded first.
        "begin:vcalendar\nbegin:vevent\nuid:d\ndtstart:2025\n 0101T100000Z\nend:vevent\n"
        "end:vcalendar\n",
        # WEEKLY;COUNT=4 from 2026-03-02: the last instance starts 2026-03-23 (§3.3.10).
        event("e", "20260302T100000Z", "20260302T110000Z", extra=["RRULE:FREQ=WEEKLY;COUNT=4"]),
        # UNTIL bounds every instance's start, whatever the BY parts (§3.3.10).
        event("f", "20250101T100000Z", extra=["RRULE:FREQ=MONTHLY;BYDAY=1MO;UNTIL=20260301"]),
        # A series starting after the span, with an override moved later still.
        calendar(
            vevent("g", "20260701T100000Z", extra=["RRULE:FREQ=DAILY"]),
            vevent("g", "20260710T120000Z", extra=["RECURRENCE-ID:20260703T100000Z"]),
        ),
        # A DTSTART inside a VALARM is the alarm's, not the event's.
        event("h", "20250101T100000Z", extra=["BEGIN:VALARM", "DTSTART:20260515T000000Z",
                                                "TRIGGER:-PT5M", "END:VALARM"]),
    ],
)  # fmt: skip
def test_proven_outside(text: str) -> None:
    assert proven_outside(_b(text), SPAN)
    assert _occurrences(_b(text), SPAN) == []


@pytest.mark.parametrize(
    "text",
    [
        # Inside the span, and just outside it: within a day of the edge a zone could move it in.
        event("a", "20260515T100000Z"),
        event("b", "DTSTART;TZID=Pacific/Kiritimati:20260601T050000"),
        event("c", "DTSTART;VALUE=DATE:20260430"),
        # A series with no end, started before the span: it may have instances in it.
        event("d", "20250101T100000Z", extra=["RRULE:FREQ=YEARLY"]),
        # COUNT with BY parts: how far it reaches needs the expansion.
        event("e", "20250101T100000Z", extra=["RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3"]),
        # RDATE adds instances anywhere (§3.8.5.2); THISANDFUTURE moves later ones (§3.8.4.4).
        event("f", "20250101T100000Z", extra=["RDATE:20260510T100000Z"]),
        calendar(
            vevent("g", "20250101T100000Z", extra=["RRULE:FREQ=DAILY;COUNT=3"]),
            vevent(
                "g",
                "20250301T100000Z",
                extra=["RECURRENCE-ID;RANGE=THISANDFUTURE:20250102T100000Z"],
            ),
        ),
        # X-WR-TIMEZONE moves times (the reader applies it); a DTSTART written twice; a value
        # outside the DATE/DATE-TIME grammar; a VEVENT nested in another component.
        calendar(vevent("h", "20250101T100000Z"), head=["X-WR-TIMEZONE:Europe/Berlin"]),
        event("i", "20250101T100000Z", extra=["DTSTART:20260510T100000Z"]),
        event("j", "DTSTART;VALUE=PERIOD:20250101T100000Z/PT1H"),
        calendar("BEGIN:X-BOX\n" + vevent("k", "20250101T100000Z") + "END:X-BOX\n"),
        # A negative DURATION and a bare CR line end.
        event("l", "20250101T100000Z", extra=["DURATION:-P1D"]),
        event("m", "20250101T100000Z").replace("\n", "\r"),
    ],
)
def test_not_proven(text: str) -> None:
    assert not proven_outside(_b(text), SPAN)


# -- generated objects ------------------------------------------------------------------------

_CUSTOM_ZONE = (
    "BEGIN:VTIMEZONE\nTZID:Far\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+2330\n"
    "TZOFFSETTO:-2330\nEND:STANDARD\nEND:VTIMEZONE\n"
)


@st.composite
def _time(draw: st.DrawFn) -> str:
    """A DATE or DATE-TIME within about 60 days of the span, in one of several zone forms."""
    moment = BASE + timedelta(minutes=draw(st.integers(-90 * 1440, 90 * 1440)))
    if draw(st.integers(0, 4)) == 0:
        return f";VALUE=DATE:{moment:%Y%m%d}"
    zone = draw(st.sampled_from(["", "Z", "Europe/Berlin", "Pacific/Kiritimati", "Far", "Nope"]))
    stamp = f"{moment:%Y%m%dT%H%M%S}"
    if zone in ("", "Z"):
        return f":{stamp}{zone}"
    return f";TZID={zone}:{stamp}"


@st.composite
def _event(draw: st.DrawFn, uid: str) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART{draw(_time())}"]
    choice = draw(st.integers(0, 2))
    if choice == 1:
        lines.append(f"DTEND{draw(_time())}")
    elif choice == 2:
        lines.append(
            "DURATION:" + draw(st.sampled_from(["PT1H", "P1D", "P2W", "P0D", "PT36H", "P1DT2H"]))
        )
    if draw(st.booleans()):
        freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"]))
        rule = f"FREQ={freq};INTERVAL={draw(st.integers(1, 3))}"
        end = draw(st.integers(0, 2))
        if end == 1:
            rule += f";COUNT={draw(st.integers(1, 30))}"
        elif end == 2:
            until = BASE + timedelta(hours=draw(st.integers(-90 * 24, 90 * 24)))
            rule += f";UNTIL={until:%Y%m%d}" + draw(st.sampled_from(["", "T120000", "T120000Z"]))
        if draw(st.integers(0, 3)) == 0:
            rule += ";BYDAY=MO,TH"
        lines.append(f"RRULE:{rule}")
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"RECURRENCE-ID{draw(_time())}")
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"EXDATE{draw(_time())}")
    if draw(st.integers(0, 4)) == 0:
        lines += ["BEGIN:VALARM", f"DTSTART{draw(_time())}", "TRIGGER:-PT5M", "END:VALARM"]
    lines.append("END:VEVENT")
    return lines


@st.composite
def timed_calendar(draw: st.DrawFn) -> bytes:
    """A calendar of one to three VEVENTs (one UID: a master and overrides, or lone events)
    with their times around the span, in random case, folded at random points."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", *_CUSTOM_ZONE.strip().split("\n")]
    uid = draw(st.sampled_from(["same", "other"]))
    for index in range(draw(st.integers(1, 3))):
        lines += draw(_event(uid if uid == "same" else f"u{index}"))
    lines.append("END:VCALENDAR")
    out = []
    for line in lines:
        if draw(st.integers(0, 5)) == 0:
            name, sep, rest = line.partition(":")
            line = name.lower() + sep + rest
        if len(line) > 4 and draw(st.integers(0, 3)) == 0:
            cut = draw(st.integers(1, len(line) - 1))
            line = line[:cut] + "\r\n " + line[cut:]
        out.append(line)
    ending = draw(st.sampled_from(["\r\n", "\n"]))
    return (ending.join(out) + ending).encode()


@st.composite
def span(draw: st.DrawFn) -> Span:
    start = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(-1500, 1500)))
    return Span(start, start + timedelta(hours=draw(st.integers(1, 40 * 24))))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=timed_calendar(), window=span())
def test_generated_objects(data: bytes, window: Span) -> None:
    _check(data, window)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hostile_calendar(), window=span())
def test_hostile_objects(data: bytes, window: Span) -> None:
    _check(data, window)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"\r\n", b"\n", b" ", b"\t", b"A", b":", b"\r\n ", b"\n\t", b"\xc3"]),
        max_size=30,
    ).map(b"".join)
)
def test_the_cheap_unfolding_is_the_reader_unfolding(data: bytes) -> None:
    # Without a bare CR (the filter refuses those first), the plain replacements unfold exactly
    # as the reader's octet-level unfolding (RFC 5545 §3.1) does.
    from mendcrm.events.octets import unfold_octets
    from mendcrm.events.prefilter import _unfolded

    assert _unfolded(data) == unfold_octets(data)
