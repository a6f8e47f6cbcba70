"""How the model's records become the store's plain JSON and back.

Every record dataclass of :mod:`mendcrm.model` inherits :class:`_Record`. Both directions run
a function generated once per class from its fields' annotations (read commands decode
thousands of records, a pass encodes thousands of notes):

- ``from_record`` sets each field as the dataclass's own ``__init__`` would, converting ISO
  strings to aware datetimes, lists to tuples and nested dicts to records;
- ``to_plain`` gives what ``json.loads(json.dumps(...))`` of the record would give — times as
  ISO 8601 in UTC, tuples as lists, nested records as dicts, every container new, every scalar
  a plain ``str``/``int``/``float``/``bool``/``None`` — wrapped in a
  :class:`~mendcrm.plain_json.PlainRecord`, so the store takes it without copying it again to
  prove it plain. A value of an unexpected type (an enum, a subclass of ``str``) goes the
  general way (:func:`mendcrm.plain_json.plain_copy`), which converts it or raises as
  ``json.dumps`` would.

``_from_record_by_init`` and ``_to_record_by_fields`` are the plain references the generated
functions follow; ``tests/core/test_model_records.py`` compares them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from mendcrm.plain_json import PlainRecord, plain_copy


def to_iso(value: datetime) -> str:
    """Given an aware datetime, return it as ISO 8601 in UTC; raise ValueError if it is naive."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} cannot be stored; attach a time zone")
    return value.astimezone(UTC).isoformat()


def from_iso(value: str) -> datetime:
    """Given an ISO 8601 string written by :func:`to_iso`, return an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_R = TypeVar("_R", bound="_Record")


class _Record:
    """JSON (de)serialisation shared by the record dataclasses."""

    def to_record(self) -> dict[str, Any]:
        """Return the record as the store keeps it: a new dict of plain JSON values."""
        return self.to_plain().data

    def to_plain(self) -> PlainRecord:
        """Return the record as the store keeps it, marked as plain JSON for the store."""
        encode = _ENCODERS.get(type(self)) or _encoder(type(self))
        return encode(self)

    def _to_record_by_fields(self) -> dict[str, Any]:
        """:meth:`to_record` field by field: the reference the generated encoder follows."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _encode(getattr(self, f.name))
        return out

    @classmethod
    def from_record(cls: type[_R], record: Mapping[str, Any]) -> _R:
        """Given a stored record, return the object; it shares no list or dict with the record
        (a store view may hand over its own records, uncopied)."""
        build = _BUILDERS.get(cls) or _builder(cls)
        return build(record)

    @classmethod
    def _from_record_by_init(cls: type[_R], record: Mapping[str, Any]) -> _R:
        """:meth:`from_record` through the class's ``__init__``: the reference the built
        function follows, and what raises for a record missing a required field."""
        plan = _PLANS.get(cls) or _plan(cls)
        kwargs: dict[str, Any] = {}
        for name, convert in plan:
            if name in record:
                value = record[name]
                kwargs[name] = value if convert is None or value is None else convert(value)
        return cls(**kwargs)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, _Record):
        return value._to_record_by_fields()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


NESTED: dict[str, type[_Record]] = {}
"""Record classes that appear as fields of others, by the name their annotations use;
:mod:`mendcrm.model` registers each after defining it."""

# -- to the store --

_ENCODERS: dict[type, Callable[[Any], PlainRecord]] = {}

_SCALAR_TEST = {
    "str": "type({v}) is str",
    "int": "type({v}) is int",
    "bool": "{v} is True or {v} is False",
    # NaN and the infinities fail ``v - v == 0.0`` and go the general way, which refuses them.
    "float": "type({v}) is float and {v} - {v} == 0.0",
}
"""Per scalar annotation, the test its value ``{v}`` passes to be stored as it is."""


def _general(value: Any) -> tuple[Any, bool]:
    """A field value of a type the generated code does not expect: encoded, then made plain
    JSON (or refused) exactly as the store does for any record."""
    return plain_copy(_encode(value))


