"""Writing a file only the user can read, atomically: readers see the old file or the new one,
never half of it, and a failed write leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: str | bytes, *, only_if_changed: bool = False) -> bool:
    """Given a path and its new content (text is written as UTF-8), replace the file atomically
    with mode 0600 and return True; with ``only_if_changed``, leave an identical file untouched
    and return False. Raise OSError if the file cannot be written.

    The new content goes to a temporary file in the same folder (so the final rename stays on one
    file system), is flushed to disk, then renamed over the old file. A missing folder is created
    (0700 for the last level).
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    if only_if_changed:
        try:
            if path.read_bytes() == content:
                return False
        except FileNotFoundError:
            pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # mkstemp creates 0600 already; this does not rely on it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


__all__ = ["write_private"]
