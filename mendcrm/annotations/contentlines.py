"""Surgical edits of a calendar object's raw text: MendCRM's block and its X-MENDCRM-* lines.

An inline annotation must leave everything else in the user's event as it was, byte for byte:
other clients' X- properties, alarms, the user's own description and how each line is folded.
Parsing and re-serialising (icalendar, vobject) reorders properties and refolds lines, so this
module works on the content lines themselves (RFC 5545 3.1): lines it does not change are
written back exactly as read, and the one it changes (DESCRIPTION) keeps its original physical
lines up to where the block begins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mendcrm.annotations.markers import BLOCK_END, BLOCK_START
from mendcrm.events.contentlines import property_name

PREFIX = "X-MENDCRM-"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_MAX_OCTETS = 75  # RFC 5545 3.1: lines SHOULD NOT be longer than 75 octets, excluding the break
_SEPARATOR = "\\n\\n"
# The block inside an escaped DESCRIPTION value, with the escaped newlines before it.
_RAW_BLOCK = re.compile(
    r"((?:\\[nN])*)"
    + re.escape(BLOCK_START)
    + r"\\[nN].*"
    + re.escape(BLOCK_END)
    + r"(?:\\[nN]|[ \t])*\Z",
    re.DOTALL,
)


class NotEditable(ValueError):
    """The object is not one plain VEVENT that MendCRM can annotate."""


@dataclass
class Prop:
    """One content line: its physical lines as read (each with its own line break)."""

    physical: list[str]

    @property
    def logical(self) -> str:
        parts = [_bare(self.physical[0])]
        parts.extend(_bare(line)[1:] for line in self.physical[1:])
        return "".join(parts)

    @property
    def name(self) -> str:
        return property_name(self.logical)


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def split(text: str) -> list[Prop]:
    """Given calendar text, return its content lines, unfolded but with the raw lines kept."""
    props: list[Prop] = []
    for line in _LINE.findall(text):
        if line[:1] in (" ", "\t") and props:
            props[-1].physical.append(line)
        else:
            props.append(Prop([line]))
    return props


def join(props: list[Prop]) -> str:
    return "".join(line for prop in props for line in prop.physical)


def escape_text(value: str) -> str:
    """Given plain text, return it escaped as an iCalendar TEXT value."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
    )


def _chunks(text: str, first: int, rest: int) -> list[str]:
    """Split text into pieces of at most ``first`` then ``rest`` UTF-8 octets, whole characters."""
    pieces: list[str] = []
    current, size, limit = "", 0, first
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > limit and current:
            pieces.append(current)
            current, size, limit = "", 0, rest
        current += char
        size += width
    if current or not pieces:
        pieces.append(current)
    return pieces


def fold(logical: str, eol: str) -> list[str]:
    """Given a logical content line, return its physical lines (75 octets at most)."""
    pieces = _chunks(logical, _MAX_OCTETS, _MAX_OCTETS - 1)
    return [pieces[0] + eol] + [f" {piece}{eol}" for piece in pieces[1:]]


def _split_value(logical: str) -> tuple[str, str]:
    """Given a content line, return (name and parameters with the colon, value)."""
    quoted = False
    for i, char in enumerate(logical):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return logical[: i + 1], logical[i + 1 :]
    return logical, ""


def _rewrite(prop: Prop, new_logical: str, eol: str) -> Prop:
    """Return the line with a new logical value, keeping the original physical lines that are an
    exact prefix of it and folding only what follows."""
    kept: list[str] = []
    done = ""
    for index, line in enumerate(prop.physical):
        content = _bare(line) if index == 0 else _bare(line)[1:]
        if not new_logical.startswith(done + content):
            break
        done += content
        kept.append(line if line.endswith(("\n", "\r")) else line + eol)
        if done == new_logical:
            return Prop(kept)
    if not kept:
        return Prop(fold(new_logical, eol))
    rest = new_logical[len(done) :]
    width = _MAX_OCTETS - 1
    return Prop(kept + [f" {piece}{eol}" for piece in _chunks(rest, width, width)])


def _line_break(props: list[Prop]) -> str:
    for prop in props:
        for line in prop.physical:
            if line.endswith("\r\n"):
                return "\r\n"
            if line.endswith("\n"):
                return "\n"
    return "\r\n"


def _event_bounds(props: list[Prop]) -> tuple[int, int]:
    begins = [i for i, p in enumerate(props) if p.logical.strip().upper() == "BEGIN:VEVENT"]
    if len(begins) != 1:
        raise NotEditable(f"{len(begins)} VEVENTs in the object; inline needs exactly one")
    depth = 0
    for i in range(begins[0] + 1, len(props)):
        line = props[i].logical.strip().upper()
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            if depth == 0:
                return begins[0], i
            depth -= 1
    raise NotEditable("the VEVENT has no END")


def set_annotation(text: str, block: str | None, lines: list[str]) -> str:
    """Given an object's raw text, return it with MendCRM's block (plain text, None to remove)
    at the end of the VEVENT's DESCRIPTION and exactly ``lines`` (full ``X-MENDCRM-…`` content
    lines) as its X-MENDCRM properties; everything else is kept byte for byte. Raise
    NotEditable if the object is not a single VEVENT."""
    props = split(text)
    eol = _line_break(props)
    begin, end = _event_bounds(props)
    description: int | None = None
    ours: list[int] = []
    first_child: int | None = None
    depth = 0
    for i in range(begin + 1, end):
        upper = props[i].logical.strip().upper()
        if upper.startswith("BEGIN:"):
            if depth == 0 and first_child is None:
                first_child = i
            depth += 1
            continue
        if upper.startswith("END:"):
            depth -= 1
            continue
        if depth:
            continue
        name = props[i].name
        if name == "DESCRIPTION" and description is None:
            description = i
        elif name.startswith(PREFIX):
            ours.append(i)
    insert_at = ours[0] if ours else (first_child if first_child is not None else end)

    replacement: dict[int, Prop | None] = {i: None for i in ours}
    added: list[Prop] = []
    if description is not None:
        head, value = _split_value(props[description].logical)
        kept = _without_block(value)
        new_value = kept
        if block is not None:
            new_value = kept + (_SEPARATOR if kept else "") + escape_text(block)
        if new_value != value:
            replacement[description] = (
                None if not new_value else _rewrite(props[description], head + new_value, eol)
            )
    elif block is not None:
        added.append(Prop(fold("DESCRIPTION:" + escape_text(block), eol)))
    added.extend(Prop(fold(line, eol)) for line in lines)

    out: list[Prop] = []
    for i, prop in enumerate(props):
        if i == insert_at:
            out.extend(added)
        if i in replacement:
            new = replacement[i]
            if new is not None:
                out.append(new)
            continue
        out.append(prop)
    return join(out)


def _without_block(value: str) -> str:
    """Given an escaped DESCRIPTION value, return it without MendCRM's block and the blank line
    MendCRM put before it (newlines the user wrote themselves are kept)."""
    found = _RAW_BLOCK.search(value)
    if found is None:
        return value
    newlines = re.findall(r"\\[nN]", found.group(1))
    keep = "".join(newlines[: max(0, len(newlines) - 2)])
    return value[: found.start()] + keep


def annotation_lines(text: str) -> list[str]:
    """Given an object's raw text, return its X-MENDCRM-* content lines (unfolded)."""
    return [p.logical for p in split(text) if p.name.startswith(PREFIX)]


__all__ = [
    "PREFIX",
    "NotEditable",
    "Prop",
    "annotation_lines",
    "escape_text",
    "fold",
    "join",
    "set_annotation",
    "split",
]
