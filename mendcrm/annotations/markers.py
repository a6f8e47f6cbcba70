"""MendCRM's inline block: its markers, and how to find it in an event's description.

Only the standard library, so the detection stage can strip the block from a description
(an annotation naming a contact must never count as that contact being named in the event).
"""

from __future__ import annotations

import re

BLOCK_START = "--- MendCRM ---"
BLOCK_END = "--- end MendCRM ---"

# The block as the events stage reads it (DESCRIPTION already unescaped): the markers, the lines
# between, and the blank line MendCRM puts before it.
_PLAIN_BLOCK = re.compile(
    r"\s*" + re.escape(BLOCK_START) + r"\n.*?\n?" + re.escape(BLOCK_END) + r"\s*\Z", re.DOTALL
)


def strip_block(description: str) -> str:
    """Given an event's (unescaped) DESCRIPTION, return it without MendCRM's inline block."""
    return _PLAIN_BLOCK.sub("", description)


def block_of(description: str) -> str | None:
    """Given an unescaped DESCRIPTION, return MendCRM's block in it (markers included), or None."""
    found = _PLAIN_BLOCK.search(description)
    return found.group(0).strip() if found else None


def make_block(lines: list[str]) -> str:
    """Given the annotation lines, return the block with its start and end markers."""
    return "\n".join([BLOCK_START, *lines, BLOCK_END])


__all__ = ["BLOCK_END", "BLOCK_START", "block_of", "make_block", "strip_block"]
