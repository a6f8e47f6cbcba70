"""The encounters of one occurrence, made at the cost of their fields and no more.

:func:`~mendcrm.detection.detect` makes tens of thousands of encounters on a large calendar (a
conference with sixty flagged contacts in its audience gives sixty), and the frozen dataclass's
generated ``__init__`` sets each of an :class:`~mendcrm.model.Encounter`'s eleven fields through
``object.__setattr__`` looked up by name: two thirds of the cost of making one. :class:`Maker`
sets them through the class's own slot descriptors instead, so what it makes is an ordinary
``Encounter``, equal to and indistinguishable from one made by calling the class.

It also shares what repeats: the ``others`` of a set of contacts met together again (a series,
the same meeting seen twice) are the tuples made the first time.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
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

_Setter = Callable[[Encounter, Any], None]


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


def _slot_setters() -> tuple[tuple[_Setter, ...], dict[str, Any]]:
    """Return the slot descriptors' setters of Encounter's fields, in :data:`_FIELDS`' order, and
    the defaults of those that have one; raise RuntimeError if the fields are not those."""
    fields = dataclasses.fields(Encounter)
    names = tuple(f.name for f in fields)
    if names != _FIELDS:
        raise RuntimeError(
            f"mendcrm.model.Encounter's fields are now {names}, not {_FIELDS}: update"
            " mendcrm/detection/encounters.py (_FIELDS and Maker.add) to set every one"
        )
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    return tuple(vars(Encounter)[name].__set__ for name in names), defaults


class Maker:
    """Makes the encounters of one :func:`~mendcrm.detection.detect` call."""

    def __init__(self) -> None:
        self.setters, defaults = _slot_setters()
        self.state = defaults["state"]
        self.withdrawn_reason = defaults["withdrawn_reason"]
        self.parent_id = defaults["parent_id"]
        self.talks = defaults["talks"]
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
            if len(contact_ids) == 1:
                others = [()]
            else:
                others = [contact_ids[:i] + contact_ids[i + 1 :] for i in range(len(contact_ids))]
            self.others[contact_ids] = others
        base = id_base(occurrence)  # copied per contact, as encounter_id does
        new = Encounter.__new__
        (
            s_id,
            s_cid,
            s_kind,
            s_match,
            s_occ,
            s_state,
            s_declined,
            s_others,
            s_why,
            s_parent,
            s_talks,
        ) = self.setters
        state, why, parent, talks = self.state, self.withdrawn_reason, self.parent_id, self.talks
        append = found.append
        for cid, other in zip(contact_ids, others, strict=True):
            _, match, declined = best[cid]
            digest = base.copy()
            digest.update(cid.encode("utf-8"))
            encounter = new(Encounter)
            s_id(encounter, digest.hexdigest()[:16])
            s_cid(encounter, cid)
            s_kind(encounter, kind)
            s_match(encounter, match)
            s_occ(encounter, occurrence)
            s_state(encounter, state)
            s_declined(encounter, declined)
            s_others(encounter, other)
            s_why(encounter, why)
            s_parent(encounter, parent)
            s_talks(encounter, talks)
            append(encounter)


__all__ = ["Maker", "encounter_id", "id_base"]
