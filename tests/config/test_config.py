"""The config loader: defaults, paths, the example file and the schema agree."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from mendcrm.config import load_config
from mendcrm.config.model import Config
from mendcrm.config.schema import ARRAY_SECTIONS, SECTIONS
from mendcrm.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"


def _commented_keys(text: str) -> dict[str, set[str]]:
    """The keys of the example, including those shown commented out under [[accounts]]/[[feeds]]."""
    found: dict[str, set[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.lstrip("# ").rstrip()
        if line.startswith("[[") or line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and section and not line.startswith(("e.g", "Each")):
            key = line.split("=", 1)[0].strip()
            if key.isidentifier():
                found.setdefault(section, set()).add(key)
    return found


def test_example_loads_and_equals_defaults() -> None:
    config = load_config(EXAMPLE)
    assert config == Config(source=EXAMPLE)


def test_every_accepted_key_is_documented_in_the_example() -> None:
    documented = _commented_keys(EXAMPLE.read_text())
    for section, keys in {**SECTIONS, **ARRAY_SECTIONS}.items():
        missing = set(keys) - documented.get(section, set())
        assert not missing, f"[{section}] keys missing from config.example.toml: {missing}"


def test_example_has_no_key_the_loader_rejects() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    for section, table in raw.items():
        assert section in SECTIONS
        assert set(table) <= set(SECTIONS[section])


def test_values_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "tpl.j2").write_text("x")
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[me]\nemails = ["Me@Example.org"]\ntimezone = "Europe/Berlin"\n'
        '[store]\npath = "data/store.json"\n'
        '[prep]\nlead = "90m"\ntemplate = "tpl.j2"\n'
        '[followup]\ndelay = "1d"\n'
        '[plugins]\nenabled = ["markdown_notes"]\n[plugins.markdown_notes]\nfolder = "~/Notes"\n'
        '[[accounts]]\nname = "work"\nurl = "https://dav.example.org/"\n'
        'password_command = ["pass", "show", "dav"]\n'
        '[[feeds]]\nname = "local"\npath = "cal.ics"\n'
    )
    config = load_config(config_file)
    assert config.me.emails == ("me@example.org",)
    assert config.store.path == tmp_path / "data/store.json"
    assert config.prep.lead == timedelta(minutes=90)
    assert config.prep.template == tmp_path / "tpl.j2"
    assert config.followup.delay == timedelta(days=1)
    assert config.plugins.settings == {"markdown_notes": {"folder": "~/Notes"}}
    assert config.accounts[0].password_command == ("pass", "show", "dav")
    assert config.feeds[0].path == tmp_path / "cal.ics"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[feeds]]\nname = "f"\n', "needs exactly one of `url` or `path`"),
        ('[[feeds]]\nname = "f"\nurl = "http://example.org/x.ics"\n', "must be https://"),
        (
            '[[accounts]]\nname = "a"\nurl = "https://x.example/"\n'
            '[[feeds]]\nname = "a"\npath = "x.ics"\n',
            "two sources are named 'a'",
        ),
        ("[sync]\ntimeout_seconds = true\n", "must be a number, not a boolean"),
        ('[playbook]\npath = "missing.toml"\n', "does not exist"),
        ('[[accounts]]\nname = "a"\nurl = "https://x.example/"\nannotate = "loud"\n', '"inline"'),
        (
            '[[accounts]]\nname = "a"\nurl = "https://x.example/"\npassword_command = []\n',
            "argument",
        ),
        ("nonsense = 1\n", "unknown section or key `nonsense`"),
    ],
)
def test_logical_errors(tmp_path: Path, text: str, expected: str) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert expected in str(caught.value)
    assert caught.value.exit_code == 2


def test_loopback_http_is_allowed(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('[[accounts]]\nname = "local"\nurl = "http://127.0.0.1:5232/"\n')
    assert load_config(config_file).accounts[0].url == "http://127.0.0.1:5232/"


LOOPBACK_URLS = [
    "http://127.0.0.1:5232/",
    "http://[::1]:5232/",
    "http://localhost:5232/",
    "http://foo.localhost/",
]
# 127.evil.example is a DNS name anyone can point anywhere; 127.1 is not an address ipaddress
# accepts, so it is not trusted either.
REMOTE_HTTP_URLS = ["http://127.evil.example/", "http://127.1/", "http://dav.example.org/"]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_plain_http_to_loopback_is_allowed_for_accounts_and_feeds(tmp_path: Path, url: str) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[[accounts]]\nname = "a"\nurl = "{url}"\n[[feeds]]\nname = "f"\nurl = "{url}x.ics"\n'
    )
    config = load_config(config_file)
    assert config.accounts[0].url == url and config.feeds[0].url == url + "x.ics"


@pytest.mark.parametrize("url", REMOTE_HTTP_URLS)
def test_plain_http_to_another_host_is_refused_for_an_account(tmp_path: Path, url: str) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[[accounts]]\nname = "a"\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    message = str(caught.value)
    assert str(config_file) in message and "account 'a' uses plain http://" in message


@pytest.mark.parametrize("url", REMOTE_HTTP_URLS)
def test_plain_http_to_another_host_is_refused_for_a_feed(tmp_path: Path, url: str) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[[feeds]]\nname = "f"\nurl = "{url}x.ics"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    message = str(caught.value)
    assert str(config_file) in message and "feed 'f'" in message and "must be https://" in message


def test_env_var_names_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "elsewhere.toml"
    config_file.write_text("[sync]\nlookahead_days = 7\n")
    monkeypatch.setenv("MENDCRM_CONFIG", str(config_file))
    assert load_config().sync.lookahead_days == 7


def test_missing_default_config_means_defaults() -> None:
    assert load_config() == Config()
