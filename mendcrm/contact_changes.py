"""Which contacts alone changed since the last pass: where a pass scoped to them starts.

A pass's memo (:mod:`mendcrm.pass_memo`) holds one digest of all its inputs. To tell *which*
contacts changed, it also keeps the inputs' digest with the contacts and interactions tables
left out (:func:`rest_digest`), a digest of what detection reads of the contacts
(:attr:`ContactDigests.index`) and a short digest per contact of its record and its
interactions (:attr:`ContactDigests.people`). When the rest is as the memo saw it and the
index too, only planning inputs of some contacts changed — a stage set by hand or moved by an
outcome, an interaction logged, edited or deleted, a text field (history, goal, …) edited —
and only those contacts' notes and nudges, and the notes of the meetings they share, can
change (:mod:`mendcrm.changed_pass` plans them).

What is not planning-only, and so recomputes everything:

- what detection reads of a flagged contact (:mod:`mendcrm.detection.index`: id, name,
  aliases, e-mails, affinity, organisation) and whether a contact is flagged at all: a new,
  renamed or unflagged contact can change which contact a text names, for every meeting;
- a contact added or removed, or an interaction of a contact that does not exist;
- any change of the dismissals, encounters or queue tables (snoozing, delivering, "not this
  person"): they name no contact this module could vouch for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mendcrm.model import FLAGGED_STAGES
from mendcrm.store.layout import table_text

if TYPE_CHECKING:
    from mendcrm.pass_memo import PassMemo, Tables
    from mendcrm.repository import Readable as Records

    class Readable(Records, Tables, Protocol):
        """What the digests read: a store transaction (records decoded, tables digested)."""


REST_TABLES = ("dismissals", "encounters", "queue")
"""The planning tables (:data:`mendcrm.pass_memo.PLANNING_TABLES`) besides contacts and
interactions."""

PLANNING_ONLY_FIELDS = frozenset(
    {"stage", "stage_since", "history", "strengths", "goal", "boundaries", "notes", "role"}
)
"""The contact fields detection does not read (whether the stage is a flagged one aside, which
:attr:`ContactDigests.index` keeps); a field added to contacts counts as read by detection
until it is listed here."""


@dataclass(frozen=True, slots=True)
class ContactDigests:
    """What detection reads of the contacts (one digest), and each contact's record with its
    interactions (a short digest per contact id)."""

    index: str
    people: Mapping[str, str]

    @classmethod
    def of(cls, tx: Readable) -> ContactDigests:
        """Given a transaction, return the digests of its contacts and interactions tables."""
        parts: dict[str, list[bytes]] = {}
        seen: list[tuple[str, bytes]] = []
        for record in tx.decode("contacts", _same):
            cid = str(record.get("id"))
            parts[cid] = [table_text({"c": record})]
            if record.get("stage") in FLAGGED_STAGES:
                read = {k: v for k, v in record.items() if k not in PLANNING_ONLY_FIELDS}
                seen.append((cid, table_text({"c": read})))
        for record in tx.decode("interactions", _same):
            # An interaction of no contact gets a key of its own: the keys then differ from
            # the memo's, and the pass recomputes everything.
            parts.setdefault(str(record.get("contact_id")), [b"-"]).append(
                table_text({"i": record})
            )
        index = hashlib.sha256()
        for cid, text in sorted(seen):
            index.update(b"%s:%d:" % (cid.encode("utf-8"), len(text)))
            index.update(text)
        return cls(index.hexdigest(), {cid: _short(texts) for cid, texts in parts.items()})

    def edited_since(self, memo: PassMemo) -> frozenset[str] | None:
        """Given the memo of the last pass, return the ids of the contacts whose own records
        (the contact or its interactions) changed since; None when what detection reads
        changed, a contact came or went, or the memo kept no digests."""
        if not memo.index or memo.index != self.index or memo.people.keys() != self.people.keys():
            return None
        return frozenset(cid for cid, short in self.people.items() if memo.people[cid] != short)


def rest_digest(
    tx: Readable, context: str, state: Mapping[str, Mapping[str, Any]], departed: Any
) -> str:
    """Given a transaction, the pass's context digest, sync state documents and the departed
    sources' record, return the inputs' digest (:func:`mendcrm.pass_memo.inputs_digest`) with
    the contacts and interactions tables left out."""
    from mendcrm.pass_memo import inputs_digest

    return inputs_digest(tx.digest(REST_TABLES), context, state, [departed])


def with_contacts(
    memo: PassMemo,
    tx: Readable,
    context: str,
    state: Mapping[str, Mapping[str, Any]],
    departed: Any,
    digests: ContactDigests | None = None,
) -> PassMemo:
    """Given a memo, the pass's transaction (as it will be committed), context digest, sync
    state and departed sources' record, return the memo with the digests that tell later which
    contacts alone changed; ``digests``: the contacts' if the caller has them, else read."""
    import dataclasses

    if digests is None:
        digests = ContactDigests.of(tx)
    rest = rest_digest(tx, context, state, departed)
    return dataclasses.replace(memo, rest=rest, index=digests.index, people=digests.people)


def uids_naming(tx: Readable, contacts: Collection[str]) -> set[str]:
    """Given a transaction and contact ids, return the UIDs of the stored encounters of those
    contacts or naming them among the others present (a prep note names them)."""
    if not contacts:
        return set()
    wanted = frozenset(contacts)

    def names_one(record: Mapping[str, Any]) -> bool:
        return record.get("contact_id") in wanted or not wanted.isdisjoint(
            record.get("others") or ()
        )

    return set(tx.decode("encounters", _uid, names_one))


def nudges_outside(tx: Readable, contacts: Collection[str]) -> set[str]:
    """Given a transaction and contact ids, return the ids of the nudges of every other
    contact: a pass scoped to those contacts leaves the others' nudges as the last full pass
    pruned them (nothing they depend on changed)."""
    wanted = frozenset(contacts)

    def elsewhere(record: Mapping[str, Any]) -> bool:
        return record.get("kind") == "nudge" and record.get("contact_id") not in wanted

    return set(tx.decode("queue", lambda r: str(r["id"]), elsewhere))


def _same(record: dict[str, Any]) -> dict[str, Any]:
    return record


def _uid(record: Mapping[str, Any]) -> str:
    return str((record.get("occurrence") or {}).get("uid", ""))


def _short(texts: Iterable[bytes]) -> str:
    """A 64-bit digest of record texts, in order (each prefixed with its length)."""
    found = hashlib.blake2b(digest_size=8)
    for text in texts:
        found.update(len(text).to_bytes(8, "big"))
        found.update(text)
    return found.hexdigest()


__all__ = [
    "PLANNING_ONLY_FIELDS",
    "REST_TABLES",
    "ContactDigests",
    "nudges_outside",
    "rest_digest",
    "uids_naming",
    "with_contacts",
]