def _encoder(cls: type) -> Callable[[Any], PlainRecord]:
    """Generate, once per class, the function that makes a record's plain JSON from its
    fields: a test of each field's value against its annotation, and the general way for any
    value that fails it."""
    names: dict[str, Any] = {
        "_plain": PlainRecord,
        "_general": _general,
        "_iso": to_iso,
        "_datetime": datetime,
    }
    lines = ["def encode(self):", "    out = {}", "    flagged = False"]
    for index, f in enumerate(dataclasses.fields(cls)):
        kind = str(f.type)
        optional = kind.endswith(" | None")
        kind = kind.removesuffix(" | None")
        kind = "str" if kind.startswith("Literal[") else kind
        nested = NESTED.get(kind.removeprefix("tuple[").removesuffix(", ...]"))
        if nested is not None:
            names[f"_cls{index}"] = nested
        test, fast = _fast_path(kind, index, nested)
        general = [f"out[{f.name!r}], f = _general(v)", "flagged = flagged or f"]
        lines.append(f"    v = self.{f.name}")
        if test is None:
            lines += [f"    {line}" for line in general]
        else:
            if optional:
                test = f"v is None or {test}"
                fast = ["if v is None:", f"    out[{f.name!r}] = None", "else:"] + [
                    f"    {line}" for line in fast
                ]
            lines.append(f"    if {test}:")
            lines += [f"        {line}".replace("OUT", f"out[{f.name!r}]") for line in fast]
            lines.append("    else:")
            lines += [f"        {line}" for line in general]
        if f.name.endswith("error"):
            # As the store's own check: an error text may quote a secret, so it is masked.
            lines.append("    flagged = flagged or bool(v)")
    lines.append("    return _plain(out, flagged)")
    exec("\n".join(lines), names)  # our own code, written from the dataclass's fields
    encode: Callable[[Any], PlainRecord] = names["encode"]
    _ENCODERS[cls] = encode
    return encode


def _fast_path(kind: str, index: int, nested: type | None) -> tuple[str | None, list[str]]:
    """Given a field's annotation (without ``| None``), return the test a value of the
    expected type passes and the lines that encode it into ``OUT``; (None, []) for the general
    way."""
    if kind in _SCALAR_TEST:
        return _SCALAR_TEST[kind].format(v="v"), ["OUT = v"]
    if kind == "datetime":
        return "type(v) is _datetime", ["OUT = _iso(v)"]
    if kind == "tuple[str, ...]":
        return "type(v) is tuple and all(type(x) is str for x in v)", ["OUT = list(v)"]
    if kind == "dict[str, str]":
        return "type(v) is dict and all(type(k) is str and type(x) is str for k, x in v.items())", [
            "OUT = dict(v)",
            "flagged = flagged or any(x and k.endswith('error') for k, x in v.items())",
        ]
    parts = kind.removeprefix("tuple[").removesuffix("]").split(", ")
    if kind.startswith("tuple[") and all(part in _SCALAR_TEST for part in parts):
        # A tuple of fixed length and scalar kinds (an occurrence's version).
        tests = [_SCALAR_TEST[part].format(v=f"v[{i}]") for i, part in enumerate(parts)]
        return f"type(v) is tuple and len(v) == {len(parts)} and " + " and ".join(
            f"({test})" for test in tests
        ), ["OUT = list(v)"]
    if nested is not None and kind.startswith("tuple["):
        return f"type(v) is tuple and all(type(x) is _cls{index} for x in v)", [
            "ps = [x.to_plain() for x in v]",
            "OUT = [p.data for p in ps]",
            "flagged = flagged or any(p.flagged for p in ps)",
        ]
    if nested is not None:
        return f"type(v) is _cls{index}", [
            "p = v.to_plain()",
            "OUT = p.data",
            "flagged = flagged or p.flagged",
        ]
    return None, []


# -- a changed copy --

_FIELDS: dict[type, frozenset[str]] = {}


