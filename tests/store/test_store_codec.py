"""The store's JSON codec (orjson where it can, the standard library where it cannot): what is
written reads back equal, older files still read, output is deterministic, NaN is refused."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mendcrm.errors import StoreError
from mendcrm.store import SCHEMA_VERSION, Store, codec
from mendcrm.store.storage import _split_tables

# Integers just past what orjson reads exactly (it reads −2⁶³ … 2⁶⁴−1 as integers and anything
# beyond as a float): 2⁶⁴ and −2⁶³−1 sit on either edge, 10³⁰ is far out. Written as float
# they would come back as 1.8446744073709552e19 and so on, not equal to the integers.
BIG_INTS = [2**64, -(2**63) - 1, 10**30, 2**64 - 1, -(2**63)]

# Every character a JSON string must escape (RFC 8259 §7: quotation mark, reverse solidus and
# U+0000–U+001F), DEL, the C1 NEL, the JavaScript line terminators U+2028/U+2029, and multi-byte
# UTF-8 (two, three and four bytes).
AWKWARD_TEXT = "".join(chr(c) for c in range(0x20)) + '"\\\x7f\x85\u2028\u2029é€日本😀'


def record(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": record_id, **fields}


def table_lines(path: Path) -> dict[str, bytes]:
    """Given a store file, return each table's text as the file holds it (after ``"name":``)."""
    split = _split_tables(path.read_bytes())
    assert split is not None, "the file is not in the one-table-per-line layout"
    return {name: bytes(text) for name, text in split}


def test_records_read_back_equal_from_a_fresh_store(store_path: Path) -> None:
    nested = {"a": [1, [2, [3, {"b": None}]]], "c": {"d": {"e": [True, False, 0.1, -0.0, 1e300]}}}
    records = {
        "contacts": [
            record("c1", name="Zoë Łukasiewicz 日本 😀", notes=AWKWARD_TEXT),
            record("c2", name="escapes", notes='tab\there "quoted" back\\slash\nnewline'),
        ],
        "sync_state": [record("nested", value=nested), record("empty", value={}, list=[])],
        "interactions": [record("big", values=BIG_INTS)],
    }
    with Store(store_path).transaction() as tx:
        for table, rows in records.items():
            tx.put_many(table, rows)
    for only in (None, tuple(records)):
        with Store(store_path).read(only=only) as view:  # a new Store: nothing cached
            for table, rows in records.items():
                assert view.all(table) == rows
                # Exactly: an integer stays an integer (True == 1 and 2.0 == 2 would pass ==).
                assert repr(view.all(table)) == repr(rows)


def test_the_file_keeps_one_table_per_line_and_writes_text_as_utf8(store_path: Path) -> None:
    with Store(store_path).transaction() as tx:
        tx.put("contacts", record("c1", name="Zoë", notes=AWKWARD_TEXT))
        tx.put("interactions", record("big", value=2**64))
    raw = store_path.read_bytes()
    lines = table_lines(store_path)
    # "{", one line per table, "}" and the empty string after the final newline: a newline
    # inside a table's text would add a line.
    assert raw.count(b"\n") == len(lines) + 2
    # A table orjson wrote is marked and holds its text as UTF-8 ("ë" is C3 AB)...
    assert lines["contacts"].startswith(codec.MARK)
    assert "Zoë".encode() in lines["contacts"]
    # ...the one holding 2⁶⁴ (beyond orjson) is written the old way, ASCII and unmarked.
    assert not lines["interactions"].startswith(codec.MARK)
    assert lines["interactions"].isascii() and b"18446744073709551616" in lines["interactions"]


