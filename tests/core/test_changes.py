"""The user's changes (mendcrm.changes): the CLI and the library do the same thing to the store,
and every stage change is recorded in the stage history."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from mendcrm import changes, repository
from mendcrm.cli.contact_commands import add, edit, flag, log
from mendcrm.cli.context import AppContext
from mendcrm.cli.queue_commands import dismiss, done, snooze_command
from mendcrm.clock import FrozenClock
from mendcrm.errors import MendError, UsageError
from mendcrm.model import Contact, QueueItem
from mendcrm.stages import stage_history
from mendcrm.store import Store
from tests.core.builders import T0

NOW = T0 + timedelta(days=10)
# Fields that are random per call (fresh ids); the rest of every record must match.
_RANDOM = {"id", "contact_id"}


def _seed(path: Path) -> None:
    store = Store(path)
    with store.transaction() as tx:
        robert = Contact(id="c-robert", name="Robert Hale", stage="strained", stage_since=T0)
        repository.save(tx, "contacts", robert)
        repository.save(
            tx,
            "queue",
            QueueItem(
                id="q-follow", kind="followup", contact_id="c-robert", due=NOW - timedelta(1)
            ),
            QueueItem(id="q-nudge", kind="nudge", contact_id="c-robert", due=NOW - timedelta(1)),
        )


def _tables(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The store's records with the random ids masked, sorted, so two stores can be compared."""
    out: dict[str, list[dict[str, Any]]] = {}
    with Store(path).read() as view:
        ids = {c["id"]: c["name"] for c in view.all("contacts")}
        for table in ("contacts", "interactions", "queue", "stage_history"):
            rows = []
            for record in view.all(table):
                masked = {k: v for k, v in record.items() if k not in _RANDOM}
                masked["who"] = ids.get(record.get("contact_id", record["id"]), "?")
                rows.append(masked)
            out[table] = sorted(rows, key=repr)
    return out


def _run(tmp_path: Path, store: Path, command: click.Command, *args: str) -> str:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\n')
    app = AppContext(config_option=config, clock=FrozenClock(NOW))
    result = CliRunner().invoke(command, list(args), obj=app, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


Library = Callable[[Any], object]

CASES: list[tuple[str, click.Command, tuple[str, ...], Library]] = [
    (
        "log",
        log,
        ("Robert", "--outcome", "positive", "--note", "coffee went well"),
        lambda tx: changes.log_outcome(
            tx, "Robert", outcome="positive", note="coffee went well", when=NOW, now=NOW
        ),
    ),
    (
        "refusal",
        log,
        ("Robert", "--outcome", "negative", "--refused"),
        lambda tx: changes.log_outcome(
            tx, "Robert", outcome="negative", refused=True, when=NOW, now=NOW
        ),
    ),
    (
        "followup done",
        done,
        ("q-follow", "--outcome", "neutral"),
        lambda tx: changes.close_followup(tx, "q-follow", outcome="neutral", now=NOW),
    ),
    (
        "followup dismiss",
        dismiss,
        ("q-nudge",),
        lambda tx: changes.close_followup(tx, "q-nudge", dismiss=True, now=NOW),
    ),
    (
        "flag",
        flag,
        ("Robert", "--stage", "cordial"),
        lambda tx: changes.set_stage(tx, "Robert", "cordial", now=NOW),
    ),
    (
        "unflag",
        flag,
        ("c-robert", "--stage", "none"),
        lambda tx: changes.set_stage(tx, "c-robert", "none", now=NOW),
    ),
    (
        "add",
        add,
        ("Dana Ward", "--email", "Dana@Example.org", "--stage", "strained", "--org", "Acme"),
        lambda tx: changes.add_contact(
            tx, "Dana Ward", emails=["Dana@Example.org"], stage="strained", org="Acme", now=NOW
        ),
    ),
    (
        "edit",
        edit,
        ("Robert", "--name", "Rob Hale", "--stage", "talking", "--goal", "work together"),
        lambda tx: changes.edit_contact(
            tx, "Robert", name="Rob Hale", stage="talking", goal="work together", now=NOW
        ),
    ),
    (
        "snooze",
        snooze_command,
        ("q-follow", "--hours", "5"),
        lambda tx: changes.snooze(tx, "q-follow", until=NOW + timedelta(hours=5), now=NOW),
    ),
]


@pytest.mark.parametrize(("name", "command", "args", "library"), CASES, ids=[c[0] for c in CASES])
def test_the_cli_and_the_library_leave_the_same_store(
    tmp_path: Path, name: str, command: click.Command, args: tuple[str, ...], library: Library
) -> None:
    by_cli, by_library = tmp_path / "cli.json", tmp_path / "lib.json"
    _seed(by_cli)
    shutil.copy(by_cli, by_library)
    before = _tables(by_cli)
    _run(tmp_path, by_cli, command, *args)
    with Store(by_library).transaction() as tx:
        library(tx)
    after = _tables(by_cli)
    assert after != before, f"{name} changed nothing"  # the comparison below is not vacuous
    assert _tables(by_library) == after


def test_every_stage_change_is_in_the_history(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    _seed(path)
    store = Store(path)
    with store.transaction() as tx:
        changes.set_stage(tx, "Robert", "cordial", now=NOW)
    # The default playbook needs a refusal to move any stage to let-go: one logged refusal.
    with store.transaction() as tx:
        changes.log_outcome(tx, "Robert", outcome="negative", refused=True, when=NOW, now=NOW)
    with store.transaction() as tx:
        changes.edit_contact(tx, "Robert", stage="talking", now=NOW + timedelta(hours=1))
    with store.read() as view:
        steps = stage_history(view, "c-robert")
        robert = repository.contact(view, "c-robert")
    assert [(s.before, s.after, s.by) for s in steps] == [
        ("strained", "cordial", "hand"),
        ("cordial", "let-go", "outcome"),
        ("let-go", "talking", "hand"),
    ]
    assert "refusal" in steps[1].reason
    assert robert is not None and robert.stage_since == NOW + timedelta(hours=1)


def test_setting_the_same_stage_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    _seed(path)
    with Store(path).transaction() as tx:
        changes.set_stage(tx, "Robert", "strained", now=NOW)
        assert stage_history(tx, "c-robert") == []


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda tx: changes.close_followup(tx, "q-nowhere", now=NOW), "no follow-up"),
        (lambda tx: changes.snooze(tx, "q-follow", until=NOW, now=NOW), "after now"),
        (lambda tx: changes.add_contact(tx, "  ", now=NOW), "needs a name"),
        (lambda tx: changes.edit_contact(tx, "Robert", now=NOW), "nothing to change"),
        (lambda tx: changes.set_stage(tx, "Robert", "friends", now=NOW), "unknown stage"),
        (
            lambda tx: changes.log_outcome(
                tx, "Robert", outcome="positive", when=NOW + timedelta(1), now=NOW
            ),
            "future",
        ),
    ],
)
def test_a_bad_request_changes_nothing_and_says_what(
    tmp_path: Path, action: Library, message: str
) -> None:
    path = tmp_path / "store.json"
    _seed(path)
    before = path.read_bytes()
    with pytest.raises(MendError, match=message), Store(path).transaction() as tx:
        action(tx)
    assert path.read_bytes() == before


def test_a_snoozed_followup_closed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    _seed(path)
    store = Store(path)
    with store.transaction() as tx:
        changes.close_followup(tx, "q-follow", now=NOW)
    with pytest.raises(UsageError, match="already done"), store.transaction() as tx:
        changes.close_followup(tx, "q-follow", now=NOW)
