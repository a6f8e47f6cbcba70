"""Programme encounters through whole in-process passes (``sync_pass`` on a frozen clock), a
programme file as the only source: a speaker removed, another organisation, a heads-up that
becomes a prep note, a programme removed from the config."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mendcrm import repository
from mendcrm.clock import FrozenClock
from mendcrm.config.model import Config, MeConfig, ProgrammeConfig
from mendcrm.model import Contact, Encounter, QueueItem
from mendcrm.pipeline import sync_pass
from mendcrm.store import Store

INDICO = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "programmes"
    / "documented"
    / "indico-contributions.json"
)
NOW = datetime(2027, 8, 1, 9, tzinfo=UTC)
ROBERT = Contact(id="c-robert", name="Robert Hale", org="Acme Cloud", stage="strained")
KWAME = Contact(id="c-kwame", name="Kwame Osei", org="Initech", stage="cordial")


class Pass:
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "indico.json"
        self.path.write_bytes(INDICO.read_bytes())
        self.store = Store(tmp_path / "store.json")
        self.clock = FrozenClock(NOW)
        self.config = Config(
            me=MeConfig(emails=("me@example.org",), timezone="Europe/Lisbon"),
            programmes=(ProgrammeConfig(name="cew", path=self.path, format="indico"),),
        )
        with self.store.transaction() as tx:
            repository.save(tx, "contacts", ROBERT, KWAME)

    def __call__(self) -> None:
        summary = sync_pass(
            self.config, self.store, clock=self.clock, force=True
        )  # as `mendcrm sync`
        assert not summary.errors, summary.errors
        self.clock.advance(timedelta(minutes=10))

    def encounters(self) -> list[Encounter]:
        with self.store.read() as view:
            return sorted(repository.encounters(view), key=lambda e: (e.contact_id, e.id))

    def queue(self, kind: str) -> list[QueueItem]:
        with self.store.read() as view:
            return [i for i in repository.queue(view) if i.kind == kind]


def test_affiliations_heads_ups_and_a_speaker_removed(tmp_path: Path) -> None:
    run = Pass(tmp_path)
    run()
    found = {e.contact_id: e for e in run.encounters()}
    # Indico lists "Hale, Robert" of Acme Cloud (his organisation: 0.9) and "Osei, Kwame" of
    # Globex (Kwame's is Initech: 0.5, and the evidence says so).
    assert found["c-robert"].match.confidence == 0.9
    assert found["c-kwame"].match.confidence == 0.5
    assert "not Initech" in found["c-kwame"].match.evidence
    assert all(not e.on_your_calendar and e.parent_id is None for e in found.values())
    heads = {i.contact_id: i for i in run.queue("heads-up")}
    # Contribution 17 starts 2027-09-14 11:00 Europe/Zurich = 09:00 UTC = 10:00 in Lisbon.
    assert heads["c-robert"].title == (
        "Robert Hale speaks at Cloud Economics Workshop 2027 on 14 September"
    )
    assert "10:00, Auditorium A: Allocating shared Kubernetes costs" in heads["c-robert"].body
    assert run.queue("prep") == [] and run.queue("followup") == []

    # The next version lists someone else for contribution 17: his encounter is withdrawn, and
    # so is his heads-up (still open); Kwame's stay. Neither of Robert's reached the user (no
    # delivery, no outcome), so retention drops them in the pass that withdraws them.
    doc = json.loads(run.path.read_text(encoding="utf-8"))
    speaker = doc["results"][0]["contributions"][0]["speakers"][0]
    speaker.update(fullName="Lima, Ana", first_name="Ana", last_name="Lima")
    run.path.write_text(json.dumps(doc), encoding="utf-8")
    run()
    states = {e.contact_id: e.state for e in run.encounters()}
    assert states == {"c-kwame": "active"}
    heads = {i.contact_id: i.state for i in run.queue("heads-up")}
    assert heads == {"c-kwame": "due"}


def test_a_programme_removed_keeps_its_encounters_one_pass(tmp_path: Path) -> None:
    run = Pass(tmp_path)
    run()
    run.config = replace(run.config, programmes=())
    run()
    assert {e.state for e in run.encounters()} == {"active"}  # held, with a warning
    run()
    # Withdrawn on the second pass without the programme; never delivered, so not kept.
    assert run.encounters() == [] and run.queue("heads-up") == []


def test_a_failing_programme_keeps_its_encounters(tmp_path: Path) -> None:
    run = Pass(tmp_path)
    run()
    run.path.write_text("{ not json", encoding="utf-8")
    summary = sync_pass(run.config, run.store, clock=run.clock, force=True)
    assert summary.errors["programme:cew"].startswith("programme 'cew': not a JSON document")
    assert {e.state for e in run.encounters()} == {"active"}
    assert {i.state for i in run.queue("heads-up")} == {"due"}