def test_a_file_written_before_the_codec_still_reads_and_is_rewritten_marked(
    store_path: Path,
) -> None:
    # The old writer's exact output: json.dumps with compact separators, ASCII-escaped, one
    # table per line (what every MendCRM before this one wrote).
    tables: dict[str, dict[str, Any]] = {
        "contacts": {"c1": record("c1", name="Zoë 😀", notes=AWKWARD_TEXT)},
        "meta": {"schema": {"id": "schema", "version": SCHEMA_VERSION}},
        "sync_state": {"seq": record("seq", sequence=2**64 + 1, low=-(2**63) - 1)},
    }
    body = ",\n".join(
        json.dumps(name) + ":" + json.dumps(t, separators=(",", ":"), allow_nan=False)
        for name, t in sorted(tables.items())
    )
    store_path.parent.mkdir()
    store_path.write_text("{\n" + body + "\n}\n", encoding="ascii")
    assert b"\\u00eb" in store_path.read_bytes()  # really the escaped form
    for only in (None, ("contacts", "sync_state")):
        with Store(store_path).read(only=only) as view:
            assert view.get("contacts", "c1") == tables["contacts"]["c1"]
            # Read by the standard library (unmarked): exact, where orjson would give a float.
            assert view.get("sync_state", "seq") == tables["sync_state"]["seq"]
            assert view.get("sync_state", "seq")["sequence"] == 2**64 + 1  # type: ignore[index]
    with Store(store_path).transaction() as tx:
        tx.put("dismissals", record("d1"))
    lines = table_lines(store_path)
    assert lines["contacts"].startswith(codec.MARK)  # rewritten once, for the fast path
    assert not lines["sync_state"].startswith(codec.MARK)  # still beyond orjson
    with Store(store_path).read() as view:
        assert view.get("contacts", "c1") == tables["contacts"]["c1"]
        assert view.get("sync_state", "seq") == tables["sync_state"]["seq"]


def test_a_lone_surrogate_is_written_the_old_way_and_reads_back() -> None:
    # orjson refuses text that is not valid Unicode scalar values; the standard library writes
    # a lone surrogate as the escape \ud800, and reads it back.
    table = {"r": record("r", text="a\ud800b")}
    text = codec.encode_table(table)
    assert not text.startswith(codec.MARK) and b"\\ud800" in text
    assert codec.decode(text) == table


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # any size: the big ones take the standard library's path
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
TABLES = st.dictionaries(st.text(min_size=1), st.dictionaries(st.text(), JSON_VALUES), max_size=4)


@settings(max_examples=300, deadline=None)
@given(TABLES)
def test_any_table_encodes_deterministically_without_newlines_and_decodes_equal(
    table: dict[str, Any],
) -> None:
    text = codec.encode_table(table)
    assert b"\n" not in text
    # The same table always gives the same bytes, also when built again from scratch...
    assert codec.encode_table(json.loads(json.dumps(table))) == text
    # ...and what is read back is equal and writes the same bytes again.
    decoded = codec.decode(text)
    assert decoded == table
    assert codec.encode_table(decoded) == text


