"""Surgical edits of a calendar object's raw octets: MendCRM's block and its X-MENDCRM-* lines.

An inline annotation must leave everything else in the user's event as it was, byte for byte:
other clients' X- properties, alarms, the user's own description and how each line is folded.
Parsing and re-serialising (icalendar, vobject) reorders properties and refolds lines, so this
module works on the content lines themselves (RFC 5545 3.1), as octets and never decoded: a
writer that folds at 75 octets may cut a character in two, and only undecoded octets give that
back unchanged. Lines it does not change are written back exactly as read, and the one it
changes (DESCRIPTION) keeps its original physical lines up to where the block begins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mendcrm.annotations.markers import BLOCK_END, BLOCK_START
from mendcrm.events.contentlines import property_name

PREFIX = "X-MENDCRM-"
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_MAX_OCTETS = 75  # RFC 5545 3.1: lines SHOULD NOT be longer than 75 octets, excluding the break
_SEPARATOR = b"\\n\\n"
# The block inside an escaped DESCRIPTION value, with the escaped newlines before it.
_RAW_BLOCK = re.compile(
    rb"((?:\\[nN])*)"
    + re.escape(BLOCK_START.encode("utf-8"))
    + rb"\\[nN].*"
    + re.escape(BLOCK_END.encode("utf-8"))
    + rb"(?:\\[nN]|[ \t])*\Z",
    re.DOTALL,
)


class NotEditable(ValueError):
    """The object is not one plain VEVENT that MendCRM can annotate."""


@dataclass
class Prop:
    """One content line: its physical lines as read, octets and line break included."""

    physical: list[bytes]

    @property
    def logical(self) -> bytes:
        """The content line unfolded at the octet level (RFC 5545 3.1), not decoded: a fold
        that cut a character in two is whole again here."""
        parts = [_bare(self.physical[0])]
        parts.extend(_bare(line)[1:] for line in self.physical[1:])
        return b"".join(parts)

    @property
    def name(self) -> str:
        return property_name(self.logical[:100].decode("utf-8", errors="replace"))


def _bare(line: bytes) -> bytes:
    return line.rstrip(b"\r\n")


def split(data: bytes) -> list[Prop]:
    """Given calendar octets, return its content lines, unfolded but with the raw lines kept."""
    props: list[Prop] = []
    for line in _LINE.findall(data):
        if line[:1] in (b" ", b"\t") and props:
            props[-1].physical.append(line)
        else:
            props.append(Prop([line]))
    return props


def join(props: list[Prop]) -> bytes:
    return b"".join(line for prop in props for line in prop.physical)


def escape_text(value: str) -> str:
    """Given plain text, return it escaped as an iCalendar TEXT value."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
    )


def _chunks(data: bytes, first: int, rest: int) -> list[bytes]:
    """Split octets into pieces of at most ``first`` then ``rest`` octets, never just before a
    UTF-8 continuation octet (so MendCRM's own folds never cut a character). Continuation
    octets at the very start (the second half of a character the user's writer cut) stay
    with the first piece, where they join the first half when unfolded."""
    pieces: list[bytes] = []
    start, limit = 0, first
    while start < len(data) or not pieces:
        end = min(start + limit, len(data))
        while start < end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        if end == start:
            end = min(start + limit, len(data))  # no boundary in reach: not UTF-8; cut anyway
        pieces.append(data[start:end])
        start, limit = end, rest
        if start >= len(data):
            break
    return pieces


def fold(logical: bytes, eol: bytes) -> list[bytes]:
    """Given a logical content line, return its physical lines (75 octets at most)."""
    pieces = _chunks(logical, _MAX_OCTETS, _MAX_OCTETS - 1)
    return [pieces[0] + eol] + [b" " + piece + eol for piece in pieces[1:]]


def _split_value(logical: bytes) -> tuple[bytes, bytes]:
    """Given a content line, return (name and parameters with the colon, value)."""
    quoted = False
    for i, octet in enumerate(logical):
        if octet == 0x22:  # '"'
            quoted = not quoted
        elif octet == 0x3A and not quoted:  # ':'
            return logical[: i + 1], logical[i + 1 :]
    return logical, b""


