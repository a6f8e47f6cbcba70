"""The page's actions change the store through mendcrm.changes, as the CLI does: a form post and
the library at the same time lose no write; a refused request says why and changes nothing."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from mendcrm import changes, repository
from mendcrm.stages import stage_history
from mendcrm.store import Store
from tests.web.conftest import Page, signed_in


def test_the_page_and_another_process_write_at_once_and_lose_nothing(page: Page) -> None:
    csrf = signed_in(page)
    other = Store(page.store.path)  # another Store object on the file, as the CLI or daemon has
    now = page.clock.now()

    def cli_side() -> None:
        for n in range(10):
            with other.transaction() as tx:
                changes.log_outcome(
                    tx, "c-ana", outcome="positive", note=f"cli {n}", when=now, now=now
                )

    worker = threading.Thread(target=cli_side)
    worker.start()
    for n in range(10):
        answer = page.client.post(
            "/people/c-dana/log", data={"csrf": csrf, "outcome": "neutral", "note": f"page {n}"}
        )
        assert answer.status_code == 303
    worker.join(timeout=60)
    with page.store.read() as view:
        notes = sorted(i.note for i in repository.interactions(view) if i.note)
    assert notes == sorted([f"cli {n}" for n in range(10)] + [f"page {n}" for n in range(10)])


def test_a_stage_set_on_the_page_is_in_the_history(page: Page) -> None:
    csrf = signed_in(page)
    answer = page.client.post("/people/c-ana/stage", data={"csrf": csrf, "stage": "talking"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/people/c-ana")
    with page.store.read() as view:
        steps = stage_history(view, "c-ana")
    assert [(s.before, s.after, s.by) for s in steps] == [("cordial", "talking", "hand")]
    assert "stage cordial → talking" in page.client.get("/people/c-ana").text


def test_a_refused_action_says_why_and_changes_nothing(page: Page) -> None:
    csrf = signed_in(page)
    before = page.store.path.read_bytes()
    cases = [
        ("/people/c-robert/log", {"outcome": "splendid"}, "outcome must be one of"),
        ("/people/c-robert/forget", {}, "tick the box"),
        ("/people", {"name": "  "}, "needs a name"),
        ("/people/c-robert/stage", {"stage": "besties"}, "unknown stage"),
        ("/followups/q-none/done", {}, "no follow-up"),
    ]
    for route, form, why in cases:
        answer = page.client.post(route, data={"csrf": csrf, **form})
        assert answer.status_code == 400, route
        assert why in answer.text, (route, answer.text)
    assert page.store.path.read_bytes() == before


def test_add_and_edit_a_contact_through_the_form(page: Page) -> None:
    csrf = signed_in(page)
    form = {
        "csrf": csrf,
        "name": "Eve Stone",
        "emails": "eve@x.example\nEve@Y.example",
        "stage": "strained",
        "goal": "work together",
    }
    answer = page.client.post("/people", data=form)
    assert answer.status_code == 303
    contact_id = re.match(r"/people/(\w+)\?", answer.headers["location"]).group(1)  # type: ignore[union-attr]
    edit = {**form, "name": "Eve Stone-Hill", "goal": "a coffee first"}
    assert page.client.post(f"/people/{contact_id}/edit", data=edit).status_code == 303
    with page.store.read() as view:
        eve = repository.contact(view, contact_id)
    assert eve is not None and eve.name == "Eve Stone-Hill" and eve.goal == "a coffee first"
    assert eve.emails == ("eve@x.example", "eve@y.example") and eve.stage == "strained"


def test_snooze_puts_a_note_off_and_today_no_longer_lists_it(page: Page) -> None:
    csrf = signed_in(page)
    assert 'href="/prep/q-prep"' in page.client.get("/").text
    answer = page.client.post("/items/q-prep/snooze", data={"csrf": csrf, "hours": "5"})
    assert answer.status_code == 303
    with page.store.read() as view:
        item = repository.queue_item(view, "q-prep")
    assert item is not None and item.due == page.clock.now() + timedelta(hours=5)
    assert item.state == "pending"
    today = page.client.get("/").text
    assert "Prep notes due" in today and "None due." in today


def test_not_this_person_withdraws_the_encounter_and_its_notes(page: Page) -> None:
    csrf = signed_in(page)
    answer = page.client.post("/encounters/e-ahead/dismiss", data={"csrf": csrf, "back": "/"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/?note=")
    with page.store.read() as view:
        encounter = view.get("encounters", "e-ahead")
        prep = repository.queue_item(view, "q-prep")
    assert encounter is not None and encounter["state"] == "withdrawn"
    assert prep is not None and prep.state == "withdrawn"
    assert 'href="/prep/q-prep"' not in page.client.get("/").text
