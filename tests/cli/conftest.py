from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import Cli


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "store.json"}"\n')
    return path


@pytest.fixture
def cli(config_file: Path) -> Cli:
    return Cli(config_file)
