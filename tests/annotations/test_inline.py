"""Inline annotations on Radicale and Xandikos: the block, its safety rules and the 412 race."""

from __future__ import annotations

import re
from datetime import timedelta

from mendcrm.annotations.contentlines import escape_text
from mendcrm.model import replace
from tests.annotations.helpers import (
    INVITATION,
    MY_MEETING,
    NOW,
    encounter,
    ics,
    new_world,
    withdrawn,
    writes,
)
from tests.fixtures.servers import DavAccount, http_request

START = NOW + timedelta(days=1, hours=2)
USER_TEXT = (
    "Bring the roadmap\\, the Q3 numbers and the notes from the offsite so we can go through them"
)
BLOCK = "--- MendCRM ---\nPrep note ready: Robert Hale\n--- end MendCRM ---"


def logical(text: bytes | str) -> list[str]:
    raw = text.decode() if isinstance(text, bytes) else text
    return re.sub(r"\r?\n[ \t]", "", raw).replace("\r\n", "\n").splitlines()


def without_ours(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith(("X-MENDCRM-", "DESCRIPTION:"))]


def description(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("DESCRIPTION:"))


def test_block_written_preserved_kept_quiet_moved_and_removed(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START, description=USER_TEXT))
    original = world.get(path)
    enc = encounter(world.occurrences()["solo"])

    result = world.annotate([enc])
    assert result.warnings == []
    assert writes(world.requests()) == [("PUT", path)]
    after = logical(world.get(path))
    # Everything but our lines is as it was, in the same order; the user's text leads DESCRIPTION.
    assert without_ours(after) == without_ours(logical(original))
    assert description(after) == description(logical(original)) + "\\n\\n" + escape_text(BLOCK)
    assert "X-MENDCRM-ENCOUNTER:" + enc.id in after
    assert not any(line.startswith("X-MENDCRM-STAGE") for line in after)  # discreet: no stage
    assert "strained" not in "".join(after) and "reorg" not in "".join(after)

    # The next sync sees MendCRM's own write: nothing to do, not even a read.
    enc = encounter(world.occurrences()["solo"])
    assert world.annotate([enc]).requests == 0

    # The user moves the meeting in their app; the block follows the new encounter.
    text = world.get(path).decode()
    later = START + timedelta(days=2)
    moved_text = text.replace(f"{START:%Y%m%dT%H%M%SZ}", f"{later:%Y%m%dT%H%M%SZ}")
    moved_text = moved_text.replace(
        f"{START + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
        f"{later + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
    )
    world.put("solo.ics", moved_text)
    moved = encounter(world.occurrences()["solo"])
    assert moved.id != enc.id
    world.annotate([withdrawn(enc), moved])
    after = logical(world.get(path))
    assert [line for line in after if line.startswith("X-MENDCRM-")] == [
        "X-MENDCRM-ENCOUNTER:" + moved.id
    ]
    assert "".join(after).count("--- MendCRM ---") == 1

    # Withdrawn: the block and our lines go, the rest is what the user had.
    world.annotate([withdrawn(moved)])
    cleared = logical(world.get(path))
    assert not [line for line in cleared if "MENDCRM" in line.upper()]
    assert description(cleared) == description(logical(original))
    assert world.doc()["items"] == {}


def test_withdrawn_block_leaves_the_stored_event_byte_for_byte(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START, description=USER_TEXT))
    original = world.get(path)
    enc = encounter(world.occurrences()["solo"])
    world.annotate([enc])
    assert world.get(path) != original
    world.annotate([withdrawn(enc)])
    assert world.get(path) == original


def test_a_concurrent_edit_is_kept_and_the_block_goes_on_top(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])
    raced: list[str] = []

    def another_client_edits(url: str) -> None:
        if raced:
            return
        current = http_request(url, headers=dav_account.auth).body.decode()
        edited = current.replace("SUMMARY:", "LOCATION:Room 4\r\nSUMMARY:", 1)
        answer = http_request(
            url, "PUT", edited, {"Content-Type": "text/calendar", **dav_account.auth}
        )
        assert answer.status in (200, 201, 204)
        raced.append(url)

    result = world.annotate([enc], before_write=another_client_edits)
    assert result.warnings == []
    assert raced
    # Our read, their read and write, our write (412), our second read and write on top.
    seen = [m for m, p in world.requests() if p == path]
    assert seen == ["GET", "GET", "PUT", "PUT", "GET", "PUT"]
    after = logical(world.get(path))
    assert "LOCATION:Room 4" in after
    assert description(after) == "DESCRIPTION:" + escape_text(BLOCK)


def test_invitations_and_meetings_with_others_are_never_touched(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    invitation = world.put(
        "inv.ics", ics("inv", start=START, extra=INVITATION, description=USER_TEXT)
    )
    mine = world.put("mine.ics", ics("mine", start=START + timedelta(hours=3), extra=MY_MEETING))
    originals = {invitation: world.get(invitation), mine: world.get(mine)}
    occurrences = world.occurrences()
    encounters = [encounter(occurrences["inv"]), encounter(occurrences["mine"])]

    result = world.annotate(encounters)
    assert result.warnings == []
    log = world.requests()
    assert not [r for r in log if r[1] in originals]  # not written, not even read
    assert {p: world.get(p) for p in originals} == originals
    # Their annotations went to the dedicated calendar instead.
    titles = sorted(str(c["SUMMARY"]) for c in world.annotation_objects().values())
    assert titles == ["Prep: Robert Hale", "Prep: Robert Hale"]


def test_attendees_added_after_sync_are_caught_before_writing(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])
    # Another client invites Robert between MendCRM's sync and its annotation pass.
    world.put("solo.ics", ics("solo", start=START, extra=MY_MEETING))
    original = world.get(path)
    world.annotate([enc])
    assert world.get(path) == original
    assert [m for m, p in writes(world.requests()) if p == path] == []
    assert len(world.annotation_objects()) == 1


def test_full_detail_writes_the_stage(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline", annotation_detail="full")
    path = world.put("solo.ics", ics("solo", start=START))
    enc = encounter(world.occurrences()["solo"])
    world.annotate([enc])
    after = logical(world.get(path))
    assert f"X-MENDCRM-STAGE;X-MENDCRM-ENCOUNTER={enc.id}:strained" in after
    assert "strained" in description(after)


def test_two_contacts_at_one_event_share_one_block(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    path = world.put("solo.ics", ics("solo", start=START))
    occ = world.occurrences()["solo"]
    from tests.annotations.helpers import ROBERT

    ada = replace(ROBERT, id="c-ada", name="Ada Park", emails=("ada@park.example",))
    both = [encounter(occ), encounter(occ, ada, suffix="-ada")]
    world.annotate(both, contacts=[ROBERT, ada])
    text = "".join(logical(world.get(path)))
    assert text.count("--- MendCRM ---") == 1
    assert "Prep note ready: Ada Park\\nPrep note ready: Robert Hale" in text


def test_a_read_only_calendar_gives_one_warning(dav_account: DavAccount) -> None:
    world = new_world(dav_account, annotate="inline")
    world.put("a.ics", ics("a", start=START))
    world.put("b.ics", ics("b", start=START + timedelta(hours=2)))
    occurrences = world.occurrences()
    encs = [encounter(occurrences["a"]), encounter(occurrences["b"])]
    world.dav.server.reset()
    world.dav.server.fault(403, method="PUT", times=5)
    result = world.annotate(encs, reset=False)
    assert len(result.warnings) == 1 and "refuses MendCRM's writes" in result.warnings[0]
    assert len([r for r in world.requests() if r[0] == "PUT"]) == 1  # stops at the first refusal
