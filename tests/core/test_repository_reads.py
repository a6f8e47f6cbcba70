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
