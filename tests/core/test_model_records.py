"""Model objects from stored records: the built ``from_record`` gives what the dataclass's own
``__init__`` gives (``_from_record_by_init``), for full records, sparse ones, odd ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mendcrm.model import (
    Contact,
    Encounter,
    Interaction,
    Match,
    QueueItem,
    Talk,
    _Record,
)
from tests.core.builders import T0, attendee, contact, find, occurrence


def _same(cls: type[_Record], record: dict[str, Any]) -> None:
    built, reference = cls.from_record(record), cls._from_record_by_init(record)
    # repr too: Occurrence.version is left out of ==, and == would call 1 and True equal.
    assert built == reference and repr(built) == repr(reference)
    assert type(built) is cls


def test_full_records_of_every_kind_read_back_as_the_init_reads_them() -> None:
    robert = contact(emails=("robert@acme.example",), stage_since=T0, affinity=("PyCon",))
    people = (attendee("robert@acme.example", "Robert"), attendee("ann@x.example"))
    [met] = find(occurrence(attendees=people), [robert])
    talk = Talk(session_id="s1", title="Keynote", start=T0, end=T0 + timedelta(hours=1))
    item = QueueItem(
        id="q1", kind="prep", contact_id=robert.id, due=T0, encounter_id=met.id,
        deliveries={"mail": "sent"}, snoozed_until=T0,
    )  # fmt: skip
    note = Interaction(id="i1", contact_id=robert.id, when=T0, outcome="warmer")
    for obj in (robert, met, talk, item, note, met.occurrence, met.match, people[0]):
        _same(type(obj), obj.to_record())


@pytest.mark.parametrize(
    ("cls", "record"),
    [
        # Only the required fields: every default, and a fresh dict from a default factory.
        (QueueItem, {"id": "q", "kind": "prep", "contact_id": "c", "due": T0.isoformat()}),
        (Contact, {"id": "c", "name": "Ann"}),
        # Unknown keys are ignored; None is kept as None, not converted.
        (Contact, {"id": "c", "name": "Ann", "later": 1, "stage_since": None, "emails": None}),
        # Lists become tuples, a naive time is read as UTC, nested records are built.
        (Contact, {"id": "c", "name": "Ann", "emails": ["a@x"], "stage_since": "2025-01-01T10:00"}),
        (Match, {"by": "email", "evidence": "a@x", "confidence": 1}),
    ],
)
def test_sparse_and_odd_records_read_back_as_the_init_reads_them(
    cls: type[_Record], record: dict[str, Any]
) -> None:
    _same(cls, record)


def test_a_default_factory_gives_each_object_its_own_value() -> None:
    record = {"id": "q", "kind": "prep", "contact_id": "c", "due": T0.isoformat()}
    first, second = QueueItem.from_record(record), QueueItem.from_record(record)
    assert first.deliveries == {} and first.deliveries is not second.deliveries


@pytest.mark.parametrize("cls", [Contact, QueueItem, Encounter])
def test_a_record_missing_a_required_field_raises_as_the_init_does(cls: type[_Record]) -> None:
    with pytest.raises(TypeError, match="missing") as built:
        cls.from_record({"name": "no id"})
    with pytest.raises(TypeError, match="missing") as reference:
        cls._from_record_by_init({"name": "no id"})
    assert str(built.value) == str(reference.value)
