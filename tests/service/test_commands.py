"""``mendcrm plugins list``, ``status`` and ``service install`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cli import Cli
from tests.plugins.conftest import EXAMPLES


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\npath = "{tmp_path / "store.json"}"\n\n[plugins]\npaths = ["{EXAMPLES}"]\n{extra}'
    )
    return path


def test_plugins_list_shows_discovered_enabled_and_failing(tmp_path: Path) -> None:
    cli = Cli(
        config(
            tmp_path,
            'enabled = ["markdown_notes", "journal_line"]\n\n'
            f'[plugins.markdown_notes]\nfolder = "{tmp_path}/notes"\n',
        )
    )
    rows = {r["name"]: r for r in json.loads(cli("plugins", "list", "--json").out)}
    assert rows["markdown_notes"]["enabled"] and not rows["markdown_notes"]["failing"]
    assert "deliver" in rows["markdown_notes"]["hooks"]
    assert rows["journal_line"]["failing"]
    assert rows["journal_line"]["error"].startswith("[plugins.journal_line] file is missing")
    assert not rows["email"]["enabled"]
    text = cli("plugins", "list").out
    assert "FAILING" in text and "markdown_notes" in text


def test_status_without_a_daemon(tmp_path: Path) -> None:
    cli = Cli(config(tmp_path))
    data = json.loads(cli("status", "--json").out)
    assert data["daemon"] == {"running": False, "pid": None} and data["health"] == {}
    assert "daemon: not running" in cli("status").out


def test_service_install_prints_how_to_enable(tmp_path: Path, isolated_env: Path) -> None:
    cli = Cli(config(tmp_path))
    out = cli("service", "install").out
    assert "systemctl --user enable --now mendcrm.service" in out
    unit = isolated_env / ".config" / "systemd" / "user" / "mendcrm.service"
    assert f"--config {tmp_path / 'config.toml'} daemon" in unit.read_text()
    assert "removed" in cli("service", "uninstall").out and not unit.exists()


def test_a_bad_plugin_table_stops_the_daemon_with_one_line(tmp_path: Path) -> None:
    cli = Cli(config(tmp_path, 'enabled = ["email"]\n\n[plugins.email]\nhost = "x"\n'))
    result = cli("daemon", ok=False)
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert "[plugins.email]" in result.err and "Traceback" not in result.err
