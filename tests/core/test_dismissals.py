"""``dismiss_encounter`` and planning: a dismissed encounter (or series) never comes back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mendcrm import repository
from mendcrm.dismissals import REASON_DISMISSED, Dismissals, dismiss_encounter, dismissals
from mendcrm.errors import NotFoundError, UsageError
from mendcrm.model import Contact, Encounter, Occurrence
from mendcrm.planning import Plan, plan
from mendcrm.store import Store
from tests.core.builders import CONFIG, PLAYBOOK, RENDERER, T0, contact, find, occurrence

MARTIN = contact("c-martin", "Martin Keller", aliases=("Martin",))
ANA = contact("c-ana", "Ana Lima")
WEEK = timedelta(days=7)


def weekly(count: int, summary: str = "Coffee with Martin") -> list[Occurrence]:
    """Instances of one weekly series, each with its RECURRENCE-ID (the rule's start)."""
    first = T0 + timedelta(days=1)
    return [
        occurrence(
            "series-1",
            start=first + k * WEEK,
            recurrence_id=(first + k * WEEK).strftime("%Y%m%dT%H%M%SZ"),
            summary=summary,
        )
        for k in range(count)
    ]


def sync(
    store: Store,
    occs: Sequence[Occurrence],
    contacts: Sequence[Contact] = (MARTIN,),
    now: datetime = T0,
) -> Plan:
    """One detection + planning pass over ``occs``, written to the store like the pipeline."""
    with store.transaction() as tx:
        result = plan(
            detected=find(occs, contacts),
            stored_encounters=repository.encounters(tx),
            stored_queue=repository.queue(tx),
            contacts=contacts,
            interactions=(),
            failed_sources=set(),
            now=now,
            config=CONFIG,
            playbook=PLAYBOOK,
            renderer=RENDERER,
            dismissals=Dismissals.load(tx),
        )
        repository.save(tx, "encounters", *result.encounters)
        repository.save(tx, "queue", *result.queue)
    return result


def state(store: Store) -> dict[str, tuple[str, str]]:
    with store.read() as view:
        return {e.id: (e.state, e.withdrawn_reason) for e in repository.encounters(view)}


def open_items(store: Store) -> set[str | None]:
    with store.read() as view:
        return {i.encounter_id for i in repository.queue(view) if i.state in ("pending", "due")}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.json")


def test_a_dismissed_encounter_is_withdrawn_and_never_detected_again(store: Store) -> None:
    occ = occurrence("lunch", summary="Lunch with Martin")
    [enc] = sync(store, [occ]).detected
    assert open_items(store) == {enc.id}  # a prep note and a follow-up

    with store.transaction() as tx:
        result = dismiss_encounter(tx, enc.id[:6], now=T0)  # an id prefix, as elsewhere
    assert result.encounter.id == enc.id and not result.already
    assert state(store) == {enc.id: ("withdrawn", REASON_DISMISSED)}
    assert open_items(store) == set()

    for later in (T0 + timedelta(minutes=15), T0 + timedelta(hours=5)):
        again = sync(store, [occ], now=later)
        assert again.detected == () and again.changed == () and again.encounters == ()
        assert state(store) == {enc.id: ("withdrawn", REASON_DISMISSED)}
        assert open_items(store) == set()


def test_a_dismissed_single_event_stays_dismissed_when_it_moves(store: Store) -> None:
    # A single event's occurrence key is its start, so a move gives a new encounter id.
    [enc] = sync(store, [occurrence("lunch", summary="Lunch with Martin")]).detected
    with store.transaction() as tx:
        dismiss_encounter(tx, enc.id, now=T0)
    moved = occurrence("lunch", start=T0 + timedelta(days=3), summary="Lunch with Martin")
    assert sync(store, [moved]).detected == ()
    assert open_items(store) == set()


def test_one_instance_dismissed_leaves_the_rest_of_the_series(store: Store) -> None:
    first = sync(store, weekly(3))
    ids = [e.id for e in sorted(first.detected, key=lambda e: e.occurrence.start)]
    with store.transaction() as tx:
        dismiss_encounter(tx, ids[1], now=T0)
    sync(store, weekly(3), now=T0 + timedelta(minutes=15))
    assert [state(store)[i][0] for i in ids] == ["active", "withdrawn", "active"]
    assert open_items(store) == {ids[0], ids[2]}


def test_a_dismissed_series_covers_every_instance_including_future_ones(store: Store) -> None:
    first = sync(store, weekly(3))
    ids = [e.id for e in first.detected]
    with store.transaction() as tx:
        result = dismiss_encounter(tx, ids[0], series=True, now=T0)
    assert len(result.withdrawn) == 3
    # The one named stays beside its dismissal; its two siblings, never seen (no note of theirs
    # delivered, no outcome logged), left the store at once (mendcrm.retention).
    assert state(store) == {ids[0]: ("withdrawn", REASON_DISMISSED)}
    # Weeks later the window holds the pruned instances and ones never seen before: none is
    # detected.
    later = sync(store, weekly(6), now=T0 + timedelta(minutes=15))
    assert later.detected == () and open_items(store) == set()
    assert state(store) == {ids[0]: ("withdrawn", REASON_DISMISSED)}
    # Another series with the same contact is not covered.
    other = occurrence("other-uid", summary="Coffee with Martin")
    assert [e.contact_id for e in sync(store, [*weekly(6), other]).detected] == ["c-martin"]


def test_the_dismissed_contact_leaves_the_others_of_the_same_meeting(store: Store) -> None:
    occ = occurrence("team", summary="Planning with Martin and Ana Lima")
    detected = {e.contact_id: e for e in sync(store, [occ], (MARTIN, ANA)).detected}
    assert detected["c-ana"].others == ("c-martin",)
    with store.transaction() as tx:
        dismiss_encounter(tx, detected["c-martin"].id, now=T0)
    again = sync(store, [occ], (MARTIN, ANA), now=T0 + timedelta(minutes=15))
    [(now_ana, _)] = again.changed
    assert now_ana.contact_id == "c-ana" and now_ana.others == ()


def test_dismissing_twice_is_said_and_recorded_once(store: Store) -> None:
    [enc] = sync(store, [occurrence("lunch", summary="Lunch with Martin")]).detected
    with store.transaction() as tx:
        dismiss_encounter(tx, enc.id, now=T0)
    with store.transaction() as tx:
        assert dismiss_encounter(tx, enc.id, now=T0 + timedelta(hours=1)).already
    with store.read() as view:
        [recorded] = dismissals(view)
    assert (recorded.scope, recorded.encounter_id, recorded.at) == ("encounter", enc.id, T0)


def test_unknown_and_ambiguous_ids_are_one_clear_error(store: Store) -> None:
    found: list[Encounter] = []
    for k in range(20):  # 20 ids over 16 hex digits: two share a first digit
        found += sync(store, [occurrence(f"e{k}", summary="Lunch with Martin")]).detected
    firsts = [e.id[0] for e in found]
    shared = next(d for d in firsts if firsts.count(d) > 1)
    with store.transaction() as tx, pytest.raises(NotFoundError, match="no encounter 'zzz'"):
        dismiss_encounter(tx, "zzz", now=T0)
    with store.transaction() as tx, pytest.raises(UsageError, match=r"matches \d+ encounters"):
        dismiss_encounter(tx, shared, now=T0)
    with store.transaction() as tx, pytest.raises(NotFoundError):
        dismiss_encounter(tx, "", now=T0)
