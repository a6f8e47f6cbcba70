"""`mendcrm annotations clear`: inline blocks stripped, MendCRM's calendar emptied or removed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from mendcrm.cli.main import cli
from mendcrm.errors import NotFoundError
from mendcrm.secrets import keyring_set
from mendcrm.store import Store
from tests.annotations.helpers import (
    INVITATION,
    NOW,
    encounter,
    followup,
    ics,
    new_world,
)
from tests.fixtures.servers import DavAccount, http_request

START = NOW + timedelta(days=1, hours=2)


def test_clear_strips_blocks_deletes_items_and_removes_the_calendar(
    dav_account: DavAccount, tmp_path: Path
) -> None:
    world = new_world(dav_account, annotate="inline")
    solo = world.put("solo.ics", ics("solo", start=START, description="My own notes"))
    invitation = world.put("inv.ics", ics("inv", start=START, extra=INVITATION))
    originals = {solo: world.get(solo), invitation: world.get(invitation)}
    occurrences = world.occurrences()
    encs = [encounter(occurrences["solo"]), encounter(occurrences["inv"])]
    result = world.annotate(encs, [followup(encs[0])])
    assert result.warnings == []
    calendar = world.doc()["calendar"]
    assert len(world.annotation_objects()) == 2  # the invitation's prep event and the task
    assert world.get(solo) != originals[solo]

    store_path = tmp_path / "store.json"
    with Store(store_path).transaction() as tx:
        for doc in world.state.values():
            tx.put("sync_state", doc)
    account = world.account
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\npath = "{store_path}"\n'
        '[me]\nemails = ["sam@me.example"]\ntimezone = "Europe/Berlin"\n'
        f'[[accounts]]\nname = "{account.name}"\nurl = "{account.url}"\n'
        f'username = "{account.username}"\nannotate = "inline"\n'
        f'annotation_calendar = "{account.annotation_calendar}"\n'
        f"calendars = {list(account.calendars)!r}\n".replace("'", '"')
    )
    keyring_set(account.name, dav_account.password)

    annotated = {p: world.get(p) for p in originals}
    unknown = CliRunner().invoke(
        cli, ["--config", str(config), "annotations", "clear", "--account", "nope"]
    )
    # An unknown account is the user's error, not a crash (CliRunner reports any uncaught
    # exception as exit 1 too): a NotFoundError — exit 1 and one line at the CLI boundary —
    # that names the accounts there are, raised before anything is touched.
    assert isinstance(unknown.exception, NotFoundError), unknown.output
    assert unknown.exception.message == f"no account named 'nope' (accounts: {account.name})"
    assert {p: world.get(p) for p in originals} == annotated

    answer = CliRunner().invoke(
        cli, ["--config", str(config), "annotations", "clear", "--remove-calendar"]
    )
    assert answer.exit_code == 0, answer.output
    assert "Annotations cleared: work" in answer.output
    assert {p: world.get(p) for p in originals} == originals
    gone = http_request(calendar, "PROPFIND", headers={"Depth": "0", **dav_account.auth})
    # Radicale answers 404; Xandikos a 207 whose one response says 404.
    assert gone.status == 404 or b"404 Not Found" in gone.body
    with Store(store_path).read() as view:
        stored = view.get("sync_state", "annotations:work")
    assert stored is not None and stored["items"] == {} and "calendar" not in stored
