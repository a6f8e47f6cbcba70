"""What the inline writer refuses at write time, on Radicale and Xandikos (issue 12).

The rule (mendcrm.annotations.inline): the event is read again just before the write and judged
on that text; the write carries If-Match with the ETag of that read (RFC 7232 §3.1), so a change
made meanwhile answers 412 and is never overwritten; and only objects inside the calendars the
sync found are read or written at all.
"""

from __future__ import annotations

from datetime import timedelta

from mendcrm.annotations import inline
from mendcrm.model import replace
from tests.annotations.helpers import (
    INVITATION,
    NOW,
    World,
    encounter,
    ics,
    new_world,
    writes,
)
from tests.fixtures.servers import DavAccount, http_request

START = NOW + timedelta(days=1, hours=2)


def _refused_and_moved(world: World, path: str, original: bytes) -> None:
    """The event is as it was, never written, and its note went to the dedicated calendar."""
    assert world.get(path) == original
    assert [p for _, p in writes(world.requests()) if p == path] == []
    titles = [str(c["SUMMARY"]) for c in world.annotation_objects().values()]
    assert titles == ["Prep: Robert Hale"]


def test_made_recurring_after_the_sync_is_refused_at_write_time(dav_account: DavAccount) -> None:
    # One DESCRIPTION is shared by every occurrence of a series: a block there would speak for
    # meetings it is not about, so a series is never annotated inline.
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])
    world.put("solo.ics", ics("solo", start=START, extra="RRULE:FREQ=WEEKLY;COUNT=4\n"))
    original = world.get(path)

    result = world.annotate([enc])

    assert result.warnings == []
    _refused_and_moved(world, path, original)


def test_an_invitation_from_another_organiser_after_the_sync_is_refused(
    dav_account: DavAccount,
) -> None:
    # RFC 6638: a change to a scheduling object can be sent to the organiser by the server.
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])
    world.put("solo.ics", ics("solo", start=START, extra=INVITATION))
    original = world.get(path)

    world.annotate([enc])

    _refused_and_moved(world, path, original)


def test_an_answer_without_an_etag_is_never_written(dav_account: DavAccount) -> None:
    # Without an ETag no write can be conditional (RFC 7232 §3.1), so none is made. The server
    # answers this GET (only) without one, as some proxies do.
    world = new_world(dav_account, annotate="inline")
    text = ics("solo", start=START)
    path = world.put("solo.ics", text)
    enc = encounter(world.occurrences()["solo"])
    original = world.get(path)
    world.dav.server.reset()
    world.dav.server.fault(200, method="GET", body=original.decode())

    world.annotate([enc], reset=False)

    _refused_and_moved(world, path, original)


def test_an_event_deleted_before_the_write_is_not_brought_back(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])

    def user_deletes_it(url: str) -> None:
        answer = http_request(url, "DELETE", headers=dav_account.auth)
        assert answer.status in (200, 204)

    result = world.annotate([enc], before_write=user_deletes_it)

    assert result.warnings == []
    # If-Match on a resource that no longer exists is 412 (RFC 7232 §3.1), never a re-creation;
    # the read after it finds the event gone, and MendCRM leaves it gone.
    assert http_request(world.url(path), headers=dav_account.auth).status == 404
    # The user's DELETE (logged by the server too), then MendCRM's one conditional PUT.
    assert [m for m, p in writes(world.requests()) if p == path] == ["DELETE", "PUT"]
    assert world.doc()["items"] == {}


def test_an_event_that_keeps_changing_is_left_after_a_few_tries(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])
    edits: list[str] = []

    def another_client_edits(url: str) -> None:
        edits.append(url)
        # (No comma in the summary: unescaped, it would be a list separator to the server.)
        world.put("solo.ics", ics("solo", start=START, summary=f"Coffee take {len(edits)}"))

    result = world.annotate([enc], before_write=another_client_edits)

    # Every conditional PUT meets a newer ETag (412): tried ATTEMPTS times, then one warning.
    # The server logs the other client's PUT before each of MendCRM's.
    assert [m for m, p in writes(world.requests()) if p == path] == ["PUT"] * 2 * inline.ATTEMPTS
    assert len(edits) == inline.ATTEMPTS
    assert result.warnings == [
        f"account 'work': {path} kept changing while MendCRM annotated it; trying again on the "
        "next sync"
    ]
    stored = world.get(path).decode()
    assert f"Coffee take {inline.ATTEMPTS}" in stored and "MendCRM" not in stored


def test_an_event_outside_the_synced_calendars_is_never_read_or_written(
    dav_account: DavAccount,
) -> None:
    # An href the server answered with may name any object; the inline writer touches only those
    # inside the calendars the sync found. Here it names an event of a calendar of the same
    # account that MendCRM does not sync (not in `calendars`).
    world = new_world(dav_account, annotate="inline")
    world.put("solo.ics", ics("solo", start=START))
    private = dav_account.new_calendar("Private")
    private_url = dav_account.put(private, "diary.ics", ics("diary", start=START))
    private_path = private_url.split(dav_account.server.url.rstrip("/"), 1)[1]
    original = world.get(private_path)
    occurrence = world.occurrences()["solo"]
    enc = encounter(replace(occurrence, href=private_path))

    world.annotate([enc])

    assert [r for r in world.requests() if r[1] == private_path] == []
    assert world.get(private_path) == original
    titles = [str(c["SUMMARY"]) for c in world.annotation_objects().values()]
    assert titles == ["Prep: Robert Hale"]
