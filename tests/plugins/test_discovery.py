"""Finding plugins (built-in folder, entry points, config paths), enabling them, checking them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mendcrm.errors import ConfigError, MendError
from mendcrm.plugins import (
    builtin_plugin_dir,
    discover,
    make_plugin_manager,
    plugins_status,
)
from tests.plugins.conftest import make_config

FIRST_PARTY = {"markdown_notes", "desktop_notify", "email", "export"}
REPO = Path(__file__).resolve().parents[2]


def test_discovery_lists_builtin_and_path_plugins_without_importing_them() -> None:
    found = discover(make_config())
    assert set(found) >= FIRST_PARTY
    assert {s.origin for n, s in found.items() if n in FIRST_PARTY} == {"built-in"}
    assert found["journal_line"].origin == "path"
    # explodes_on_import raises when imported: discovery must not have run it
    assert "explodes_on_import" in found
    assert not any(m.endswith("explodes_on_import") for m in sys.modules)


def test_only_enabled_plugins_are_registered() -> None:
    pm = make_plugin_manager(make_config(("journal_line",), {"journal_line": {"file": "x"}}))
    assert [name for name, _ in pm.list_name_plugin()] == ["journal_line"]
    assert make_plugin_manager(make_config()).list_name_plugin() == []


def test_file_plugins_load_under_a_private_module_name() -> None:
    pm = make_plugin_manager(
        make_config(("markdown_notes",), {"markdown_notes": {"folder": "/tmp/notes"}})
    )
    module = pm.get_plugin("markdown_notes")
    assert module.__name__ == "mendcrm_plugin_markdown_notes"
    assert "plugins" not in sys.modules or "markdown_notes" not in dir(sys.modules["plugins"])


def test_unknown_enabled_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager(make_config(("no_such_plugin",)))
    assert "'no_such_plugin'" in caught.value.message
    assert "markdown_notes" in caught.value.hint


def test_a_plugin_rejects_its_own_table_naming_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager(
            make_config(("email",), {"email": {"host": "smtp.example.org", "port": "587"}})
        )
    assert str(caught.value).startswith("[plugins.email] port must be a whole number")
    assert "\n" not in str(caught.value)


def test_a_plugin_that_fails_to_import_is_a_clear_error() -> None:
    with pytest.raises(MendError, match=r"plugin 'explodes_on_import' .* failed to load"):
        make_plugin_manager(make_config(("explodes_on_import",)))


def test_entry_point_plugins_are_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real (if minimal) installed distribution: a module and a dist-info with entry points.
    (tmp_path / "mendcrm_shout.py").write_text(
        "from mendcrm.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef deliver(item):\n    return 'shouted ' + item.id\n"
    )
    info = tmp_path / "mendcrm_shout-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mendcrm-shout\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[mendcrm]\nshout = mendcrm_shout\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover(make_config(paths=()))
    assert found["shout"].origin == "entry point"
    pm = make_plugin_manager(make_config(("shout",), paths=()))
    assert pm.get_plugin("shout").__name__ == "mendcrm_shout"


def test_later_sources_win_a_name_clash(tmp_path: Path) -> None:
    (tmp_path / "email.py").write_text("X = 1\n")
    found = discover(make_config(paths=(tmp_path,)))
    assert found["email"].origin == "path"


def test_plugins_status_reports_failing_and_recorded_errors(tmp_path: Path) -> None:
    config = make_config(
        ("journal_line", "email"),
        {
            "journal_line": {"file": str(tmp_path / "j.txt")},
            "email": {"host": "smtp.example.org", "security": "plain"},
        },
    )
    health = {
        "plugins": {
            "journal_line": {
                "failures": 2,
                "last_error": "OSError: disk full",
                "last_error_at": "2026-03-02T09:00:00+00:00",
                "delivered": 3,
            }
        }
    }
    rows = {row.name: row for row in plugins_status(config, health)}
    assert rows["journal_line"].failing and rows["journal_line"].error == "OSError: disk full"
    assert rows["journal_line"].hooks == ("deliver", "validate_config")
    assert rows["journal_line"].delivered == 3
    assert rows["email"].failing
    assert rows["email"].error.startswith("[plugins.email] security")
    assert not rows["export"].enabled and not rows["export"].failing
    assert rows["markdown_notes"].origin == "built-in"


def test_builtin_dir_in_a_checkout_is_the_top_level_plugins_folder() -> None:
    assert builtin_plugin_dir() == REPO / "plugins"


@pytest.mark.slow
def test_wheel_ships_the_first_party_plugins_inside_the_package(tmp_path: Path) -> None:
    # Build from a copy, so the build leaves nothing behind in the working tree.
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in ("mendcrm", "plugins"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, source / name)
    if not (source / "README.md").exists():
        (source / "README.md").write_text("MendCRM\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("mendcrm-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"mendcrm/_plugins/{n}.py" for n in FIRST_PARTY} <= names
    assert not any(n.startswith("plugins/") for n in names)
    # Installed from the wheel, discovery finds them in the package.
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mendcrm.plugins import builtin_plugin_dir, discover;"
            "from mendcrm.config.model import Config;"
            "print(builtin_plugin_dir()); print(sorted(discover(Config())))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert probe.returncode == 0, probe.stderr
    assert str(target / "mendcrm" / "_plugins") in probe.stdout
    assert "markdown_notes" in probe.stdout
