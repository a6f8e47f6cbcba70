"""Plain JSON: the values the store keeps, and the copy that proves a value is one.

A record reaches the store either as any mapping, which :func:`plain_copy` copies into exactly
what a round trip through JSON would give (or refuses as ``json.dumps`` would), or as a
:class:`PlainRecord`, which the model's own encoder (:mod:`mendcrm.model_codec`) made plain by
construction and the store takes as it is. Both say whether an object key ending in ``error``
holds something, so that error texts, which may quote a secret, are stored masked.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class PlainRecord(NamedTuple):
    """A record already in the store's plain JSON (RFC 8259 values only: new dicts and lists,
    plain ``str``/``int``/``float``/``bool``/``None``, no NaN), and whether any object key in it
    ending in ``error`` holds a non-empty value."""

    data: dict[str, Any]
    flagged: bool


def plain_copy(value: Any) -> tuple[Any, bool]:
    """Given a value to store, return (the value exactly as ``json.loads(json.dumps(value))``
    would give it, whether any object key in it ending in ``error`` holds a non-empty value);
    raise TypeError for a value that is not plain JSON and ValueError for NaN or an infinity,
    as ``json.dumps`` with ``allow_nan=False`` would.

    The copy shares the value's strings and numbers instead of parsing new ones: they cannot
    change, and a pass's new records hold the text of every note, which the model objects that
    made them hold too (decoding that text back doubled the peak memory of a pass). Objects and
    arrays are new, tuples become lists, keys and subclasses of str, int and float become what
    JSON reads them as (RFC 8259 §4: object names are strings).
    """
    flagged = [False]
    try:
        return _plain(value, flagged), flagged[0]
    except RecursionError:
        raise ValueError("it nests too deep or refers to itself") from None


def _plain(value: Any, flagged: list[bool]) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value - value != 0.0:  # inf - inf is nan, and nan differs from everything
            raise ValueError(f"out of range float values are not JSON compliant: {value!r}")
        return value
    if isinstance(value, dict):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            name = _name(key)
            # An empty value can hide no secret: a queue item's blank last_error must not send
            # every note through the masking walk.
            if item and name.endswith("error"):
                flagged[0] = True
            copied[name] = _plain(item, flagged)
        return copied
    if isinstance(value, list | tuple):
        return [_plain(item, flagged) for item in value]
    # Subclasses (an enum on str or int, …) are stored as the plain value JSON writes.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _plain(float.__float__(value), flagged)
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def _name(key: Any) -> str:
    """An object key as ``json.dumps`` writes it (and so as it reads back)."""
    if isinstance(key, str):
        return key if type(key) is str else str.__str__(key)
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int | float):
        return json.dumps(key, allow_nan=False)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


__all__ = ["PlainRecord", "plain_copy"]
