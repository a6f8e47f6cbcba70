"""Repository reads that skip records before decoding them give what decoding all would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mendcrm import repository
from mendcrm.model import QueueItem
from mendcrm.store import Store
from tests.core.builders import T0, attendee, contact, find, occurrence


def test_prep_reads_match_what_decoding_everything_gives(tmp_path: Path) -> None:
    robert = contact(emails=("robert@acme.example",))
    ann = contact("c-ann", "Ann Lee", emails=("ann@x.example",))
    people = (attendee("robert@acme.example"), attendee("ann@x.example"))
    # Three meetings: one ended an hour before "now" (T0 + 2 days), one ends exactly at now
    # (over: its end is not after now), one ends an hour after now.
    now = T0 + timedelta(days=2)
    encounters = [
        e
        for uid, start in (
            ("past", now - timedelta(hours=2)),
            ("edge", now - timedelta(hours=1)),
            ("ahead", now),
        )
        for e in find(occurrence(uid, start=start, attendees=people), [robert, ann])
    ]
    items = [
        QueueItem(
            id=f"q-{kind}-{e.id}", kind=kind, contact_id=e.contact_id, due=T0, encounter_id=e.id
        )
        for e in encounters
        for kind in ("prep", "followup")
    ]
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        repository.save(tx, "contacts", robert, ann)
        repository.save(tx, "encounters", *encounters)
        repository.save(tx, "queue", *items)
    with store.read(only=("queue", "encounters")) as view:
        preps = repository.queue_of_kind(view, "prep")
        assert preps == [i for i in repository.queue(view) if i.kind == "prep"]
        assert len(preps) == 6  # 3 meetings × 2 contacts
        ids = {e.id for e in encounters} | {"gone"}  # an id no longer stored is not "over"
        over = repository.encounters_over(view, ids, now)
        assert over == {e.id for e in repository.encounters(view) if e.occurrence.end <= now}
        assert over == {e.id for e in encounters if e.occurrence.uid in ("past", "edge")}
        # prep's own read: the open notes due by a time, without those of encounters over.
        ahead = repository.queue_ahead(view, "prep", states=("pending",), due_by=now, now=now)
        assert ahead == [i for i in preps if i.encounter_id not in over]
        assert len(ahead) == 2  # the "ahead" meeting's note, for each of the two contacts
    # The same reads in a transaction (every table decoded whole) give the same.
    with store.transaction() as tx:
        assert repository.encounters_over(tx, ids, now) == over
        assert repository.queue_ahead(tx, "prep", states=("pending",), due_by=now, now=now) == ahead


def test_open_prep_notes_due_by_a_time_are_those_decoding_all_would_give(tmp_path: Path) -> None:
    # Every state × three due times (an hour before, at, and an hour after the bound), and a
    # follow-up due early: only the prep notes in an open state due at or before it are kept.
    bound = T0 + timedelta(days=1)
    states = ("pending", "due", "delivered", "done", "dismissed", "withdrawn")
    items = [
        QueueItem(
            id=f"q-{state}-{offset}", kind="prep", contact_id="c1", due=bound + offset, state=state
        )
        for state in states
        for offset in (timedelta(hours=-1), timedelta(0), timedelta(hours=1))
    ]
    items.append(QueueItem(id="q-followup", kind="followup", contact_id="c1", due=T0))
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        repository.save(tx, "queue", *items)
    open_states = ("pending", "due", "delivered")
    with store.read(only=("queue",)) as view:
        kept = repository.queue_of_kind(view, "prep", states=open_states, due_by=bound)
        everything = repository.queue(view)
    assert kept == [
        i for i in everything if i.kind == "prep" and i.state in open_states and i.due <= bound
    ]
    assert len(kept) == 6  # 3 open states × (an hour before, at the bound)


def test_decoded_objects_share_nothing_with_the_stored_records(tmp_path: Path) -> None:
    # A view decodes straight from its snapshot's records: a decoded item's dict must be its own.
    item = QueueItem(id="q1", kind="prep", contact_id="c1", due=T0, deliveries={"mail": "sent"})
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        repository.save(tx, "queue", item)
    with store.read() as view:
        [decoded] = repository.queue(view)
        decoded.deliveries["mail"] = "changed by the caller"
        assert repository.queue(view) == [item]
        assert view.get("queue", "q1")["deliveries"] == {"mail": "sent"}  # type: ignore[index]


def test_contacts_by_id_decodes_the_ones_asked_for(tmp_path: Path) -> None:
    people = [contact(f"c{i}", f"Person {i}") for i in range(5)]
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        repository.save(tx, "contacts", *people)
    with store.read(only=("contacts",)) as view:
        found = repository.contacts_by_id(view, ["c3", "c1", "gone"])
    assert found == {"c1": people[1], "c3": people[3]}  # an id not stored is left out
