"""Files and folders only the user can read: folders MendCRM creates are 0700 and its files
0600 whatever the umask; writes are atomic (readers see the old file or the new one, never half
of it, and a failed write leaves nothing behind)."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700

_warned_lock = threading.Lock()
_warned: set[Path] = set()


def private_folder(path: Path) -> list[Path]:
    """Given a folder path, create every missing level with mode 0700, set explicitly so the
    umask cannot widen (or narrow) it, and return the folders created, outermost first.

    A folder that already exists is the user's (an Obsidian vault, their home) and is left as it
    is. Raise OSError if a level cannot be created.
    """
    missing: list[Path] = []
    folder = path
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    created = []
    for level in reversed(missing):
        try:
            os.mkdir(level, FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: not ours to change
        os.chmod(level, FOLDER_MODE)
        created.append(level)
    return created


def warn_if_shared(folder: Path, what: str) -> None:
    """Given a folder MendCRM writes into but did not create, log one warning (once per process)
    if other users can read or enter it; its mode is left as the user set it."""
    try:
        mode = stat.S_IMODE(os.stat(folder).st_mode)
    except OSError:
        return
    if not mode & (stat.S_IROTH | stat.S_IXOTH):
        return
    with _warned_lock:
        if folder in _warned:
            return
        _warned.add(folder)
    log.warning(
        "%s %s can be read by other users (mode %s); MendCRM's files in it are 0600, but their"
        " names show: chmod o-rx %s if that matters",
        what,
        folder,
        oct(mode),
        folder,
    )


def write_private(path: Path, data: str | bytes, *, only_if_changed: bool = False) -> bool:
    """Given a path and its new content (text is written as UTF-8), replace the file atomically
    with mode 0600 and return True; with ``only_if_changed``, leave an identical file untouched
    and return False. Raise OSError if the file cannot be written.

    The new content goes to a temporary file in the same folder (so the final rename stays on one
    file system), is flushed to disk, then renamed over the old file. Missing folders are created
    0700 (:func:`private_folder`). The temporary name is short, so a file whose name is near the
    file system's limit (255 bytes on Linux) can still be written.
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    if only_if_changed:
        try:
            if path.read_bytes() == content:
                return False
        except FileNotFoundError:
            pass
    private_folder(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".mendcrm-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)  # mkstemp makes 0600 already; do not rely on it
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


__all__ = ["FILE_MODE", "FOLDER_MODE", "private_folder", "warn_if_shared", "write_private"]
