"""Prep notes, follow-ups and nudges read well on their own, and each stage's guidance shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendcrm.config.model import Config, FollowupConfig, MeConfig, PrepConfig
from mendcrm.errors import ConfigError
from mendcrm.model import Encounter, Interaction, QueueItem
from mendcrm.render import Renderer, describe_when, summary_line
from tests.core.builders import PLAYBOOK, RENDERER, T0, attendee, contact, find, occurrence

ROBERT = contact(
    emails=("robert@acme.example",),
    org="Acme",
    role="Head of Sales",
    history="He backed my old manager's account of the launch.",
    strengths="Partnership deals; sails on weekends",
    goal="Work with Acme again",
    boundaries="I will not relitigate the launch",
)


def encounter_for(who=ROBERT, **kw) -> Encounter:  # type: ignore[no-untyped-def]
    kw.setdefault("summary", "Partner review")
    kw.setdefault("location", "Room 4")
    kw.setdefault("attendees", (attendee("robert@acme.example"),))
    [enc] = [e for e in find(occurrence(**kw), [who]) if e.contact_id == who.id]
    return enc


def item(kind: str, enc: Encounter | None) -> QueueItem:
    return QueueItem(
        id=f"q-{kind}",
        kind=kind,
        contact_id="c-robert",
        due=T0,
        encounter_id=enc.id if enc else None,
    )


def test_prep_note_holds_every_section_in_the_users_zone() -> None:
    enc = encounter_for()
    history = [
        Interaction(
            id="i1",
            contact_id="c-robert",
            when=T0 - timedelta(days=3),
            kind="call",
            outcome="neutral",
            note="Brief, polite",
        )
    ]
    body = RENDERER.render(item("prep", enc), ROBERT, enc, interactions=history)
    # 2025-03-05 08:00 UTC is 09:00 in Berlin
    assert "Wednesday 5 March 2025, 09:00–10:00 (Europe/Berlin)" in body
    for text in (
        "# Before you meet Robert Hale",
        "Room 4",
        "Partner review",
        "Head of Sales, Acme",
        "invited to the event",
        "## What happened",
        "He backed my old manager",
        "Brief, polite",
        "neutral",
        "Partnership deals",
        "Work with Acme again",
        "I will not relitigate",
        "## How to approach it",
        "## Avoid",
        PLAYBOOK.stage("strained").prep[0],
        PLAYBOOK.stage("strained").avoid[0],
    ):
        assert text in body, text
    assert "not certain" not in body


def test_each_stage_renders_visibly_different_guidance() -> None:
    bodies = {}
    for stage in ("strained", "cordial", "talking", "rebuilding"):
        who = contact(stage=stage, emails=("robert@acme.example",))
        enc = encounter_for(who)
        bodies[stage] = RENDERER.render(item("prep", enc), who, enc)
        assert f"## Where things stand: {stage}" in bodies[stage]
        for point in PLAYBOOK.stage(stage).prep:
            assert point in bodies[stage]
        for other in {"strained", "cordial", "talking", "rebuilding"} - {stage}:
            assert PLAYBOOK.stage(other).prep[0] not in bodies[stage]
    assert len(set(bodies.values())) == 4


def test_conference_note_says_the_meeting_is_possible_not_certain() -> None:
    who = contact(affinity=("PyCon",))
    enc = encounter_for(who, summary="PyCon Europe", all_day=True, hours=72, attendees=())
    body = RENDERER.render(item("prep", enc), who, enc)
    assert "not certain" in body
    assert "Wednesday 5 March 2025 to Friday 7 March 2025 (all day)" in body


def test_others_present_and_declined_are_mentioned() -> None:
    ann = contact("c-ann", "Ann Ortega", emails=("ann@x.example",))
    occ = occurrence(
        summary="Board",
        attendees=(attendee("robert@acme.example", partstat="DECLINED"), attendee("ann@x.example")),
    )
    enc = next(e for e in find(occ, [ROBERT, ann]) if e.contact_id == "c-robert")
    body = RENDERER.render(
        item("prep", enc), ROBERT, enc, contacts={"c-ann": ann, "c-robert": ROBERT}
    )
    assert "**Also there:** Ann Ortega" in body
    assert "declined the invitation" in body


def test_followup_has_actions_thank_you_where_it_fits_and_the_log_prompt() -> None:
    cordial = contact(stage="cordial", emails=("robert@acme.example",))
    enc = encounter_for(cordial)
    body = RENDERER.render(item("followup", enc), cordial, enc)
    assert "thank-you" in body
    assert "mendcrm followup done q-followup --outcome positive|neutral|negative" in body
    for point in PLAYBOOK.stage("cordial").followup:
        assert point in body
    strained = RENDERER.render(item("followup", enc), ROBERT, enc)
    assert "thank-you" not in strained  # too early for one while the rift is fresh
    assert PLAYBOOK.stage("strained").followup[0] in strained


def test_nudge_names_the_small_action_and_how_to_reset_it() -> None:
    cordial = contact(stage="cordial")
    body = RENDERER.render(item("nudge", None), cordial, None)
    assert PLAYBOOK.stage("cordial").nudge in body
    assert "21 days" in body
    assert 'mendcrm log "Robert Hale"' in body


def test_discreet_summary_names_person_and_event_but_no_stage_or_history() -> None:
    enc = encounter_for()
    line = summary_line("prep", ROBERT, enc, zone=ZoneInfo("Europe/Berlin"))
    assert line == "Prep note ready: Robert Hale — Partner review, Wed 5 Mar 09:00"
    assert "strained" not in line and "launch" not in line
    full = summary_line(
        "prep", ROBERT, enc, zone=ZoneInfo("Europe/Berlin"), detail="full", playbook=PLAYBOOK
    )
    assert full.startswith(line) and "strained" in full
    assert PLAYBOOK.stage("strained").prep[0] in full
    assert "\n" not in full


def test_describe_when_crosses_days_and_zones() -> None:
    start = datetime(2025, 3, 30, 23, 30, tzinfo=UTC)
    text = describe_when(start, start + timedelta(hours=2), ZoneInfo("America/New_York"))
    assert text == "Sunday 30 March 2025, 19:30–21:30 (America/New_York)"
    late = describe_when(start, start + timedelta(hours=2), ZoneInfo("Europe/Berlin"))
    assert late == "Monday 31 March 2025, 01:30–03:30 (Europe/Berlin)"
    overnight = describe_when(start, start + timedelta(hours=2), ZoneInfo("UTC"))
    assert overnight == "Sunday 30 March 2025 23:30 to Monday 31 March 2025 01:30 (UTC)"


def test_user_templates_override_by_path(tmp_path: Path) -> None:
    prep = tmp_path / "prep.j2"
    prep.write_text("PREP {{ contact.name }} / {{ stage.name }} / {{ event.when }}\n", "utf-8")
    follow = tmp_path / "follow.j2"
    follow.write_text("FOLLOW {{ item_id }}\n", "utf-8")
    config = Config(
        me=MeConfig(timezone="UTC"),
        prep=PrepConfig(template=prep),
        followup=FollowupConfig(template=follow),
    )
    renderer = Renderer.from_config(config, PLAYBOOK)
    enc = encounter_for()
    assert renderer.render(item("prep", enc), ROBERT, enc) == (
        "PREP Robert Hale / strained / Wednesday 5 March 2025, 08:00–09:00 (UTC)\n"
    )
    assert renderer.render(item("followup", enc), ROBERT, enc) == "FOLLOW q-followup\n"


def test_broken_user_template_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.j2"
    bad.write_text("{% if %}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"\[prep\] template: .*bad.j2 line 1"):
        Renderer.from_config(Config(prep=PrepConfig(template=bad)), PLAYBOOK)
    with pytest.raises(ConfigError, match="cannot read"):
        Renderer.from_config(Config(prep=PrepConfig(template=tmp_path / "gone.j2")), PLAYBOOK)
    typo = tmp_path / "typo.j2"
    typo.write_text("{{ contact.nmae }}\n", "utf-8")
    renderer = Renderer.from_config(Config(prep=PrepConfig(template=typo)), PLAYBOOK)
    enc = encounter_for()
    with pytest.raises(ConfigError, match="prep template"):
        renderer.render(item("prep", enc), ROBERT, enc)


def test_unknown_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        Renderer.from_config(Config(me=MeConfig(timezone="Mars/Olympus")), PLAYBOOK)


def test_plugin_sections_are_appended() -> None:
    renderer = Renderer(PLAYBOOK, ZoneInfo("UTC"), sections=lambda i, c, e: ["## Extra\n\nHi"])
    enc = encounter_for()
    assert renderer.render(item("prep", enc), ROBERT, enc).endswith("## Extra\n\nHi\n")


def test_compiled_templates_are_reused_yet_every_change_takes_effect(tmp_path: Path) -> None:
    # Templates are compiled once per process (a pass used to spend half its time recompiling
    # them); each pass builds a new Renderer from the config, and what it renders must follow
    # the template file's current text, the configured path and the configured zone.
    prep = tmp_path / "prep.j2"
    enc = encounter_for()

    def pass_renders(zone: str = "UTC", path: Path = prep) -> str:
        config = Config(me=MeConfig(timezone=zone), prep=PrepConfig(template=path))
        return Renderer.from_config(config, PLAYBOOK).render(item("prep", enc), ROBERT, enc)

    prep.write_text("ONE {{ contact.name }}\n", "utf-8")
    assert pass_renders() == "ONE Robert Hale\n"
    # The same size and, on a coarse clock, the same mtime: the text itself is the key.
    prep.write_text("TWO {{ contact.name }}\n", "utf-8")
    assert pass_renders() == "TWO Robert Hale\n"
    other = tmp_path / "other.j2"
    other.write_text("OTHER {{ item_id }}\n", "utf-8")
    assert pass_renders(path=other) == "OTHER q-prep\n"
    assert pass_renders() == "TWO Robert Hale\n"
    # 08:00 UTC is 17:00 in Tokyo (UTC+9, no DST): the zone is the config's, not the cache's.
    prep.write_text("{{ event.when }}\n", "utf-8")
    assert pass_renders() == "Wednesday 5 March 2025, 08:00–09:00 (UTC)\n"
    assert pass_renders("Asia/Tokyo") == "Wednesday 5 March 2025, 17:00–18:00 (Asia/Tokyo)\n"
    # An edit that breaks the template is reported on the next pass, not hidden by the cache.
    prep.write_text("{% if %}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"\[prep\] template: .*prep.j2 line 1"):
        pass_renders()


def test_built_in_templates_are_compiled_once_per_process() -> None:
    first = Renderer.from_config(Config(), PLAYBOOK)
    second = Renderer.from_config(Config(me=MeConfig(timezone="Asia/Tokyo")), PLAYBOOK)
    for kind in ("prep", "followup", "nudge"):
        assert first._templates[kind] is second._templates[kind], kind
