"""The pure rules: discreet words, which encounters are annotated where, detection's blind spot."""

from __future__ import annotations

from datetime import timedelta

from mendcrm.annotations.markers import make_block
from mendcrm.annotations.plan import Words, plan_account
from mendcrm.annotations.text import event_description, event_title, inline_line
from mendcrm.config.model import AccountConfig, Config
from mendcrm.model import Occurrence, replace
from mendcrm.playbook import load_playbook
from mendcrm.render import user_zone
from tests.annotations.helpers import INVITATION, ME, NOW, ROBERT, encounter, followup
from tests.core.builders import find

PLAYBOOK = load_playbook(None)
ZONE = user_zone(ME)
TELLING = ("strained", "reorg", "history", "cordial", "rift", "resent")


def occurrence(uid: str = "e1", **kw: object) -> Occurrence:
    start = NOW + timedelta(days=1)
    base = {
        "source": "account:work",
        "calendar": "https://dav.example/cal/",
        "href": f"/cal/{uid}.ics",
        "uid": uid,
        "start": start,
        "end": start + timedelta(hours=1),
        "summary": "Partner sync",
    }
    base.update(kw)
    return Occurrence(**base)  # type: ignore[arg-type]


def test_discreet_words_name_person_and_event_and_nothing_else() -> None:
    enc = encounter(occurrence())
    words = [
        event_title(ROBERT, "discreet", PLAYBOOK),
        event_description(
            ROBERT, enc, zone=ZONE, detail="discreet", playbook=PLAYBOOK, prep_id="p1"
        ),
        inline_line(ROBERT, zone=ZONE, detail="discreet", playbook=PLAYBOOK),
    ]
    text = " ".join(words).lower()
    assert "robert hale" in text and "partner sync" in text and "prep note ready" in text
    assert not [w for w in TELLING if w in text]
    full = event_title(ROBERT, "full", PLAYBOOK) + inline_line(
        ROBERT, zone=ZONE, detail="full", playbook=PLAYBOOK
    )
    assert "strained" in full


def _plan(account: AccountConfig, encounters: list, items: list = ()):  # type: ignore[no-untyped-def, assignment]
    words = Words(
        config=Config(me=ME, accounts=(account,)),
        zone=ZONE,
        playbook=None,
        contacts={ROBERT.id: ROBERT},
        preps={},
    )
    return plan_account(account, {"items": {}}, encounters, list(items), words, NOW)


def test_what_goes_where() -> None:
    account = AccountConfig(name="work", url="https://dav.example/", annotate="inline")
    from mendcrm.model import Attendee

    solo = encounter(occurrence("solo"))
    invited = encounter(
        occurrence(
            "inv",
            organizer=Attendee("robert@hale.example"),
            attendees=(Attendee("sam@me.example"),),
        )
    )
    recurring = encounter(occurrence("rec", recurrence_id="20250304T090000Z"))
    feed = encounter(occurrence("feed", source="feed:conf"))
    past = encounter(
        occurrence("past", start=NOW - timedelta(hours=3), end=NOW - timedelta(hours=2))
    )
    gone = replace(encounter(occurrence("gone")), state="withdrawn")
    plan = _plan(
        account,
        [solo, invited, recurring, feed, past, gone],
        [followup(solo), followup(gone, "withdrawn"), followup(past, "done")],
    )
    assert list(plan.inline) == ["inline:/cal/solo.ics"]
    assert sorted(plan.dedicated) == sorted(
        [f"event:{invited.id}", f"event:{recurring.id}", f"todo:{followup(solo).id}"]
    )
    assert INVITATION  # the same rule on real servers: tests/annotations/test_inline.py


def test_detection_does_not_take_mendcrms_own_note_for_evidence() -> None:
    block = make_block(["Prep note ready: Robert Hale"])
    annotated = occurrence("x", summary="Quarterly planning", description="Agenda\n\n" + block)
    assert find(annotated, [ROBERT]) == []
    named = replace(annotated, description="Robert Hale joins\n\n" + block)
    assert [e.match.by for e in find(named, [ROBERT])] == ["name-in-description"]


def test_an_all_day_prep_block_sits_in_the_users_evening() -> None:
    # All day on Wed 5 March 2025 in Berlin (CET, UTC+1): 23:00 UTC Tue to 23:00 UTC Wed. The
    # block goes the evening before at conference_evening_hour, inside the user's day: at 19 it
    # starts Tue 19:00 CET = 18:00 UTC; at 23 (after day_ends 21:00) it moves earlier, to Tue
    # 21:00 CET = 20:00 UTC. Worked out by hand from the rule in mendcrm.due_times.
    from datetime import UTC, datetime

    from mendcrm.config.model import PrepConfig

    account = AccountConfig(name="work", url="https://dav.example/", annotate="dedicated")
    start = datetime(2025, 3, 4, 23, 0, tzinfo=UTC)
    enc = encounter(occurrence("day", start=start, end=start + timedelta(days=1), all_day=True))
    for hour, expected in ((19, "2025-03-04T18:00:00+00:00"), (23, "2025-03-04T20:00:00+00:00")):
        words = Words(
            config=Config(me=ME, prep=PrepConfig(conference_evening_hour=hour)),
            zone=ZONE,
            playbook=None,
            contacts={ROBERT.id: ROBERT},
            preps={},
        )
        plan = plan_account(account, {"items": {}}, [enc], [], words, NOW)
        assert plan.dedicated[f"event:{enc.id}"].content["start"] == expected, hour
