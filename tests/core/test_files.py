"""The one atomic private write: 0600, nothing left behind, untouched when unchanged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mendcrm.files import write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_text_and_bytes_0600_and_creates_a_private_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "notes.md"
    assert write_private(target, "é\n") is True
    assert target.read_bytes() == "é\n".encode()
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    assert write_private(target, b"\x00bytes") is True and target.read_bytes() == b"\x00bytes"


def test_an_existing_open_file_becomes_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old")
    target.chmod(0o644)
    previous = os.umask(0)
    try:
        write_private(target, "new")
    finally:
        os.umask(previous)
    assert target.read_text() == "new" and mode(target) == 0o600


def test_only_if_changed_leaves_an_identical_file_alone(tmp_path: Path) -> None:
    target = tmp_path / "queue.json"
    assert write_private(target, b"{}", only_if_changed=True) is True
    inode = target.stat().st_ino
    assert write_private(target, "{}", only_if_changed=True) is False
    assert target.stat().st_ino == inode  # not replaced
    assert write_private(target, "{ }", only_if_changed=True) is True
    assert target.read_text() == "{ }" and target.stat().st_ino != inode
    assert write_private(target, "{ }") is True  # without the flag it always writes


def test_a_failed_write_leaves_no_temporary_file_and_the_old_content(tmp_path: Path) -> None:
    # A directory where the file should go: the final rename fails after the content was written.
    blocked = tmp_path / "blocked.md"
    blocked.mkdir()
    (blocked / "inside").write_text("keep")
    with pytest.raises(OSError):
        write_private(blocked, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked.md"]
    assert (blocked / "inside").read_text() == "keep"


def test_text_that_cannot_be_encoded_fails_before_touching_the_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_private(target, "lone surrogate \udc80")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.md"]
