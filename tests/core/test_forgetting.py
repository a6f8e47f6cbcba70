"""Forgetting in the store: every record of the person, their id in others' encounters, their
name in others' notes, and the backup copies (mendcrm.forgetting)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mendcrm import repository
from mendcrm.forgetting import forget_in, pending_removals, scrub_copies, without_names
from mendcrm.model import Contact, Interaction, QueueItem
from mendcrm.store import Store
from tests.core.builders import T0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The only other person present: the line goes.
        (
            "# Prep\n- **Also there:** Robert Hale\n- **Where:** Room 1",
            "# Prep\n- **Where:** Room 1",
        ),
        # One of several: only that entry goes, the list stays well formed.
        (
            "- **Also there:** Ana Lima, Robert Hale, Dana Ward",
            "- **Also there:** Ana Lima, Dana Ward",
        ),
        ("- **Also there:** Robert Hale, Dana Ward", "- **Also there:** Dana Ward"),
        # An alias or an address, in any case.
        ("Ask bob@acme.example first", "Ask  first"),
        ("nothing about him", "nothing about him"),
        ("Bobby is someone else", "Bobby is someone else"),
    ],
)
def test_a_note_forgets_the_person(text: str, expected: str) -> None:
    assert without_names(text, ["Robert Hale", "Bob", "bob@acme.example"]) == expected


def test_forget_in_removes_every_record_and_reference(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.json")
    with store.transaction() as tx:
        repository.save(
            tx,
            "contacts",
            Contact(id="c-rob", name="Robert Hale", stage="strained", history="the reorg"),
            Contact(id="c-ana", name="Ana Lima", stage="cordial"),
        )
        repository.save(tx, "interactions", Interaction(id="i1", contact_id="c-rob", when=T0))
        repository.save(
            tx,
            "queue",
            QueueItem(id="q-rob", kind="prep", contact_id="c-rob", due=T0, body="Robert"),
            QueueItem(
                id="q-ana",
                kind="prep",
                contact_id="c-ana",
                due=T0,
                body="- **Also there:** Robert Hale",
            ),
        )
    store.refresh_backup()  # the .bak now holds him, as any earlier version would
    with store.transaction() as tx:
        done = forget_in(tx, "Robert", now=T0)
    assert done.removed == {"contacts": 1, "interactions": 1, "queue": 1, "mentions": 1}
    assert done.item_ids == ("q-rob",)
    with store.read() as view:
        assert [c.id for c in repository.contacts(view)] == ["c-ana"]
        assert repository.queue_item(view, "q-ana").body == ""  # type: ignore[union-attr]
        assert [p.contact_id for p in pending_removals(view)] == ["c-rob"]
    assert "the reorg" in store.backup_path.read_text()
    older = tmp_path / "store.json.v3.bak"  # as an upgrade leaves it
    older.write_text(json.dumps({"contacts": {"c-rob": {"id": "c-rob", "name": "Robert Hale"}}}))
    assert scrub_copies(store, ["c-rob"]) == []
    assert "the reorg" not in store.backup_path.read_text()
    assert "Robert" not in older.read_text()


def test_an_older_copy_forgets_every_contact_it_is_given(tmp_path: Path) -> None:
    # scrub_copies takes a list of ids: each of them must be gone from an older copy, not only
    # the first one found there (a short-circuiting test stopped after the first).
    store = Store(tmp_path / "store.json")
    older = tmp_path / "store.json.v3.bak"  # as an upgrade leaves it
    older.write_text(
        json.dumps(
            {
                "contacts": {
                    "c-rob": {"id": "c-rob", "name": "Robert Hale"},
                    "c-dana": {"id": "c-dana", "name": "Dana Ward"},
                    "c-ana": {"id": "c-ana", "name": "Ana Lima"},
                },
                "interactions": {
                    "i1": {"id": "i1", "contact_id": "c-dana", "when": "2026-01-01T00:00:00+00:00"}
                },
            }
        )
    )
    assert scrub_copies(store, ["c-rob", "c-dana"]) == []
    kept = json.loads(older.read_text())
    assert sorted(kept["contacts"]) == ["c-ana"]
    assert kept["interactions"] == {}
