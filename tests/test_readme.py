"""The README cannot rot: every ``mendcrm`` line in it parses against the real CLI, and the
"First steps" walk-through runs for real against a Radicale server."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest

from mendcrm.cli.main import cli
from tests.fixtures.cli import Cli
from tests.fixtures.servers import DavServer

README = Path(__file__).resolve().parents[1] / "README.md"
SYNOPSIS = re.compile(r"[\[\]|…]|\bNAME\b|\bID\b|\bS\b|\bE\b|\bA\b|\bO\b|\bR\b|\bT\b|\bN\b")


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def readme_commands() -> list[str]:
    """Every ``mendcrm …`` line of the README's shell blocks, continuations joined, comments cut."""
    found: list[str] = []
    for block in _shell_blocks(README.read_text()):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line.startswith("mendcrm "):
                found.append(line)
    return found


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """Walk the command tree as click would (a "[" starts a synopsis's options, not a
    subcommand); return the final command and the rest of the words."""
    command: click.Command = cli
    ctx = click.Context(cli)
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith(("-", "[")):
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"README names a command that does not exist: {rest[0]!r}"
        command, rest = sub, rest[1:]
    return command, rest


def _options(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def test_readme_has_commands() -> None:
    assert len(readme_commands()) > 20


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_is_real(line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    words = shlex.split(line)[1:]
    global_opts = {"--config", "-v", "--verbose"}
    while words and words[0] in global_opts:
        words = words[2:] if words[0] == "--config" else words[1:]
    command, rest = _resolve(words)
    known = _options(command)
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{line!r}: {command.name} has no option {word}"
    if SYNOPSIS.search(" ".join(rest)):
        return  # a synopsis line: its options are checked above
    monkeypatch.chdir(tmp_path)
    for word in rest:
        if word.endswith((".vcf", ".ics", ".toml")):
            (tmp_path / word).write_text("")
    with command.make_context(command.name or "", list(rest)):
        pass  # parsing succeeded: arguments, choices and types all fit


def _first_steps() -> list[str]:
    block = next(b for b in _shell_blocks(README.read_text()) if "mendcrm init" in b)
    lines = re.sub(r"\\\n\s*", " ", block).splitlines()
    return [re.sub(r"\s+#\s.*$", "", line).strip() for line in lines if line.startswith("mendcrm ")]


def test_first_steps_run_for_real(radicale_server: DavServer, tmp_path: Path) -> None:
    account = radicale_server.new_account()
    calendar = account.new_calendar("Work")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    stamp = "%Y%m%dT%H%M%SZ"
    account.put(
        calendar,
        "partners.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nUID:partners@test\n"
        f"DTSTAMP:{start:{stamp}}\nDTSTART:{start:{stamp}}\n"
        f"DTEND:{start + timedelta(hours=1):{stamp}}\nSUMMARY:Partner programme review\n"
        "ATTENDEE;CN=Robert Hale:mailto:robert.hale@example.org\n"
        "END:VEVENT\nEND:VCALENDAR\n",
    )
    run = Cli(tmp_path / "config.toml")
    steps = _first_steps()
    assert [s.split()[1] for s in steps] == [
        "init",
        "account",
        "account",
        "contact",
        "sync",
        "upcoming",
        "prep",
    ]
    for step in steps:
        words = shlex.split(step)[1:]
        stdin = None
        if words[:2] == ["account", "add"]:
            words = [radicale_server.url if w == "https://dav.example.org/" else w for w in words]
            words = [account.username if w == "me@example.org" else w for w in words]
            # Scripted: the password on stdin, and no annotations in this walk-through.
            words += ["--password-stdin", "--annotate", "off"]
            stdin = account.password + "\n"
        run(*words, stdin=stdin)
        if words[0] == "init":
            # Keep the store in the test's folder.
            config = tmp_path / "config.toml"
            config.write_text(
                config.read_text().replace('path = ""', f'path = "{tmp_path / "store.json"}"', 1)
            )
    upcoming = json.loads(run("upcoming", "--json").out)
    assert [e["event"]["summary"] for e in upcoming] == ["Partner programme review"]
    assert upcoming[0]["match"]["by"] == "attendee-email"
    assert "Robert Hale: Prep note ready" in run("prep").out  # coming up, one line
    item = json.loads(run("prep", "--json").out)[0]
    assert "Sided with my former manager" in run("prep", item["id"]).out


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_read_api_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from mendcrm import repository
    from mendcrm.config import default_store_path
    from mendcrm.model import Contact, QueueItem
    from mendcrm.store import Store

    now = datetime.now(UTC)
    with Store(default_store_path()).transaction() as tx:
        repository.save(tx, "contacts", Contact(id="c1", name="Robert Hale", stage="strained"))
        repository.save(
            tx,
            "queue",
            QueueItem(
                id="q1",
                kind="prep",
                contact_id="c1",
                due=now,
                state="due",
                title="Prep note ready: Robert Hale",
            ),
        )
    block = next(b for b in _python_blocks() if "open_store" in b)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Prep note ready: Robert Hale" in out and "Robert Hale strained" in out


def test_plugin_example_delivers(capsys: pytest.CaptureFixture[str]) -> None:
    from mendcrm.config.model import Config
    from mendcrm.model import Contact, QueueItem

    block = next(b for b in _python_blocks() if "hookimpl" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    item = QueueItem(id="q1", kind="prep", contact_id="c1", due=datetime.now(UTC), title="Prep")
    receipt = namespace["deliver"](item, Contact(id="c1", name="Robert Hale"), Config())  # type: ignore[operator]
    assert receipt == "printed"
    assert "Robert Hale: Prep" in capsys.readouterr().out