def test_equal_tables_written_again_give_the_same_bytes(store_path: Path) -> None:
    rows = [
        record(f"q{i}", due="2025-03-03T08:00:00+00:00", body="Prép 😀\n", n=i) for i in range(3)
    ]
    first, second = store_path, store_path.with_name("other.json")
    for path in (first, second):
        with Store(path).transaction() as tx:
            tx.put_many("queue", [dict(r) for r in rows])
    assert table_lines(first)["queue"] == table_lines(second)["queue"]
    with Store(first).transaction() as tx:  # another table changes; the queue's text is kept
        tx.put("contacts", record("c1"))
    assert table_lines(first)["queue"] == table_lines(second)["queue"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_are_refused_on_every_way_in(store_path: Path, bad: float) -> None:
    store = Store(store_path)
    with pytest.raises(TypeError, match="plain JSON"), store.transaction() as tx:
        tx.put("contacts", record("c1", score=bad))
    # TinyDB's API skips put()'s check; the transaction's end checks what it changed.
    with pytest.raises(TypeError, match="plain JSON"), store.transaction() as tx:
        tx.table("contacts").insert(record("c2", score=bad))
    with pytest.raises(TypeError, match="plain JSON"), store.transaction() as tx:
        tx.put("contacts", record("c3"))
        tx.table("contacts").update({"score": bad})
    assert not store_path.exists()  # nothing was written


@pytest.mark.parametrize(
    "value",
    [datetime(2025, 1, 1, tzinfo=UTC), {1, 2}, b"bytes", {("tuple", "key"): 1}],
    ids=["datetime", "set", "bytes", "tuple-key"],
)
def test_values_that_are_not_json_are_refused_through_tinydb_too(
    store_path: Path, value: Any
) -> None:
    # orjson alone would write a datetime as text; the store refuses it as it always has.
    store = Store(store_path)
    with pytest.raises(TypeError, match="plain JSON"), store.transaction() as tx:
        tx.put("contacts", record("c1", value=value))
    with pytest.raises(TypeError, match="plain JSON"), store.transaction() as tx:
        tx.table("contacts").insert(record("c2", value=value))
    assert not store_path.exists()


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
@pytest.mark.parametrize("marked", [True, False], ids=["marked", "unmarked"])
def test_a_file_holding_nan_is_damaged_not_read(
    store_path: Path, literal: bytes, marked: bool
) -> None:
    # No MendCRM writes these (1e999 overflows to infinity); a file holding one was edited by
    # hand, and reading it as it is would later write null in its place.
    with Store(store_path).transaction() as tx:
        tx.put("sync_state", record("x", value=1))
    raw = store_path.read_bytes()
    text = b'{"x":{"id":"x","value":' + literal + b"}}"
    line = b'"sync_state":' + (codec.MARK if marked else b"") + text
    start = raw.index(b'"sync_state":')
    store_path.write_bytes(raw[:start] + line + raw[raw.index(b"\n", start) :])
    for only in (None, ("sync_state",)):
        with pytest.raises(StoreError, match="damaged"), Store(store_path).read(only=only):
            pass


def test_a_backup_holding_nan_is_not_restored(tmp_path: Path, store_path: Path) -> None:
    store = Store(store_path)
    with store.transaction() as tx:
        tx.put("contacts", record("c1", name="Ada"))
    backup = tmp_path / "backup.json"
    store.backup_to(backup)
    backup.write_text(backup.read_text().replace('"name": "Ada"', '"name": NaN'))
    with pytest.raises(StoreError, match="not a MendCRM backup"):
        store.restore_from(backup)
    with store.read() as view:
        assert view.get("contacts", "c1") == record("c1", name="Ada")


class Stage(StrEnum):
    STRAINED = "strained"


class Count(IntEnum):
    TWO = 2


class Share(float):
    pass


# What a record put in the store must become: exactly what ``json.loads(json.dumps(record))``
# gives (the store's copy has always been that round trip), worked out by hand from RFC 8259:
# arrays for tuples (§5), object names as strings (§4: ``1`` → "1", ``True`` → "true", ``None``
# → "null", ``1.5`` → "1.5"), the plain value of a subclass of str, int or float (an enum on
# str is written as its text, one on int as its number), and a later duplicate name after
# conversion keeping the first one's place with the last one's value.
PLAIN_COPIES = [
    ({"id": "q1", "tags": ("a", ("b", "c"))}, {"id": "q1", "tags": ["a", ["b", "c"]]}),
    (
        # (1 and True are one key to a Python dict, hence two objects)
        {"id": "q2", "n": {1: "one", None: "none", 1.5: "half"}, "b": {True: "y", False: "n"}},
        {
            "id": "q2",
            "n": {"1": "one", "null": "none", "1.5": "half"},
            "b": {"true": "y", "false": "n"},
        },
    ),
    (
        {"id": "q3", "stage": Stage.STRAINED, "count": Count.TWO, "share": Share(0.25)},
        {"id": "q3", "stage": "strained", "count": 2, "share": 0.25},
    ),
    ({"id": "q4", "k": {2: "int", "2": "str"}}, {"id": "q4", "k": {"2": "str"}}),
    ({"id": "q5", "x": [None, False, 0, -0.0, 2**70, "é😀"]},) * 2,
]


@pytest.mark.parametrize(
    ("given", "expected"), PLAIN_COPIES, ids=[r[1]["id"] for r in PLAIN_COPIES]
)
def test_a_put_record_is_stored_as_json_would_read_it_back(
    store_path: Path, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    copied, _ = codec.plain_copy(given)
    assert copied == expected
    assert [type(k) for k in copied] == [type(k) for k in expected]
    assert json.dumps(copied) == json.dumps(expected)  # same order, same types of numbers
    with Store(store_path).transaction() as tx:
        tx.put("queue", given)
    with Store(store_path).read() as view:
        assert json.dumps(view.get("queue", expected["id"])) == json.dumps(expected)


def test_a_put_record_shares_its_text_but_not_its_containers(store_path: Path) -> None:
    # A note's text is held by the model object that rendered it: the store's copy points at
    # the same string instead of a second one (strings cannot change), while every object and
    # array is the store's own, so changing the caller's record changes nothing stored.
    body = "# Before you meet Ada\n" * 100
    given = {"id": "q1", "body": body, "tags": ["a"], "nested": {"list": [1]}}
    copied, flagged = codec.plain_copy(given)
    assert copied["body"] is body
    assert copied["tags"] is not given["tags"] and copied["nested"] is not given["nested"]
    assert not flagged
    store = Store(store_path)
    with store.transaction() as tx:
        tx.put("queue", given)
        given["tags"].append("changed")
        given["nested"]["list"].append(2)
        assert tx.get("queue", "q1") == {
            "id": "q1", "body": body, "tags": ["a"], "nested": {"list": [1]}
        }  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, Share("-inf"), datetime(2025, 1, 1, tzinfo=UTC), {1, 2}, b"x", object()],
    ids=["nan", "inf", "float-subclass-inf", "datetime", "set", "bytes", "object"],
)
def test_a_value_json_would_refuse_is_refused_by_the_copy(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        json.dumps(value, allow_nan=False)  # the reference: JSON refuses it...
    with pytest.raises((TypeError, ValueError)):
        codec.plain_copy({"id": "r", "deep": [{"v": value}]})  # ...and so does the copy


def test_a_key_json_would_refuse_and_a_cycle_are_refused() -> None:
    with pytest.raises(TypeError, match="keys must be"):
        codec.plain_copy({("tuple", "key"): 1})
    with pytest.raises(ValueError):
        codec.plain_copy({math.nan: 1})  # a NaN name would be written as NaN, not JSON
    cycle: dict[str, Any] = {"id": "r"}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="refers to itself"):
        codec.plain_copy(cycle)


@pytest.mark.parametrize(
    "record",
    [
        {"id": "s1", "last_error": "x"},
        {"id": "s2", "calendars": [{"error": "x"}]},
        {"id": "s3", "deep": {"deeper": {"sync_error": "x"}}},
        {"id": "s4", "last_error": ["a list", "of texts"]},
    ],
)
def test_a_key_ending_in_error_at_any_depth_is_flagged(record: dict[str, Any]) -> None:
    # The store masks remembered secrets in error text (mendcrm.daemon.redaction) for exactly
    # the records whose JSON holds a name ending in "error" with something under it.
    assert codec.plain_copy(record)[1] is True
    assert codec.plain_copy({"id": "n", "note": 'an error": here', "errors": []})[1] is False


@pytest.mark.parametrize("blank", ["", None, [], {}])
def test_a_blank_error_value_is_not_flagged(blank: Any) -> None:
    # Nothing to mask: a queue item's empty last_error must not send every note's text through
    # the masking walk; a non-empty one next to it still does.
    assert codec.plain_copy({"id": "q", "last_error": blank, "body": "text"})[1] is False
    assert codec.plain_copy({"id": "q", "last_error": blank, "sync_error": "x"})[1] is True
