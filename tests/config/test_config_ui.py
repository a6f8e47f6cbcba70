"""``[ui]`` keys for serving the page off loopback: tls_cert/tls_key together and existing,
relative to the config file; allowed_hosts a list of strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from mendcrm.config import load_config
from mendcrm.config.model import Config
from mendcrm.errors import ConfigError


def _load(tmp_path: Path, ui: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text("[ui]\n" + ui)
    return load_config(path)


def test_tls_files_and_allowed_hosts_are_read(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("c")
    (tmp_path / "key.pem").write_text("k")
    config = _load(
        tmp_path,
        'tls_cert = "cert.pem"\ntls_key = "key.pem"\nallowed_hosts = [" crm.example.org "]\n',
    )
    # Relative paths are taken from the config file's folder, as every other path key.
    assert config.ui.tls_cert == tmp_path / "cert.pem"
    assert config.ui.tls_key == tmp_path / "key.pem"
    assert config.ui.allowed_hosts == ("crm.example.org",)


@pytest.mark.parametrize(
    ("ui", "expected"),
    [
        ('tls_cert = "cert.pem"\n', "needs both tls_cert and tls_key"),
        ('tls_key = "key.pem"\n', "needs both tls_cert and tls_key"),
        ('tls_cert = "cert.pem"\ntls_key = "missing.pem"\n', "`ui.tls_key` names"),
        ('tls_cert = "nope.pem"\ntls_key = "key.pem"\n', "`ui.tls_cert` names"),
        ("allowed_hosts = [1]\n", "allowed_hosts"),
        ('allowed_hosts = "crm.example.org"\n', "allowed_hosts"),
        ("tls_cert = 3\n", "tls_cert"),
    ],
)
def test_bad_ui_tls_keys_are_named(tmp_path: Path, ui: str, expected: str) -> None:
    (tmp_path / "cert.pem").write_text("c")
    (tmp_path / "key.pem").write_text("k")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, ui)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)  # one line
