"""Model objects from stored records and back: the built ``from_record`` gives what the
dataclass's own ``__init__`` gives (``_from_record_by_init``), and the generated ``to_plain``
what a JSON round trip of the field-by-field encoding gives (``_to_record_by_fields``), for
full records, sparse ones, odd ones."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import timedelta, timezone
from enum import StrEnum
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
    replace,
)
from mendcrm.plain_json import plain_copy
from tests.core.builders import T0, attendee, contact, find, occurrence


def _same(cls: type[_Record], record: dict[str, Any]) -> None:
    built, reference = cls.from_record(record), cls._from_record_by_init(record)
    # repr too: Occurrence.version is left out of ==, and == would call 1 and True equal.
    assert built == reference and repr(built) == repr(reference)
    assert type(built) is cls


def _every_kind() -> list[_Record]:
    """One full object of every record kind, nested ones included (an encounter with talks)."""
    robert = contact(emails=("robert@acme.example",), stage_since=T0, affinity=("PyCon",))
    people = (attendee("robert@acme.example", "Robert"), attendee("ann@x.example"))
    [met] = find(occurrence(attendees=people), [robert])
    talk = Talk(session_id="s1", title="Keynote", start=T0, end=T0 + timedelta(hours=1))
    item = QueueItem(
        id="q1", kind="prep", contact_id=robert.id, due=T0, encounter_id=met.id,
        deliveries={"mail": "sent"}, snoozed_until=T0,
    )  # fmt: skip
    note = Interaction(id="i1", contact_id=robert.id, when=T0, outcome="warmer")
    with_talks = replace(met, talks=(talk,))
    return [robert, met, with_talks, talk, item, note, met.occurrence, met.match, people[0]]


def test_full_records_of_every_kind_read_back_as_the_init_reads_them() -> None:
    for obj in _every_kind():
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


# -- to the store: the generated encoder gives what a JSON round trip of the reference gives --


class _Kind(StrEnum):
    PREP = "prep"


class _Name(str):
    """A str subclass, as a library might hand one over (stored as the plain text)."""


def _plain_as_reference(obj: _Record) -> None:
    made = obj.to_plain()
    reference = obj._to_record_by_fields()
    # json.loads(json.dumps(...)) is the store's definition of plain (RFC 8259 values only).
    assert made.data == json.loads(json.dumps(reference, allow_nan=False))
    assert json.dumps(made.data) == json.dumps(json.loads(json.dumps(reference)))  # key order
    assert made.flagged is plain_copy(reference)[1]
    for value in _walk(made.data):
        assert type(value) in (dict, list, str, int, float, bool, type(None)), value
    assert obj.to_record() == made.data and obj.to_record() is not made.data


def _walk(value: Any) -> Any:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_every_kind_of_record_is_made_plain_as_a_json_round_trip_would() -> None:
    for obj in _every_kind():
        _plain_as_reference(obj)


def test_values_of_unexpected_types_go_the_general_way() -> None:
    berlin = timezone(timedelta(hours=1))
    odd = [
        # An enum and a str subclass are stored as their text; a list where a tuple is
        # expected is stored as a list; a time in another zone is stored in UTC.
        QueueItem(id="q", kind=_Kind.PREP, contact_id=_Name("c"), due=T0.astimezone(berlin)),  # type: ignore[arg-type]
        Contact(id="c", name="Ann", emails=["a@x.example"], aliases=(_Name("Annie"),)),  # type: ignore[arg-type]
        # An int where a float is declared, a bool where an int is: as JSON writes them.
        Match(by="email", evidence="a@x", confidence=1),
        QueueItem(id="q", kind="prep", contact_id="c", due=T0, attempts=True),
        # A dict with a key that is not a string, as json.dumps writes its name.
        QueueItem(id="q", kind="prep", contact_id="c", due=T0, deliveries={1: "sent"}),  # type: ignore[dict-item]
    ]
    for obj in odd:
        _plain_as_reference(obj)


def test_error_texts_are_flagged_for_masking_wherever_they_sit() -> None:
    failed = QueueItem(id="q", kind="prep", contact_id="c", due=T0, last_error="401 for s3cret")
    assert failed.to_plain().flagged
    blank = QueueItem(id="q", kind="prep", contact_id="c", due=T0, last_error="")
    assert not blank.to_plain().flagged
    nested = QueueItem(
        id="q", kind="prep", contact_id="c", due=T0, deliveries={"mail_error": "refused"}
    )
    assert nested.to_plain().flagged
    for obj in (failed, blank, nested):
        _plain_as_reference(obj)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_value_json_cannot_hold_is_refused_as_json_dumps_refuses_it(bad: float) -> None:
    with pytest.raises(ValueError, match="JSON"):
        Match(by="email", evidence="a@x", confidence=bad).to_plain()


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        QueueItem(id="q", kind="prep", contact_id="c", due=T0.replace(tzinfo=None)).to_plain()


def test_replace_gives_what_dataclasses_replace_gives() -> None:
    robert = contact(emails=("robert@acme.example",), stage_since=T0)
    [met] = find(occurrence(attendees=(attendee("robert@acme.example", "Robert"),)), [robert])
    item = QueueItem(id="q1", kind="prep", contact_id=robert.id, due=T0, deliveries={"m": "s"})
    cases: list[tuple[Any, dict[str, Any]]] = [
        (robert, {"stage": "cordial", "stage_since": T0 + timedelta(days=1)}),
        (met, {"state": "withdrawn", "withdrawn_reason": "moved"}),
        (met.occurrence, {"start": T0 + timedelta(hours=2), "version": (2, "a", "b")}),
        (item, {"state": "due"}),
        (item, {}),
    ]
    for obj, changes in cases:
        mine, reference = replace(obj, **changes), dataclasses.replace(obj, **changes)
        assert mine == reference and repr(mine) == repr(reference)
        assert type(mine) is type(obj) and mine is not obj
    with pytest.raises(TypeError, match="no field colour"):
        replace(item, colour="red")