def _rewrite(prop: Prop, new_logical: bytes, eol: bytes) -> Prop:
    """Return the line with a new logical value, keeping the original physical lines that are an
    exact prefix of it (octet for octet) and folding only what follows."""
    kept: list[bytes] = []
    done = b""
    for index, line in enumerate(prop.physical):
        content = _bare(line) if index == 0 else _bare(line)[1:]
        if not new_logical.startswith(done + content):
            break
        done += content
        kept.append(line if line.endswith((b"\n", b"\r")) else line + eol)
        if done == new_logical:
            return Prop(kept)
    if not kept:
        return Prop(fold(new_logical, eol))
    rest = new_logical[len(done) :]
    width = _MAX_OCTETS - 1
    return Prop(kept + [b" " + piece + eol for piece in _chunks(rest, width, width)])


def _line_break(props: list[Prop]) -> bytes:
    for prop in props:
        for line in prop.physical:
            if line.endswith(b"\r\n"):
                return b"\r\n"
            if line.endswith(b"\n"):
                return b"\n"
    return b"\r\n"


def _event_bounds(props: list[Prop]) -> tuple[int, int]:
    begins = [i for i, p in enumerate(props) if p.logical.strip().upper() == b"BEGIN:VEVENT"]
    if len(begins) != 1:
        raise NotEditable(f"{len(begins)} VEVENTs in the object; inline needs exactly one")
    depth = 0
    for i in range(begins[0] + 1, len(props)):
        line = props[i].logical.strip().upper()
        if line.startswith(b"BEGIN:"):
            depth += 1
        elif line.startswith(b"END:"):
            if depth == 0:
                return begins[0], i
            depth -= 1
    raise NotEditable("the VEVENT has no END")


def set_annotation(data: bytes, block: str | None, lines: list[str]) -> bytes:
    """Given an object's raw octets, return them with MendCRM's block (plain text, None to
    remove) at the end of the VEVENT's DESCRIPTION and exactly ``lines`` (full ``X-MENDCRM-…``
    content lines) as its X-MENDCRM properties; every other octet is kept as it was, folds that
    cut a character included (nothing is decoded). Raise NotEditable if the object is not a
    single VEVENT."""
    props = split(data)
    eol = _line_break(props)
    begin, end = _event_bounds(props)
    description: int | None = None
    ours: list[int] = []
    first_child: int | None = None
    depth = 0
    for i in range(begin + 1, end):
        upper = props[i].logical.strip().upper()
        if upper.startswith(b"BEGIN:"):
            if depth == 0 and first_child is None:
                first_child = i
            depth += 1
            continue
        if upper.startswith(b"END:"):
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
            new_value = kept + (_SEPARATOR if kept else b"") + escape_text(block).encode("utf-8")
        if new_value != value:
            replacement[description] = (
                None if not new_value else _rewrite(props[description], head + new_value, eol)
            )
    elif block is not None:
        added.append(Prop(fold(b"DESCRIPTION:" + escape_text(block).encode("utf-8"), eol)))
    added.extend(Prop(fold(line.encode("utf-8"), eol)) for line in lines)

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


def _without_block(value: bytes) -> bytes:
    """Given an escaped DESCRIPTION value, return it without MendCRM's block and the blank line
    MendCRM put before it (newlines the user wrote themselves are kept)."""
    found = _RAW_BLOCK.search(value)
    if found is None:
        return value
    newlines = re.findall(rb"\\[nN]", found.group(1))
    keep = b"".join(newlines[: max(0, len(newlines) - 2)])
    return value[: found.start()] + keep


def annotation_lines(data: bytes) -> list[str]:
    """Given an object's raw octets, return its X-MENDCRM-* content lines (unfolded)."""
    return [
        p.logical.decode("utf-8", errors="replace")
        for p in split(data)
        if p.name.startswith(PREFIX)
    ]


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
