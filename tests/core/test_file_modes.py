"""File modes whatever the umask: a child process with umask 000 (as a careless service manager
or shell might start MendCRM) creates the store, the notes and the export in folders that do
not exist yet; every folder it creates must be 0700 and every file 0600. A folder the user
already had keeps its mode, with one warning if other users can read it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.fixtures.cli import REPO

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mendcrm.clock import FrozenClock
    from mendcrm.delivery import deliver_due
    from mendcrm.logs import configure_logging
    from mendcrm.plugins import make_plugin_manager
    from mendcrm.store import Store
    from tests.plugins.conftest import NOW, make_config, sample_item, seed

    root = Path(sys.argv[1])
    configure_logging()
    store = Store(root / "data" / "deep" / "store.json")
    seed(store, sample_item(1))
    settings = {
        "markdown_notes": {"folder": sys.argv[2]},
        "export": {"folder": str(root / "export" / "a" / "b")},
    }
    config = make_config(("markdown_notes", "export"), settings)
    report = deliver_due(store, config, make_plugin_manager(config), clock=FrozenClock(NOW))
    assert report.failures == [], report.failures
    """
)


def run_with_umask_000(root: Path, notes: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(notes)],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        preexec_fn=lambda: os.umask(0),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def modes_under(root: Path) -> dict[str, int]:
    found = {}
    for path in [root, *root.rglob("*")]:
        if path.name.endswith(".lock"):
            continue
        found[str(path.relative_to(root.parent))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_everything_created_under_umask_000_is_private(tmp_path: Path) -> None:
    root = tmp_path / "home"
    proc = run_with_umask_000(root, root / "notes" / "MendCRM")
    assert proc.returncode == 0, proc.stderr
    modes = modes_under(root)
    folders = {p: m for p, m in modes.items() if (tmp_path / p).is_dir()}
    files = {p: m for p, m in modes.items() if not (tmp_path / p).is_dir()}
    assert "home/notes/MendCRM" in folders and "home/export/a/b/mendcrm.ics" in files
    assert folders == {p: 0o700 for p in folders}
    assert files == {p: 0o600 for p in files}


def test_a_folder_the_user_had_is_left_as_it_was_with_a_warning(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    vault.chmod(0o755)  # an Obsidian vault as most users have it
    proc = run_with_umask_000(tmp_path / "home", vault)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(vault.stat().st_mode) == 0o755
    notes = [p for p in vault.iterdir() if p.suffix == ".md"]
    assert len(notes) == 1 and stat.S_IMODE(notes[0].stat().st_mode) == 0o600
    warnings = [line for line in proc.stderr.splitlines() if "other users" in line]
    assert len(warnings) == 1 and str(vault) in warnings[0]
