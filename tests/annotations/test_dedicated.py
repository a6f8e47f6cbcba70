"""The dedicated calendar on Radicale and Xandikos: create, update, no-op, move, withdraw, tasks."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from mendcrm.config.model import Config
from mendcrm.model import replace
from tests.annotations.helpers import (
    INVITATION,
    ME,
    NOW,
    ROBERT,
    encounter,
    followup,
    ics,
    new_world,
    prep,
    withdrawn,
    writes,
)
from tests.fixtures.servers import DavAccount, http_request

START = NOW + timedelta(days=1, hours=2)


def test_create_then_no_write_then_update_move_and_withdraw(dav_account: DavAccount) -> None:
    world = new_world(dav_account)
    path = world.put("inv.ics", ics("inv", start=START, extra=INVITATION))
    original = world.get(path)
    occ = world.occurrences()["inv"]
    enc = encounter(occ)
    items = [prep(enc), followup(enc)]

    first = world.annotate([enc], items)
    assert first.warnings == []
    log = world.requests()
    objects = world.annotation_objects()
    assert len(objects) == 2
    event = next(c for c in objects.values() if c.name == "VEVENT")
    task = next(c for c in objects.values() if c.name == "VTODO")
    assert str(event["SUMMARY"]) == "Prep: Robert Hale"
    assert event.decoded("DTEND") == START
    assert event.decoded("DTSTART") == START - timedelta(minutes=30)
    assert str(event["TRANSP"]) == "TRANSPARENT"
    assert [c.name for c in event.subcomponents] == ["VALARM"]
    assert "Prep note ready: Robert Hale" in str(event["DESCRIPTION"])
    assert str(task["STATUS"]) == "NEEDS-ACTION"
    assert task.decoded("DUE") == occ.end + timedelta(hours=2)
    # The user's own calendar is never even read in this mode.
    user_calendar = path.rsplit("/", 1)[0]
    assert not [r for r in log if r[1].startswith(user_calendar)]
    assert world.get(path) == original

    again = world.annotate([enc], items)
    assert writes(world.requests()) == []
    assert again.requests == 1  # one PROPFIND of the annotation calendar's ETags

    renamed = replace(ROBERT, name="Robert J. Hale")
    world.annotate([enc], items, contacts=[renamed])
    assert [m for m, _ in writes(world.requests())] == ["PUT", "PUT"]
    assert sorted(str(c["SUMMARY"]) for c in world.annotation_objects().values()) == [
        "Follow up with Robert J. Hale",
        "Prep: Robert J. Hale",
    ]

    later = START + timedelta(days=1)
    moved_occ = replace(occ, start=later, end=later + timedelta(hours=1))
    moved = encounter(moved_occ)
    moved_items = [prep(moved), replace(items[1], due=moved_occ.end + timedelta(hours=2))]
    world.annotate([withdrawn(enc), moved], moved_items, contacts=[renamed])
    events = [c for c in world.annotation_objects().values() if c.name == "VEVENT"]
    assert [e.decoded("DTEND") for e in events] == [moved_occ.start]

    world.requests()  # forget the requests so far
    world.annotate([withdrawn(moved)], [replace(moved_items[1], state="withdrawn")])
    assert world.annotation_objects() == {}
    assert world.doc()["items"] == {}
    # One DELETE per object, each sent once (the clean-up used to repeat them).
    deletes = [target for method, target in writes(world.requests()) if method == "DELETE"]
    assert len(deletes) == 2 and len(set(deletes)) == 2, deletes


def test_full_detail_names_the_stage_discreet_never(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotation_detail="full")
    world.put("e.ics", ics("e", start=START, extra=INVITATION))
    enc = encounter(world.occurrences()["e"])
    world.annotate([enc], [prep(enc)])
    (event,) = world.annotation_objects().values()
    assert str(event["SUMMARY"]) == "Prep: Robert Hale (strained)"
    assert str(event["X-MENDCRM-STAGE"]) == "strained"


def test_task_completed_in_a_tasks_app_is_reported_once_done_here_nothing_more_is_sent(
    dav_account: DavAccount,
) -> None:
    world = new_world(dav_account)
    world.put("e.ics", ics("e", start=START, extra=INVITATION))
    enc = encounter(world.occurrences()["e"])
    item = followup(enc)
    world.annotate([enc], [item])
    path, task = next((p, c) for p, c in world.annotation_objects().items() if c.name == "VTODO")
    # The user ticks the task off on their phone.
    task["STATUS"] = "COMPLETED"
    task.add("COMPLETED", NOW)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//EN\r\n"
        + task.to_ical().decode()
        + "END:VCALENDAR\r\n"
    )
    answer = http_request(
        world.url(path), "PUT", text, {"Content-Type": "text/calendar", **dav_account.auth}
    )
    assert answer.status in (200, 201, 204)

    result = world.annotate([enc], [item])
    assert result.completed_followups == [item.id]
    assert writes(world.requests()) == []
    # The pipeline marks it done; MendCRM's version would say the same, so nothing is written.
    result = world.annotate([enc], [replace(item, state="done", closed_at=NOW)])
    assert result.completed_followups == []
    assert writes(world.requests()) == []


def test_a_server_refusing_writes_gives_one_warning_and_other_accounts_go_on(
    dav_account: DavAccount,
) -> None:
    first = new_world(dav_account)
    other = dav_account.server.new_account()
    second = new_world(other)
    second.account = dataclasses.replace(second.account, name="home")
    first.put("e.ics", ics("e", start=START, extra=INVITATION))
    second.put("f.ics", ics("f", start=START, extra=INVITATION))
    enc_a = encounter(first.occurrences()["e"])
    occ_b = replace(second.occurrences()["f"], source="account:home")
    enc_b = encounter(occ_b)
    config = Config(me=ME, accounts=(first.account, second.account))
    from mendcrm.annotations.run import annotate_accounts

    dav_account.server.reset()
    # Every calendar creation refused, as by a read-only account (both names MendCRM tries).
    dav_account.server.fault(403, method="MKCALENDAR", times=3)
    passwords = {first.account.name: dav_account.password, "home": other.password}
    result = annotate_accounts(
        config,
        [enc_a, enc_b],
        [prep(enc_a)],
        [ROBERT],
        {**first.sync_state},
        now=NOW,
        password_for=lambda a: passwords[a.name],
    )
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("account 'work': the server refuses MendCRM's writes")
    assert 'annotate = "off"' in result.warnings[0]
    assert result.state["annotations:home"]["items"]
    assert not result.state["annotations:work"]["items"]


def test_lost_state_or_deleted_calendar_never_duplicates(dav_account: DavAccount) -> None:
    world = new_world(dav_account)
    world.put("e.ics", ics("e", start=START, extra=INVITATION))
    enc = encounter(world.occurrences()["e"])
    items = [prep(enc), followup(enc)]
    world.annotate([enc], items)
    calendar = world.doc()["calendar"]

    world.state.clear()  # the store was reset: MendCRM finds its calendar and its objects again
    world.annotate([enc], items)
    assert world.doc()["calendar"] == calendar
    assert len(world.annotation_objects()) == 2

    dav_account.delete(calendar)  # the user deleted the whole calendar
    result = world.annotate([enc], items)
    assert result.warnings == []
    assert len(world.annotation_objects()) == 2
