"""The contact commands through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cli import Cli


def test_add_list_show_json(cli: Cli) -> None:
    added = cli(
        "contact",
        "add",
        "Robert Hale",
        "--email",
        "MAILTO:Robert.Hale@Example.org ",
        "--alias",
        "Bob",
        "--org",
        "Northwind",
        "--stage",
        "strained",
        "--affinity",
        "FinOps Summit",
        "--history",
        "Sided with my old boss.",
        "--json",
    )
    person = json.loads(added.out)
    assert person["emails"] == ["robert.hale@example.org"]
    assert person["flagged"] is True
    listed = json.loads(cli("contact", "list", "--json").out)
    assert [c["name"] for c in listed] == ["Robert Hale"]
    assert set(listed[0]) >= {"id", "name", "emails", "aliases", "org", "stage", "affinity"}
    shown = json.loads(cli("contact", "show", "robert hale", "--json").out)
    assert shown["id"] == person["id"]
    assert shown["interactions"] == []
    assert "Sided with my old boss." in cli("contact", "show", "bob").out


def test_flagged_filter_and_flag_command(cli: Cli) -> None:
    cli("contact", "add", "Ana Ruiz")
    cli("contact", "add", "Tom Price", "--stage", "cordial")
    flagged = json.loads(cli("contact", "list", "--flagged", "--json").out)
    assert [c["name"] for c in flagged] == ["Tom Price"]
    cli("contact", "flag", "ana ruiz")
    assert {c["name"] for c in json.loads(cli("contact", "list", "--flagged", "--json").out)} == {
        "Ana Ruiz",
        "Tom Price",
    }
    cli("contact", "flag", "Tom", "--stage", "none")
    flagged = json.loads(cli("contact", "list", "--flagged", "--json").out)
    assert [c["name"] for c in flagged] == ["Ana Ruiz"]


def test_ambiguous_name_lists_candidates_and_exits_2(cli: Cli) -> None:
    cli("contact", "add", "Sam Lee")
    cli("contact", "add", "Sam Lee-Park")
    result = cli("contact", "show", "sam", ok=False)
    assert result.code == 2
    assert "Sam Lee" in result.err and "Sam Lee-Park" in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_unknown_contact_is_one_line_exit_1(cli: Cli) -> None:
    result = cli("contact", "show", "nobody", ok=False)
    assert result.code == 1
    assert result.err.startswith("mendcrm: error: no contact matches 'nobody'")
    assert "Traceback" not in result.err


def test_duplicate_email_is_refused(cli: Cli) -> None:
    cli("contact", "add", "Robert Hale", "--email", "rh@example.org")
    result = cli("contact", "add", "Bob Hale", "--email", "RH@example.org", ok=False)
    assert result.code == 2
    assert "already has one of these e-mail addresses" in result.err


def test_edit_replaces_lists_and_renames(cli: Cli) -> None:
    cli("contact", "add", "Robert Hale", "--alias", "Bob")
    cli(
        "contact",
        "edit",
        "Robert Hale",
        "--alias",
        "Rob",
        "--alias",
        "R. Hale",
        "--name",
        "Robert J. Hale",
        "--goal",
        "Work together on the partnership",
    )
    shown = json.loads(cli("contact", "show", "Rob", "--json").out)
    assert shown["name"] == "Robert J. Hale"
    assert shown["aliases"] == ["Rob", "R. Hale"]
    assert shown["goal"] == "Work together on the partnership"
    assert cli("contact", "edit", "Rob", ok=False).code == 2


def test_import_vcards_merges_by_email(cli: Cli, tmp_path: Path) -> None:
    cli("contact", "add", "Robert Hale", "--email", "robert@example.org", "--org", "Mine")
    vcf = tmp_path / "people.vcf"
    vcf.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Hale\r\nN:Hale;Bob;;;\r\n"
        "EMAIL;TYPE=work:Robert@Example.org\r\nORG:Northwind;Sales\r\nTITLE:Director\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Priya Natarajan\r\nEMAIL:priya@example.com\r\n"
        "NICKNAME:Pri\r\nNOTE:Met at the 2024\\, summit\r\n folded line\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nEMAIL:noname@example.com\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    result = cli("contact", "import", str(vcf))
    assert "1 added, 1 merged" in result.out
    assert "no name was skipped" in result.err
    people = {c["name"]: c for c in json.loads(cli("contact", "list", "--json").out)}
    assert set(people) == {"Robert Hale", "Priya Natarajan"}
    assert people["Robert Hale"]["org"] == "Mine"  # what the user wrote wins
    assert "Bob Hale" in people["Robert Hale"]["aliases"]
    assert people["Robert Hale"]["role"] == "Director"
    assert people["Priya Natarajan"]["notes"] == "Met at the 2024, summitfolded line"
    # importing again doubles nobody
    assert "0 added, 2 merged" in cli("contact", "import", str(vcf)).out


def test_python_dash_m_works(cli: Cli) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mendcrm", "contact", "list", "--json"],
        capture_output=True,
        text=True,
        env=cli.env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_same_name_needs_force_and_ids_resolve_by_prefix(cli: Cli) -> None:
    first = json.loads(cli("contact", "add", "Robert Hale", "--json").out)
    refused = cli("contact", "add", "robert  hale", ok=False)
    assert refused.code == 2 and "already a contact called Robert Hale" in refused.err
    second = json.loads(cli("contact", "add", "Robert Hale", "--force", "--json").out)
    ambiguous = cli("contact", "show", "Robert Hale", ok=False)
    assert ambiguous.code == 2 and "use the contact's id)" in ambiguous.err
    shown = json.loads(cli("contact", "show", second["id"][:6], "--json").out)
    assert shown["id"] == second["id"] != first["id"]
    cli("contact", "add", "Ana Ruiz")
    renamed = cli("contact", "edit", "Ana Ruiz", "--name", "ROBERT HALE", ok=False)
    assert renamed.code == 2 and "already a contact called" in renamed.err


def test_log_refuses_a_future_date(cli: Cli) -> None:
    cli("contact", "add", "Robert Hale", "--stage", "strained")
    result = cli("log", "Robert Hale", "--outcome", "positive", "--when", "2999-01-01", ok=False)
    assert result.code == 2 and "is in the future" in result.err
    assert json.loads(cli("contact", "show", "Robert Hale", "--json").out)["interactions"] == []
