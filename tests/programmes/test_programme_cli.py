"""``mendcrm programme add|list|show|attend|remove`` through the real script, on a local file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.fixtures.cli import Cli

PRETALX = Path(__file__).resolve().parents[1] / "fixtures" / "programmes" / "pretalx"


def _setup(tmp_path: Path) -> tuple[Cli, Path]:
    config = tmp_path / "config.toml"
    config.write_text(
        "# my own comment, kept by every edit\n"
        '[me]\nemails = ["me@example.org"]\ntimezone = "Europe/Lisbon"\n\n'
        f"[store]\npath = {json.dumps(str(tmp_path / 'store.json'))}\n",
        encoding="utf-8",
    )
    programme = tmp_path / "finops.json"
    shutil.copy(PRETALX / "v1" / "schedule.json", programme)
    return Cli(config), programme


def test_add_list_show_attend_remove(tmp_path: Path) -> None:
    cli, programme = _setup(tmp_path)
    cli("contact", "add", "Robert Hale", "--stage", "strained")
    cli("programme", "add", "finops", str(programme), "--timezone", "Europe/Lisbon")
    text = cli.config.read_text(encoding="utf-8")
    assert "# my own comment, kept by every edit" in text and "[[programmes]]" in text

    before = json.loads(cli("programme", "list", "--json").out)
    assert [(r["name"], r["title"], r["last_fetched"]) for r in before] == [("finops", None, None)]

    cli("sync")
    [row] = json.loads(cli("programme", "list", "--json").out)
    # The real export: "FinOps Summit 2027", 11–12 March 2027, four talks; speakers Robert Hale,
    # Kwame Osei-Bonsu, Roberta Hale and Ana Lima.
    assert (row["title"], row["first_day"], row["last_day"]) == (
        "FinOps Summit 2027",
        "2027-03-11",
        "2027-03-12",
    )
    assert (row["sessions"], row["speakers"], row["error"]) == (4, 4, None)
    assert row["last_fetched"] is not None

    detail = json.loads(cli("programme", "show", "finops", "--json").out)
    titles = [s["title"] for s in detail["sessions_detail"]]
    # Flagged speakers first (his two talks, in time order), then the rest in time order.
    assert titles == [
        "Cost allocation that engineers trust",
        "Panel: the next ten years of FinOps",
        "Unit economics for platforms",
        "Forecasting cloud spend",
    ]
    assert [f["contact"]["name"] for f in detail["sessions_detail"][0]["flagged"]] == [
        "Robert Hale"
    ]
    assert detail["sessions_detail"][3]["flagged"] == []  # Roberta Hale is not Robert Hale
    [heads_up] = detail["heads_ups"]
    assert heads_up["title"] == "Robert Hale speaks at FinOps Summit 2027 on 11 March"

    cli("programme", "attend", "finops")
    assert "attend = true" in cli.config.read_text(encoding="utf-8")
    cli("sync")
    detail = json.loads(cli("programme", "show", "finops", "--json").out)
    assert [h["state"] for h in detail["heads_ups"]] == ["withdrawn"]

    cli("programme", "remove", "finops")
    assert "[[programmes]]" not in cli.config.read_text(encoding="utf-8")
    gone = cli("programme", "show", "finops", ok=False)
    assert gone.code == 1 and "no programme named 'finops'" in gone.err


def test_names_are_unique_across_sources_and_bad_input_is_one_line(tmp_path: Path) -> None:
    cli, programme = _setup(tmp_path)
    cli("programme", "add", "finops", str(programme))
    again = cli("programme", "add", "finops", str(programme), ok=False)
    assert again.code == 2 and "exists already" in again.err
    assert len(again.err.strip().splitlines()) == 1
    plain = cli("programme", "add", "other", "http://cfp.example.org/s.json", ok=False)
    assert plain.code == 2 and "not an https:// URL" in plain.err
    zone = cli("programme", "add", "other", str(programme), "--timezone", "Mars/Olympus", ok=False)
    assert zone.code == 2 and "--timezone 'Mars/Olympus' is not valid" in zone.err


def test_sync_source_names_a_programme_and_a_broken_one_is_one_line(tmp_path: Path) -> None:
    cli, programme = _setup(tmp_path)
    programme.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><schedule/>')
    cli("programme", "add", "finops", str(programme))
    result = cli("sync", "--source", "finops", ok=False)
    assert "programme 'finops': the XML declares a DTD or an entity" in result.err
    assert "Traceback" not in result.err
    [row] = json.loads(cli("programme", "list", "--json").out)
    assert "declares a DTD" in row["error"]
