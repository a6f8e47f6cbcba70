"""Which reader a programme document needs, and its container read safely.

JSON is read by the standard library after a nesting-depth check (a document nested deeper than
any programme needs is refused before the parser recurses into it). XML is read by ``defusedxml``
with DTDs forbidden: a document that declares a DTD or an entity is refused with one line naming
the programme, and no external resource is ever fetched.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from mendcrm.config.schema import PROGRAMME_FORMATS as FORMATS
from mendcrm.errors import SourceError
from mendcrm.programmes.model import Programme, with_dates

MAX_DEPTH = 64
"""The deepest JSON/XML nesting accepted: the formats need 7 (Indico) at most."""

_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class ProgrammeError(SourceError):
    """A programme document that cannot be read: one line naming the programme and the fix."""


def load_json(body: bytes, where: str) -> Any:
    """Given a JSON document's octets, return its value; raise ProgrammeError naming ``where``
    if it is not JSON (RFC 8259: UTF-8, a BOM tolerated) or nests deeper than MAX_DEPTH."""
    depth = deepest = 0
    for match in _JSON_TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    raise ProgrammeError(
                        f"{where}: the JSON nests deeper than {MAX_DEPTH} levels; refused",
                        hint="check that the url or path is the conference's schedule export",
                    )
        elif token in (b"]", b"}"):
            depth -= 1
    try:
        return json.loads(body.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProgrammeError(
            f"{where}: not a JSON document ({exc})",
            hint="check that the url or path is the conference's schedule export",
        ) from None


def load_xml(body: bytes, where: str) -> Element:
    """Given an XML document's octets, return its root element; raise ProgrammeError naming
    ``where`` if it is not well-formed, or declares a DTD or an entity (refused whatever it
    says: an entity can expand without bound or name a file or URL)."""
    try:
        root = safe_xml.fromstring(body, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException as exc:
        raise ProgrammeError(
            f"{where}: the XML declares a DTD or an entity ({type(exc).__name__}); refused",
            hint="a schedule export needs neither; ask the organisers, or use its JSON export",
        ) from None
    except ParseError as exc:
        raise ProgrammeError(
            f"{where}: not well-formed XML ({exc})",
            hint="check that the url or path is the conference's schedule export",
        ) from None
    if _xml_depth(root) > MAX_DEPTH:
        raise ProgrammeError(f"{where}: the XML nests deeper than {MAX_DEPTH} levels; refused")
    return root


def _xml_depth(root: Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in node)
    return deepest


def guess_format(body: bytes, doc: Any = None) -> str:
    """Given a document's octets (and, for JSON, its parsed value), return the format its shape
    says: "pretalx" for frab-style JSON (a ``schedule`` object) or XML (``<schedule>``),
    "indico" (``results``), "sessionize" (``sessions``), "ics"; or "" if none of them."""
    head = body.removeprefix(b"\xef\xbb\xbf").lstrip()[:4096]
    if head[:15].upper() == b"BEGIN:VCALENDAR":
        return "ics"
    if head.startswith(b"<"):
        return "pretalx" if b"<schedule" in head else ""
    if isinstance(doc, dict):
        if isinstance(doc.get("schedule"), dict):
            return "pretalx"
        if isinstance(doc.get("results"), list):
            return "indico"
        if isinstance(doc.get("sessions"), list):
            return "sessionize"
    return ""


def read_programme(body: bytes, fmt: str, *, where: str, title: str, zone: str) -> Programme:
    """Given a document's octets and its configured format, return the programme; raise
    ProgrammeError naming ``where`` if it cannot be read as that format.

    ``title`` is used when the format carries none (Sessionize); ``zone`` is the IANA zone for
    times written without a UTC offset ("" when the config gives none).
    """
    from mendcrm.programmes import frab, ics, indico, sessionize

    is_json = body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")
    doc = load_json(body, where) if is_json else None
    chosen = guess_format(body, doc) if fmt == "auto" else fmt
    if not chosen:
        raise ProgrammeError(
            f"{where}: cannot tell the programme's format from its content",
            hint='set format = "pretalx", "frab", "sessionize", "indico" or "ics"',
        )
    if chosen in ("pretalx", "frab"):
        stripped = body.removeprefix(b"\xef\xbb\xbf").lstrip()
        if stripped.startswith(b"<"):
            programme = frab.read_xml(load_xml(body, where), where=where)
        else:
            programme = frab.read_json(doc if is_json else load_json(body, where), where=where)
    elif chosen == "sessionize":
        programme = sessionize.read(
            doc if is_json else load_json(body, where), where=where, title=title, zone=zone
        )
    elif chosen == "indico":
        programme = indico.read(doc if is_json else load_json(body, where), where=where)
    elif chosen == "ics":
        programme = ics.read(body, where=where, title=title, zone=zone)
    else:
        raise ProgrammeError(f"{where}: unknown format {fmt!r}", hint="see `format` in the config")
    return with_dates(programme)


__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "ProgrammeError",
    "guess_format",
    "load_json",
    "load_xml",
    "read_programme",
]
