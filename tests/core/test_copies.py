"""One copy per meeting (mendcrm.copies): which copy speaks, where it lives, which id it keeps.

The same meeting is the same UID and the same instance (RFC 5545 §3.8.4.7, §3.8.4.4); of its
copies the newer speaks (SEQUENCE, then DTSTAMP, then LAST-MODIFIED: RFC 5546 §2.1.5).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mendcrm.copies import keep_known_ids, one_copy_each
from mendcrm.detection import encounter_id
from mendcrm.model import Encounter, Match, Occurrence, replace, to_iso
from tests.core.builders import T0, occurrence

DAY = T0 + timedelta(days=2)
ACCOUNT = {"source": "account:work", "calendar": "https://dav.example/cal/work/"}
SHARED = {"source": "account:work", "calendar": "https://dav.example/cal/shared/"}
OTHER = {"source": "account:home", "calendar": "https://dav.example/cal/home/"}
FEED = {"source": "feed:published", "calendar": "https://cal.example/work.ics"}


def copy(place: dict[str, str], version: tuple[int, str, str], **kw: Any) -> Occurrence:
    kw.setdefault("href", place["calendar"] + "budget.ics")
    return occurrence("budget@example.org", version=version, **place, **kw)


def instance(
    place: dict[str, str], day: int, version: tuple[int, str, str], **kw: Any
) -> Occurrence:
    start = DAY + timedelta(days=7 * day)
    return copy(place, version, start=start, recurrence_id=to_iso(start), **kw)


def test_the_newer_copy_speaks_and_lives_where_annotations_can_be_written() -> None:
    old = copy(ACCOUNT, (0, "20250101T000000Z", ""), summary="Budget", etag='"a"')
    new = copy(FEED, (1, "20250101T000000Z", ""), start=DAY + timedelta(hours=4), summary="New")
    [kept] = one_copy_each([old, new])
    assert (kept.start, kept.summary) == (new.start, "New")  # SEQUENCE 1 beats 0
    assert (kept.source, kept.calendar, kept.href, kept.etag) == (
        old.source,
        old.calendar,
        old.href,
        '"a"',
    )


def test_dtstamp_then_last_modified_decide_between_calendars() -> None:
    a = copy(ACCOUNT, (2, "20250110T000000Z", ""), summary="stamped later")
    b = copy(OTHER, (2, "20250105T000000Z", "20250201T000000Z"), summary="modified later")
    assert [o.summary for o in one_copy_each([a, b])] == ["stamped later"]
    c = copy(OTHER, (2, "20250110T000000Z", "20250201T000000Z"), summary="modified later")
    assert [o.summary for o in one_copy_each([a, c])] == ["modified later"]


def test_an_annotating_account_is_home_before_another_account_and_a_feed() -> None:
    mine = copy(OTHER, (0, "", ""))
    shared = copy(SHARED, (0, "", ""))
    feed = copy(FEED, (0, "", ""))
    [kept] = one_copy_each([feed, shared, mine], annotating={"account:home"})
    assert kept.calendar == OTHER["calendar"]
    [kept] = one_copy_each([feed, mine, shared])  # none annotates: accounts by name
    assert kept.calendar == OTHER["calendar"]  # account:home sorts before account:work
    [kept] = one_copy_each([feed, shared])
    assert kept.calendar == SHARED["calendar"]


def test_an_instance_the_newer_copy_removed_does_not_come_back_from_an_older_one() -> None:
    # The calendar excluded the second instance (EXDATE, SEQUENCE 1); a stale feed still has it.
    stale = [instance(FEED, d, (0, "20250101T000000Z", "")) for d in range(3)]
    fresh = [instance(ACCOUNT, d, (1, "20250102T000000Z", "")) for d in (0, 2)]
    kept = one_copy_each(stale + fresh)
    assert [o.start for o in kept] == [DAY, DAY + timedelta(days=14)]
    assert {o.source for o in kept} == {"account:work"}


def test_equal_copies_give_each_instance_once_from_home() -> None:
    feed = [instance(FEED, d, (0, "", "")) for d in range(2)]
    account = [instance(ACCOUNT, d, (0, "", "")) for d in range(2)]
    kept = one_copy_each(feed + account)
    assert [(o.start, o.source) for o in kept] == [
        (DAY, "account:work"),
        (DAY + timedelta(days=7), "account:work"),
    ]


def test_an_object_split_over_two_files_of_one_calendar_gives_each_instance_once() -> None:
    # The master's file yields the 2nd instance at its rule time; the override's file (newer)
    # moves it. Each instance comes from the newer file; the others stay the master's.
    master = [instance(ACCOUNT, d, (0, "", ""), href="/work/master.ics") for d in range(3)]
    moved = replace(
        instance(ACCOUNT, 1, (1, "", ""), href="/work/override.ics"),
        start=DAY + timedelta(days=7, hours=3),
        end=DAY + timedelta(days=7, hours=4),
    )
    kept = one_copy_each([*master, moved])
    assert [(o.start, o.href) for o in kept] == [
        (DAY, "/work/master.ics"),
        (DAY + timedelta(days=7, hours=3), "/work/override.ics"),
        (DAY + timedelta(days=14), "/work/master.ics"),
    ]


def test_a_single_event_and_a_series_in_two_files_are_versions_of_the_whole_event() -> None:
    series = [instance(ACCOUNT, d, (0, "", ""), href="/work/a.ics") for d in range(3)]
    single = copy(ACCOUNT, (1, "", ""), href="/work/b.ics")  # the RRULE was removed
    assert one_copy_each([*series, single]) == [single]
    older = replace(single, version=(0, "", "20240101T000000Z"))
    newer_series = [replace(o, version=(0, "", "20250101T000000Z")) for o in series]
    assert one_copy_each([*newer_series, older]) == newer_series


def test_events_without_a_uid_and_lone_copies_are_left_alone() -> None:
    a = occurrence("no-uid-0123456789abcdef", **FEED)
    b = occurrence("no-uid-0123456789abcdef", **ACCOUNT)
    c = copy(ACCOUNT, (3, "", ""))
    assert sorted(one_copy_each([a, b, c]), key=_where) == sorted([a, b, c], key=_where)


def _where(occ: Occurrence) -> tuple[str, str]:
    return (occ.source, occ.uid)


# -- ids ---------------------------------------------------------------------------------------


def met(occ: Occurrence, *, contact: str = "c-robert", **kw: Any) -> Encounter:
    options: dict[str, Any] = {
        "id": encounter_id(occ, contact),
        "contact_id": contact,
        "kind": "meeting",
        "match": Match("attendee-email", "robert@x", 0.95),
        "occurrence": occ,
    }
    options.update(kw)
    return Encounter(**options)


def test_the_id_made_in_another_calendar_is_kept() -> None:
    before = met(copy(FEED, (0, "", "")))
    now = met(copy(ACCOUNT, (0, "", "")))
    [kept] = keep_known_ids([now], [before])
    assert kept.id == before.id and kept.occurrence == now.occurrence
    # The next pass, stored under the kept id but living in the account: still kept.
    [again] = keep_known_ids([now], [kept])
    assert again.id == before.id


def test_a_move_inside_one_calendar_is_left_to_planning() -> None:
    before = met(copy(ACCOUNT, (0, "", "")))
    moved = met(copy(ACCOUNT, (1, "", ""), start=DAY + timedelta(hours=5)))
    assert before.id != moved.id
    assert keep_known_ids([moved], [before]) == [moved]


def test_an_id_is_kept_only_once_only_from_an_active_encounter_of_the_same_contact() -> None:
    before = met(copy(FEED, (0, "", "")))
    withdrawn = replace(before, state="withdrawn")
    now = met(copy(ACCOUNT, (0, "", "")))
    assert keep_known_ids([now], [withdrawn]) == [now]
    ana = met(copy(ACCOUNT, (0, "", "")), contact="c-ana")
    assert keep_known_ids([ana], [before]) == [ana]
    # Already in use this pass (its own copy is still detected): not taken by another.
    assert keep_known_ids([before, now], [before]) == [before, now]
