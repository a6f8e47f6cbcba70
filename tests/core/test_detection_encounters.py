"""Encounters as detection makes them: ordinary Encounters, and the collector after the scan.

:mod:`mendcrm.detection.encounters` fills an unfrozen twin of Encounter's layout and then gives
the object Encounter's class; these tests show that what comes out is an Encounter in every way
its users (planning, the store, the daemon's pipe to its child, plugins) can tell: type, each
field, equality, hash, ``replace``, records and pickling. The property test against the
straightforward rules (test_detection_reference) compares whole encounters on top of this.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
import weakref
from collections.abc import Iterator
from datetime import timedelta

import pytest

import mendcrm.detection.encounters as encounters_module
from mendcrm.config.model import DetectionConfig
from mendcrm.detection import ContactIndex, detect, encounter_id
from mendcrm.detection.encounters import Maker
from mendcrm.model import Encounter, Match, replace
from tests.core.builders import ME, T0, attendee, contact, occurrence

ROBERT = contact("c-robert", "Robert Hale", emails=("robert@acme.example",), affinity=("PyCon",))
ANN = contact("c-ann", "Ann Lee", emails=("ann@acme.example",), affinity=("PyCon",))
KIM = contact("c-kim", "Kim Park", affinity=("PyCon",))
PEOPLE = [ROBERT, ANN, KIM]


def _made() -> list[Encounter]:
    """Three contacts at a conference (an all-day event naming their affinity), Robert also as
    a declined attendee: three encounters, each listing the other two."""
    occ = occurrence(
        summary="PyCon 2025",
        all_day=True,
        hours=24,
        attendees=(attendee("robert@acme.example", partstat="DECLINED"),),
    )
    return detect([occ], ContactIndex.build(PEOPLE), me=ME, settings=DetectionConfig())


def test_made_encounters_are_encounters_equal_to_ones_made_by_the_class() -> None:
    found = _made()
    assert [e.contact_id for e in found] == ["c-ann", "c-kim", "c-robert"]  # sorted by id
    for e in found:
        assert type(e) is Encounter
        by_class = Encounter(
            id=encounter_id(e.occurrence, e.contact_id),
            contact_id=e.contact_id,
            kind="conference",
            match=e.match,
            occurrence=e.occurrence,
            contact_declined=e.contact_id == "c-robert",
            others=tuple(c for c in ("c-ann", "c-kim", "c-robert") if c != e.contact_id),
        )
        assert e == by_class
        assert hash(e) == hash(by_class)
        assert e.to_record() == by_class.to_record()
        assert Encounter.from_record(e.to_record()) == e
        # The store's defaults: active, not withdrawn, no parent, no talks.
        assert (e.state, e.withdrawn_reason, e.parent_id, e.talks) == ("active", "", None, ())
    # Robert declined as an attendee: his encounter says so (attendee-email, 1.0, beats the
    # affinity's 0.5); the others came by the affinity alone.
    robert = found[2]
    assert (robert.match.by, robert.contact_declined) == ("attendee-email", True)
    assert {e.match.by for e in found[:2]} == {"conference-affinity"}


def test_made_encounters_stay_frozen_and_travel_as_encounters() -> None:
    [ann, *_] = _made()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ann.kind = "meeting"  # type: ignore[misc]
    # The daemon's child sends encounters to its parent pickled.
    back = pickle.loads(pickle.dumps(ann))
    assert type(back) is Encounter and back == ann
    withdrawn = replace(ann, state="withdrawn", withdrawn_reason="cancelled")
    assert type(withdrawn) is Encounter and withdrawn.others == ann.others


def test_a_group_met_again_shares_its_others() -> None:
    maker = Maker()
    found: list[Encounter] = []
    best = {cid: (0.5, Match("conference-affinity", "x", 0.5), False) for cid in "abc"}
    for uid in ("u1", "u2"):
        maker.add(found, occurrence(uid), "meeting", ("a", "b", "c"), best)
    assert [e.others for e in found] == [("b", "c"), ("a", "c"), ("a", "b")] * 2
    assert all(found[i].others is found[i + 3].others for i in range(3))
    assert found[0].id != found[3].id  # the occurrence is in the id


@pytest.mark.parametrize("n", [1, 2, 5, 61])
def test_others_are_every_other_id_in_order(n: int) -> None:
    ids = tuple(f"c{i:03d}" for i in range(n))
    best = {cid: (1.0, Match("attendee-email", "x", 1.0), False) for cid in ids}
    found: list[Encounter] = []
    Maker().add(found, occurrence(), "meeting", ids, best)
    assert [e.others for e in found] == [ids[:i] + ids[i + 1 :] for i in range(n)]


def test_a_changed_encounter_shape_is_refused_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    # A field added to Encounter that the maker would leave unset must stop it, not yield
    # encounters whose new field raises AttributeError when read.
    monkeypatch.setattr(encounters_module, "_FIELDS", encounters_module._FIELDS[:-1])
    with pytest.raises(RuntimeError, match="update"):
        encounters_module._unfrozen_twin()


def test_an_encounter_with_a_post_init_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Encounter, "__post_init__", lambda self: None, raising=False)
    with pytest.raises(RuntimeError, match="__post_init__"):
        encounters_module._unfrozen_twin()


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the collector as the test found it."""
    enabled = gc.isenabled()
    try:
        yield
    finally:
        gc.unfreeze()
        (gc.enable if enabled else gc.disable)()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.mark.usefixtures("collector")
def test_after_detection_its_objects_are_in_the_oldest_generation() -> None:
    gc.enable()
    found = _made()
    assert gc.isenabled()
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(e) in oldest for e in found)
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert not any(id(e) in young for e in found)


@pytest.mark.usefixtures("collector")
def test_a_cycle_dropped_before_detection_is_still_collected() -> None:
    gc.enable()
    cycle = _Cycle()
    alive = weakref.ref(cycle)
    del cycle
    _made()
    gc.collect()
    assert alive() is None


@pytest.mark.usefixtures("collector")
def test_a_paused_collector_stays_paused_and_frozen_objects_stay_frozen() -> None:
    gc.disable()
    _made()
    assert not gc.isenabled()
    gc.enable()
    gc.freeze()  # as a read command does with its records
    assert gc.get_freeze_count() > 0
    _made()
    assert gc.isenabled()
    # Still frozen, not put back into the oldest generation: the permanent generation is
    # not among those get_objects lists.
    assert gc.get_freeze_count() > 0
    assert not any(o is PEOPLE for o in gc.get_objects(generation=2))


def test_detect_over_many_occurrences_gives_each_its_own_ids() -> None:
    occs = [occurrence(f"u{i}", start=T0 + timedelta(hours=i), summary="Ann Lee") for i in range(3)]
    found = detect(occs, ContactIndex.build(PEOPLE), me=ME, settings=DetectionConfig())
    assert [e.id for e in found] == [encounter_id(o, "c-ann") for o in occs]
