"""``mendcrm ui`` as a process: one URL line, ``--url`` repeats it, ``--rotate-token`` replaces
the token, a foreign address is refused with one line, and the server answers over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.web.browser import start_server, stop_server
from tests.web.conftest import seed

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )


def _config(tmp_path: Path) -> tuple[Path, Path]:
    store = tmp_path / "store.json"
    seed(store)
    config = tmp_path / "config.toml"
    config.write_text(f"[store]\npath = {json.dumps(str(store))}\n")
    return config, store


def _mendcrm(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mendcrm", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )


def test_ui_prints_one_url_and_url_repeats_it(tmp_path: Path) -> None:
    config, store = _config(tmp_path)
    server = start_server(config, store, _env())
    try:
        token = (tmp_path / "ui-token").read_text().strip()
        assert server.url == f"{server.base}/?token={token}"
        assert (tmp_path / "ui-token").stat().st_mode & 0o777 == 0o600
        again = _mendcrm(config, "ui", "--url")
        assert again.returncode == 0 and again.stdout.strip() == server.url
        # Over real HTTP: no session, 401; the token, a redirect with the cookie.
        try:
            urllib.request.urlopen(server.base + "/people", timeout=10)
            raise AssertionError("the page answered without a session")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        stop_server(server)
    output = server.process.stdout.read() if server.process.stdout else ""
    assert token not in output  # nothing after the one line repeats the token (no access log)
    gone = _mendcrm(config, "ui", "--url")
    assert gone.returncode == 2 and "no page is running" in gone.stderr


def test_rotate_token_replaces_it(tmp_path: Path) -> None:
    config, store = _config(tmp_path)
    first = start_server(config, store, _env())
    stop_server(first)
    old = (tmp_path / "ui-token").read_text().strip()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mendcrm",
            "--config",
            str(config),
            "ui",
            "--no-open",
            "--port",
            str(first.port),
            "--rotate-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        new = (tmp_path / "ui-token").read_text().strip()
        assert new != old and line.strip().endswith(f"?token={new}")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_non_loopback_address_is_refused_in_one_line(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    result = _mendcrm(config, "ui", "--host", "0.0.0.0", "--no-open")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "without TLS" in lines[0] and "SSH tunnel" in lines[0]
    assert not (tmp_path / "ui-token").exists()  # refused before a token was made
