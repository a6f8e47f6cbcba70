"""Due times a person can act on: every kind of note falls due inside the user's day.

Each expected time below is worked out by hand from the rule (prep notes move earlier to the
previous ``day_ends``, follow-ups and nudges later to the next ``day_starts``, both read off the
user's wall clock) and the zone's offsets on that date, written as a literal UTC time with the
local reading beside it. None is computed with the functions under test.

Offsets used: Europe/Berlin is CET (UTC+1) in winter and CEST (UTC+2) in summer; in 2026 it
springs forward on 29 March at 02:00 CET (= 01:00 UTC, to 03:00 CEST) and falls back on
25 October at 03:00 CEST (= 01:00 UTC, to 02:00 CET). America/New_York is EST (UTC−5) / EDT
(UTC−4); in 2026 it springs forward on 8 March at 02:00 EST (= 07:00 UTC) and falls back on
1 November at 02:00 EDT (= 06:00 UTC).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendcrm.config import load_config
from mendcrm.config.model import Config, FollowupConfig, MeConfig, PrepConfig
from mendcrm.due_times import UserDay, due_time, evening_before, followup_due, prep_due
from mendcrm.errors import ConfigError
from mendcrm.model import Encounter, Interaction, Match, Occurrence
from tests.core.builders import PLAYBOOK, contact, run_plan

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def config(
    zone: str = "Europe/Berlin",
    *,
    lead: timedelta = timedelta(hours=1),
    delay: timedelta = timedelta(hours=2),
    starts: time = time(8, 0),
    ends: time = time(21, 0),
    evening: int = 19,
) -> Config:
    return Config(
        me=MeConfig(timezone=zone, day_starts=starts, day_ends=ends),
        prep=PrepConfig(lead=lead, conference_evening_hour=evening),
        followup=FollowupConfig(delay=delay),
    )


def encounter(
    start: datetime, end: datetime, *, kind: str = "meeting", all_day: bool = False
) -> Encounter:
    occurrence = Occurrence(
        source="account:work",
        calendar="https://dav.example/cal/",
        href="/cal/e.ics",
        uid="e",
        start=start,
        end=end,
        all_day=all_day,
    )
    return Encounter(
        id="enc-1",
        contact_id="c-robert",
        kind=kind,
        match=Match("attendee-email", "robert@example.org", 1.0),
        occurrence=occurrence,
    )


def prep(enc: Encounter, cfg: Config) -> datetime:
    return prep_due(enc, cfg, ZoneInfo(cfg.me.timezone))


def follow(enc: Encounter, cfg: Config) -> datetime:
    return followup_due(enc, cfg, ZoneInfo(cfg.me.timezone))


# -- prep notes move earlier, follow-ups later ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "lead", "expected", "why"),
    [
        # Wed 11 June 2025 (CEST). 07:30 − 1 h = 06:30, before 08:00 → the evening before:
        # Tue 10 June 21:00 CEST = 19:00 UTC.
        (utc(2025, 6, 11, 5, 30), timedelta(hours=1), utc(2025, 6, 10, 19, 0), "07:30 meeting"),
        # 08:15 − 1 h = 07:15: still before the day starts, so back to 21:00 the evening before,
        # not forward to 08:00 (a prep note never moves towards its meeting).
        (utc(2025, 6, 11, 6, 15), timedelta(hours=1), utc(2025, 6, 10, 19, 0), "08:15 meeting"),
        # 02:00 Thu 12 June − 1 h = 01:00 → Wed 11 June 21:00 CEST = 19:00 UTC.
        (utc(2025, 6, 12, 0, 0), timedelta(hours=1), utc(2025, 6, 11, 19, 0), "02:00, 1 h"),
        # 02:00 Thu − 24 h = 02:00 Wed → Tue 10 June 21:00 CEST.
        (utc(2025, 6, 12, 0, 0), timedelta(hours=24), utc(2025, 6, 10, 19, 0), "02:00, 24 h"),
        # 22:00 Wed − 30 min = 21:30, after 21:00 → 21:00 the same evening (19:00 UTC).
        (utc(2025, 6, 11, 20, 0), timedelta(minutes=30), utc(2025, 6, 11, 19, 0), "22:00 meeting"),
        # 23:00 Wed with no lead at all ("0m"): 23:00 → 21:00, still before the meeting.
        (utc(2025, 6, 11, 21, 0), timedelta(0), utc(2025, 6, 11, 19, 0), "no lead"),
        # Inside the day: unchanged. 10:00 − 1 h = 09:00 CEST = 07:00 UTC.
        (utc(2025, 6, 11, 8, 0), timedelta(hours=1), utc(2025, 6, 11, 7, 0), "10:00 meeting"),
        # The boundaries themselves are inside: 22:00 − 1 h = 21:00 stays 21:00.
        (utc(2025, 6, 11, 20, 0), timedelta(hours=1), utc(2025, 6, 11, 19, 0), "ends at 21:00"),
        # 09:00 − 1 h = 08:00 stays 08:00 (06:00 UTC).
        (utc(2025, 6, 11, 7, 0), timedelta(hours=1), utc(2025, 6, 11, 6, 0), "starts at 08:00"),
    ],
)
def test_a_prep_note_outside_the_day_moves_to_the_evening_before(
    start: datetime, lead: timedelta, expected: datetime, why: str
) -> None:
    cfg = config(lead=lead)
    due = prep(encounter(start, start + timedelta(hours=1)), cfg)
    assert due == expected, why
    assert due <= start


@pytest.mark.parametrize(
    ("start", "hours", "expected", "why"),
    [
        # 22:00–23:00 Wed 11 June CEST, + 2 h = 01:00 Thu → Thu 12 June 08:00 CEST = 06:00 UTC.
        (utc(2025, 6, 11, 20, 0), 1, utc(2025, 6, 12, 6, 0), "22:00 meeting"),
        # 19:00–20:00, + 2 h = 22:00 → next morning 08:00.
        (utc(2025, 6, 11, 17, 0), 1, utc(2025, 6, 12, 6, 0), "19:00 meeting"),
        # 02:00–03:00 Thu, + 2 h = 05:00 Thu → 08:00 the same morning.
        (utc(2025, 6, 12, 0, 0), 1, utc(2025, 6, 12, 6, 0), "02:00 meeting"),
        # 18:00–19:00, + 2 h = 21:00: the boundary is inside, unchanged (19:00 UTC).
        (utc(2025, 6, 11, 16, 0), 1, utc(2025, 6, 11, 19, 0), "ends the day exactly"),
    ],
)
def test_a_follow_up_outside_the_day_moves_to_the_next_morning(
    start: datetime, hours: int, expected: datetime, why: str
) -> None:
    assert follow(encounter(start, start + timedelta(hours=hours)), config()) == expected, why


def test_all_day_events() -> None:
    # All day on Wed 11 June 2025 in Berlin: 00:00 CEST Wed (22:00 UTC Tue) to 00:00 Thu.
    start, end = utc(2025, 6, 10, 22, 0), utc(2025, 6, 11, 22, 0)
    day_long = encounter(start, end, all_day=True)
    # Prep, lead 24 h: 00:00 Tue → before 08:00 → Mon 9 June 21:00 CEST = 19:00 UTC.
    assert prep(day_long, config(lead=timedelta(hours=24))) == utc(2025, 6, 9, 19, 0)
    # Prep, lead 2 h: 22:00 Tue → after 21:00 → Tue 21:00 CEST = 19:00 UTC.
    assert prep(day_long, config(lead=timedelta(hours=2))) == utc(2025, 6, 10, 19, 0)
    # Follow-up: 00:00 Thu + 2 h = 02:00 Thu → Thu 08:00 CEST = 06:00 UTC.
    assert follow(day_long, config()) == utc(2025, 6, 12, 6, 0)
    # A conference on that day: the evening before at 19:00 (inside) → Tue 17:00 UTC.
    conference = encounter(start, end, kind="conference", all_day=True)
    assert prep(conference, config()) == utc(2025, 6, 10, 17, 0)
    # …and at an evening hour of 22 (after day_ends) it moves earlier, to Tue 21:00 CEST.
    assert prep(conference, config(evening=22)) == utc(2025, 6, 10, 19, 0)
    # An evening hour before the day starts (06:00 Tue) → the evening before that, Mon 21:00.
    assert prep(conference, config(evening=6)) == utc(2025, 6, 9, 19, 0)


def test_a_conference_starting_in_the_evening_gets_its_note_in_time() -> None:
    # A conference opening Tue 10 June 2025 at 18:00 CEST (16:00 UTC): the evening before is
    # Mon 19:00 CEST = 17:00 UTC, inside the day.
    enc = encounter(utc(2025, 6, 10, 16, 0), utc(2025, 6, 12, 16, 0), kind="conference")
    assert prep(enc, config()) == utc(2025, 6, 9, 17, 0)
    day = UserDay(BERLIN)
    assert evening_before(utc(2025, 6, 10, 16, 0), 19, day) == utc(2025, 6, 9, 17, 0)


# -- daylight-saving nights -------------------------------------------------------------------


def test_berlin_spring_forward_night() -> None:
    cfg = config()
    # Meeting Sun 29 March 2026 07:30 CEST = 05:30 UTC; − 1 h = 06:30 CEST → the evening
    # before, Sat 28 March 21:00 CET = 20:00 UTC (a fixed +2 h reading would give 19:00 UTC).
    assert prep(encounter(utc(2026, 3, 29, 5, 30), utc(2026, 3, 29, 6, 30)), cfg) == utc(
        2026, 3, 28, 20, 0
    )
    # Meeting Sat 28 March 22:00–23:30 CET (21:00–22:30 UTC); + 2 h = 01:30 CET Sunday →
    # Sunday 08:00 CEST = 06:00 UTC (a fixed +1 h reading would give 07:00 UTC).
    assert follow(encounter(utc(2026, 3, 28, 21, 0), utc(2026, 3, 28, 22, 30)), cfg) == utc(
        2026, 3, 29, 6, 0
    )


def test_berlin_fall_back_night() -> None:
    cfg = config()
    # Meeting Sun 25 Oct 2026 07:30 CET = 06:30 UTC; − 1 h = 06:30 CET → Sat 24 Oct 21:00 CEST
    # = 19:00 UTC.
    assert prep(encounter(utc(2026, 10, 25, 6, 30), utc(2026, 10, 25, 7, 30)), cfg) == utc(
        2026, 10, 24, 19, 0
    )
    # Meeting Sat 24 Oct 22:00–23:00 CEST (20:00–21:00 UTC); + 2 h = 01:00 CEST Sunday →
    # Sunday 08:00 CET = 07:00 UTC.
    assert follow(encounter(utc(2026, 10, 24, 20, 0), utc(2026, 10, 24, 21, 0)), cfg) == utc(
        2026, 10, 25, 7, 0
    )


def test_new_york_change_nights() -> None:
    cfg = config("America/New_York")
    # Spring: meeting Sun 8 March 2026 07:00 EDT = 11:00 UTC; − 1 h = 06:00 EDT → Sat 7 March
    # 21:00 EST = 02:00 UTC on the 8th.
    assert prep(encounter(utc(2026, 3, 8, 11, 0), utc(2026, 3, 8, 12, 0)), cfg) == utc(
        2026, 3, 8, 2, 0
    )
    # Spring: a follow-up raw at 01:00 EST (06:00 UTC) → 08:00 EDT = 12:00 UTC.
    assert follow(encounter(utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 4, 0)), cfg) == utc(
        2026, 3, 8, 12, 0
    )
    # Fall: a follow-up raw at the second 01:30 (EST, 06:30 UTC) → 08:00 EST = 13:00 UTC.
    assert follow(encounter(utc(2026, 11, 1, 3, 30), utc(2026, 11, 1, 4, 30)), cfg) == utc(
        2026, 11, 1, 13, 0
    )
    # Fall: meeting Sun 1 Nov 07:30 EST = 12:30 UTC; − 1 h = 06:30 → Sat 31 Oct 21:00 EDT =
    # Sun 1 Nov 01:00 UTC.
    assert prep(encounter(utc(2026, 11, 1, 12, 30), utc(2026, 11, 1, 13, 30)), cfg) == utc(
        2026, 11, 1, 1, 0
    )


def test_a_day_boundary_the_clock_skips_or_shows_twice() -> None:
    # day_starts 02:30 on Berlin's spring-forward night: the clock never reads 02:30 (it goes
    # from 01:59:59 CET to 03:00 CEST at 01:00 UTC), so the day starts at that jump.
    skipped = UserDay(BERLIN, starts=time(2, 30), ends=time(21, 0))
    assert due_time(utc(2026, 3, 29, 0, 45), "followup", skipped) == utc(2026, 3, 29, 1, 0)
    # day_ends 02:30 on the fall-back night: the clock reads 02:30 at 00:30 UTC (CEST) and again
    # at 01:30 UTC (CET). A prep note raw at 03:00 CET (02:00 UTC) moves back to the nearer,
    # later one; one raw at 02:45 CEST (00:45 UTC) only as far as the first.
    twice = UserDay(BERLIN, starts=time(0, 0), ends=time(2, 30))
    assert due_time(utc(2026, 10, 25, 2, 0), "prep", twice) == utc(2026, 10, 25, 1, 30)
    assert due_time(utc(2026, 10, 25, 0, 45), "prep", twice) == utc(2026, 10, 25, 0, 30)
    # day_starts 02:30 that night: a follow-up raw at 01:00 CEST (23:00 UTC on the 24th) waits
    # for the first 02:30 (00:30 UTC), not the second.
    late = UserDay(BERLIN, starts=time(2, 30), ends=time(21, 0))
    assert due_time(utc(2026, 10, 24, 23, 0), "followup", late) == utc(2026, 10, 25, 0, 30)


# -- the user's own day -----------------------------------------------------------------------


def test_a_customised_day() -> None:
    cfg = config(starts=time(6, 30), ends=time(23, 0))
    # 07:30 − 1 h = 06:30 CEST, now inside (04:30 UTC), unchanged.
    assert prep(encounter(utc(2025, 6, 11, 5, 30), utc(2025, 6, 11, 6, 30)), cfg) == utc(
        2025, 6, 11, 4, 30
    )
    # 07:29 − 1 h = 06:29, one minute early → Tue 23:00 CEST = 21:00 UTC.
    assert prep(encounter(utc(2025, 6, 11, 5, 29), utc(2025, 6, 11, 6, 29)), cfg) == utc(
        2025, 6, 10, 21, 0
    )
    # 20:00–21:00 + 2 h = 23:00: inside (21:00 UTC); 20:01–21:01 + 2 h = 23:01 → 06:30 Thu.
    assert follow(encounter(utc(2025, 6, 11, 18, 0), utc(2025, 6, 11, 19, 0)), cfg) == utc(
        2025, 6, 11, 21, 0
    )
    assert follow(encounter(utc(2025, 6, 11, 18, 1), utc(2025, 6, 11, 19, 1)), cfg) == utc(
        2025, 6, 12, 4, 30
    )


# -- through the planner: prep, follow-up and nudge alike ---------------------------------------


def test_the_planner_queues_every_kind_inside_the_day() -> None:
    cfg = config()
    # Robert: a meeting Wed 5 March 2025 07:30–08:30 CET (06:30–07:30 UTC).
    robert = contact()
    meeting = replace(
        encounter(utc(2025, 3, 5, 6, 30), utc(2025, 3, 5, 7, 30)), contact_id=robert.id
    )
    # Kim: cordial (cadence 21 days), last spoken to on Sat 1 Feb 2025 at 23:30 CET (22:30
    # UTC); 21 days later is Sat 22 Feb 23:30 CET → Sun 23 Feb 08:00 CET = 07:00 UTC.
    kim = contact("c-kim", "Kim Lee", stage="cordial", stage_since=utc(2024, 1, 1))
    talk = Interaction(id="i1", contact_id="c-kim", when=utc(2025, 2, 1, 22, 30))
    now = utc(2025, 3, 3, 8, 0)
    assert PLAYBOOK.stage("cordial").cadence == timedelta(days=21)
    the_plan = run_plan([meeting], contacts=[robert, kim], interactions=[talk], now=now, config=cfg)
    due = {item.kind: item.due for item in the_plan.queue}
    # Prep: 07:30 − 1 h = 06:30 CET → Tue 4 March 21:00 CET = 20:00 UTC.
    assert due["prep"] == utc(2025, 3, 4, 20, 0)
    # Follow-up: 08:30 + 2 h = 10:30 CET, inside: 09:30 UTC.
    assert due["followup"] == utc(2025, 3, 5, 9, 30)
    assert due["nudge"] == utc(2025, 2, 23, 7, 0)


# -- the config keys -----------------------------------------------------------------------------


def test_day_keys_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[me]\ntimezone = "Europe/Berlin"\nday_starts = "6:45"\nday_ends = "22:30"\n')
    me = load_config(path).me
    assert (me.day_starts, me.day_ends) == (time(6, 45), time(22, 30))
    assert (MeConfig().day_starts, MeConfig().day_ends) == (time(8, 0), time(21, 0))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ('day_starts = "25:00"', "`me.day_starts` = '25:00' is not valid (hint: write a time"),
        ('day_ends = "9pm"', "`me.day_ends` = '9pm' is not valid"),
        ('day_ends = "21:60"', '"HH:MM", from "00:00" to "23:59"'),
        ("day_starts = 8", '`me.day_starts` must be a time such as "08:00", not an integer'),
        ('day_starts = "21:00"', '`me.day_starts` = "21:00" is not before `me.day_ends` = "21:00"'),
        ('day_starts = "22:00"\nday_ends = "06:00"', 'is not before `me.day_ends` = "06:00"'),
    ],
)
def test_bad_day_keys_name_the_key_the_file_and_the_fix(
    tmp_path: Path, lines: str, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[me]\n{lines}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and expected in message and "hint:" in message
    assert "\n" not in message
