"""The encounters of one occurrence, made at the cost of their fields and no more.

:func:`~mendcrm.detection.detect` makes tens of thousands of encounters on a large calendar (a
conference with sixty flagged contacts in its audience gives sixty). The frozen dataclass's
generated ``__init__`` sets each of an :class:`~mendcrm.model.Encounter`'s eleven fields through
``object.__setattr__`` looked up by name, which is most of the cost of making one.
:class:`Maker` fills the same slots in an unfrozen twin of the class (same base, same
``__slots__``, so the same memory layout) with plain attribute stores, then sets the object's
``__class__`` to ``Encounter``, which Python allows between classes of one layout. What comes
out is an ordinary ``Encounter``: of that type, equal to and indistinguishable from one made
by calling the class (checked once at import, and by the tests).

It also shares what repeats: the ``others`` of a set of contacts met together again (a series,
the same meeting seen twice) are the tuples made the first time.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from itertools import combinations
from typing import Any

from mendcrm.model import Encounter, Match, Occurrence

_FIELDS = (
    "id",
    "contact_id",
    "kind",
    "match",
    "occurrence",
    "state",
    "contact_declined",
    "others",
    "withdrawn_reason",
    "parent_id",
    "talks",
)
"""Encounter's fields, in the order :meth:`Maker.add` sets them: every one must be set (a slot
left unset would raise AttributeError when read)."""


def encounter_id(occurrence: Occurrence, contact_id: str) -> str:
    """Given an occurrence and a contact id, return the encounter's stable id (16 hex digits).

    Built from source, calendar, UID, occurrence key (RECURRENCE-ID or start) and contact, so
    every sync pass finds the same id for the same possible meeting.
    """
    digest = id_base(occurrence)
    digest.update(contact_id.encode("utf-8"))
    return digest.hexdigest()[:16]


def id_base(occurrence: Occurrence) -> hashlib._Hash:
    """Return the hash of an occurrence's part of its encounters' ids, to be copied and completed
    with each contact's id: ids stay sha256 of "source␟calendar␟uid␟key␟contact" in UTF-8, as
    stored ids were made."""
    key = "\x1f".join((occurrence.source, occurrence.calendar, occurrence.uid, occurrence.key, ""))
    return hashlib.sha256(key.encode("utf-8"))


def _unfrozen_twin() -> Any:
    """Return a class of Encounter's layout without its frozen ``__setattr__``; raise
    RuntimeError if Encounter's fields are not :data:`_FIELDS`, if it has a ``__post_init__``
    (which filling the slots would skip) or if its instances cannot be made through the twin."""
    names = tuple(f.name for f in dataclasses.fields(Encounter))
    slots = vars(Encounter)["__slots__"]
    if names != _FIELDS or tuple(slots) != _FIELDS:
        raise RuntimeError(
            f"mendcrm.model.Encounter's fields are now {names}, not {_FIELDS}: update"
            " mendcrm/detection/encounters.py (_FIELDS and Maker.add) to set every one"
        )
    if hasattr(Encounter, "__post_init__"):
        raise RuntimeError(
            "mendcrm.model.Encounter now has a __post_init__, which the maker would skip: make"
            " mendcrm/detection/encounters.py call it, or make encounters by calling the class"
        )
    twin = type("UnfrozenEncounter", Encounter.__bases__, {"__slots__": slots})
    probe: Any = object.__new__(twin)
    for name, value in zip(_FIELDS, _PROBE_VALUES, strict=True):
        setattr(probe, name, value)
    probe.__class__ = Encounter
    if probe != Encounter(*_PROBE_VALUES) or type(probe) is not Encounter:
        raise RuntimeError("an Encounter made through its unfrozen twin differs from one made")
    return twin


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Encounter)}
_PROBE_VALUES: tuple[Any, ...] = tuple(f"probe {name}" for name in _FIELDS)
_Unfrozen = _unfrozen_twin()


class Maker:
    """Makes the encounters of one :func:`~mendcrm.detection.detect` call."""

    def __init__(self) -> None:
        self.others: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        """Per set of contacts met together (sorted ids), the ``others`` of each of them."""

    def add(
        self,
        found: list[Encounter],
        occurrence: Occurrence,
        kind: str,
        contact_ids: tuple[str, ...],
        best: Mapping[str, tuple[float, Match, bool]],
    ) -> None:
        """Given an occurrence, its kind ("meeting" or "conference"), the ids of the contacts
        it gives an encounter with (sorted) and each one's best (confidence, match, contact
        declined), append their encounters to ``found``, in the order of ``contact_ids``.

        Each is ``Encounter(id=encounter_id(occurrence, cid), contact_id=cid, kind=kind,
        match=match, occurrence=occurrence, contact_declined=declined, others=<the other ids,
        in order>)`` with every other field at its default.
        """
        others = self.others.get(contact_ids)
        if others is None:
            # The (n-1)-combinations of n sorted ids, in the order itertools documents, leave
            # out the last id first and the first id last: reversed, each leaves out the id at
            # its own position. One tuple made per id, where slicing and joining make three.
            others = list(combinations(contact_ids, len(contact_ids) - 1))
            others.reverse()
            self.others[contact_ids] = others
        base = id_base(occurrence)  # copied per contact, as encounter_id does
        new, unfrozen, encounter_class = object.__new__, _Unfrozen, Encounter
        state, why = _DEFAULTS["state"], _DEFAULTS["withdrawn_reason"]
        parent, talks = _DEFAULTS["parent_id"], _DEFAULTS["talks"]
        append = found.append
        for cid, other in zip(contact_ids, others, strict=True):
            _, match, declined = best[cid]
            digest = base.copy()
            digest.update(cid.encode("utf-8"))
            encounter = new(unfrozen)
            encounter.id = digest.hexdigest()[:16]
            encounter.contact_id = cid
            encounter.kind = kind
            encounter.match = match
            encounter.occurrence = occurrence
            encounter.state = state
            encounter.contact_declined = declined
            encounter.others = other
            encounter.withdrawn_reason = why
            encounter.parent_id = parent
            encounter.talks = talks
            encounter.__class__ = encounter_class
            append(encounter)


__all__ = ["Maker", "encounter_id", "id_base"]