def replaced(record: _R, changes: Mapping[str, Any]) -> _R:
    """Given a record and new values for some of its fields, return a copy with them: what
    ``dataclasses.replace`` returns for these classes (every field in ``__init__``, no
    ``__post_init__``), field by field instead of through ``__init__`` (planning copies
    thousands of notes a pass). Raise TypeError for a name that is not a field."""
    cls = type(record)
    names = _FIELDS.get(cls)
    if names is None:
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        if hasattr(cls, "__post_init__") or not all(f.init for f in fields):
            return dataclasses.replace(record, **changes)  # type: ignore[type-var]
        names = _FIELDS[cls] = frozenset(f.name for f in fields)
    if not names.issuperset(changes):
        unknown = ", ".join(sorted(set(changes) - names))
        raise TypeError(f"{cls.__name__} has no field {unknown}")
    copy = object.__new__(cls)
    for name in names:
        object.__setattr__(copy, name, changes[name] if name in changes else getattr(record, name))
    return copy


# -- from the store --

_Convert = Callable[[Any], Any]
_PLANS: dict[type, tuple[tuple[str, _Convert | None], ...]] = {}
"""Per record class, each field's name and how its stored value becomes the field's (None: as
is): worked out once from the annotations, since read commands decode thousands of records."""

_BUILDERS: dict[type, Callable[[Mapping[str, Any]], Any]] = {}
"""Per record class, a function built once that makes an object from a stored record as
:meth:`_Record._from_record_by_init` does, setting each field as the dataclass's own ``__init__``
does (``object.__setattr__``) without gathering keyword arguments first: read commands build
thousands of objects, and this takes half the time."""
_ABSENT = object()


def _builder(cls: type) -> Callable[[Mapping[str, Any]], Any]:
    plan = _PLANS.get(cls) or _plan(cls)
    names: dict[str, Any] = {
        "_new": object.__new__,
        "_set": object.__setattr__,
        "_cls": cls,
        "_ABSENT": _ABSENT,
        "_by_init": cls._from_record_by_init,  # type: ignore[attr-defined]
    }
    lines = ["def build(record):", "    self = _new(_cls)", "    get = record.get"]
    for index, (f, (name, convert)) in enumerate(zip(dataclasses.fields(cls), plan, strict=True)):
        lines.append(f"    value = get({name!r}, _ABSENT)")
        lines.append("    if value is _ABSENT:")
        if f.default is not dataclasses.MISSING:
            names[f"_default{index}"] = f.default
            lines.append(f"        value = _default{index}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory{index}"] = f.default_factory
            lines.append(f"        value = _factory{index}()")
        else:
            lines.append("        return _by_init(record)  # raises: a required field is missing")
        if convert is not None:
            names[f"_convert{index}"] = convert
            lines.append(f"    elif value is not None:\n        value = _convert{index}(value)")
        lines.append(f"    _set(self, {name!r}, value)")
    lines.append("    return self")
    exec("\n".join(lines), names)  # our own code, written from the dataclass's fields
    build: Callable[[Mapping[str, Any]], Any] = names["build"]
    _BUILDERS[cls] = build
    return build


def _plan(cls: type) -> tuple[tuple[str, _Convert | None], ...]:
    plan = tuple((f.name, _converter(str(f.type))) for f in dataclasses.fields(cls))
    _PLANS[cls] = plan
    return plan


def _converter(kind: str) -> _Convert | None:
    """Given a field's annotation (a string: annotations are postponed), return the function
    that turns a stored non-null value into the field's, or None to take it as it is."""
    if "datetime" in kind:
        return _datetime
    for name, nested in NESTED.items():
        if name in kind:
            return functools.partial(_nested, nested)
    if kind.startswith("tuple"):
        return _tuple
    if kind.startswith("dict"):
        return _dict  # a copy: an object must not share a dict with the record it came from
    return None


def _datetime(value: Any) -> Any:
    return from_iso(value) if isinstance(value, str) else value


def _nested(nested: type[_Record], value: Any) -> Any:
    if isinstance(value, list):
        return tuple(nested.from_record(v) for v in value)
    return nested.from_record(value)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _dict(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value
