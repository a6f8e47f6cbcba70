"""Record-level reads (mendcrm.store.records): a view of some tables that decodes only the
records a Keep may keep returns exactly what decoding the whole table and testing every record
returns; the tab before each record is the only tab in a table's text; damage is still refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mendcrm.errors import StoreError
from mendcrm.store import Store
from mendcrm.store.records import Keep, all_of, holds, pair, time_at_least, time_at_most
from mendcrm.store.storage import _split_tables

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def table_text(path: Path, name: str) -> bytes:
    [text] = [bytes(t) for n, t in _split_tables(path.read_bytes()) or [] if n == name]
    return text


def both_ways(
    path: Path, table: str, keep: Keep, *, by_record: bool = True
) -> tuple[list[Any], list[Any]]:
    """Return (what a view of that table alone gives, what the whole view gives) for a Keep."""
    with Store(path).read(only=(table,)) as view:
        some = view.decode(table, lambda r: r, keep)
        if by_record:
            assert table not in view._tables  # the record path was taken, not a whole decode
    with Store(path).read() as view:
        whole = view.decode(table, lambda r: json.loads(json.dumps(r)), keep)
    return some, whole


def put(path: Path, table: str, records: list[dict[str, Any]]) -> None:
    with Store(path).transaction() as tx:
        tx.put_many(table, records)


def test_each_record_follows_a_tab_and_no_other_tab_is_in_the_text(store_path: Path) -> None:
    # A tab, a quote, a backslash and a newline inside values (orjson escapes each of them) and
    # non-ASCII text: still one tab per record, and stock JSON reads the text.
    records = [
        {"id": "a", "note": 'tab\there "q" back\\slash\nline', "n": {"id": "a", "x": [1]}},
        {"id": "b", "note": "Zoë 日本 😀"},
        {"id": "c"},
    ]
    put(store_path, "queue", records)
    text = table_text(store_path, "queue")
    assert text.count(b"\t") == 3
    assert text.startswith(b' {\t"a":{') and b'},\t"b":{' in text and b'},\t"c":{' in text
    assert json.loads(text) == {r["id"]: r for r in records}


def test_records_by_id_are_found_without_decoding_the_others(store_path: Path) -> None:
    put(store_path, "contacts", [{"id": f"c{i}", "name": f"N{i}"} for i in range(50)])
    wanted = {"c7", "c3", "c49", "gone"}
    keep = Keep(lambda r: r["id"] in wanted, ids=wanted)
    some, whole = both_ways(store_path, "contacts", keep)
    # Stored order (c3 before c7), and an id that is not stored is simply absent.
    assert [r["id"] for r in some] == ["c3", "c7", "c49"]
    assert some == whole
    with Store(store_path).read(only=("contacts",)) as view:
        assert view.get("contacts", "c12") == {"id": "c12", "name": "N12"}
        assert view.get("contacts", "c50") is None


def test_time_tests_compare_as_the_record_test_does_at_the_edges(store_path: Path) -> None:
    # Times as MendCRM writes them (UTC, "+00:00", microseconds only when not zero), and as a
    # hand or another tool may: another offset (13:00+01:00 is 12:00 UTC), naive (read as UTC).
    times = {
        "equal": "2026-03-01T12:00:00+00:00",
        "second-before": "2026-03-01T11:59:59+00:00",
        "micro-after": "2026-03-01T12:00:00.000001+00:00",
        "micro-before": "2026-03-01T11:59:59.999999+00:00",
        "offset-equal": "2026-03-01T13:00:00+01:00",
        "offset-after": "2026-03-01T13:00:01+01:00",
        "naive-before": "2026-03-01T11:00:00",
        "not-a-time": "soon",
    }
    put(store_path, "queue", [{"id": k, "due": v} for k, v in times.items()])

    def due(r: dict[str, Any]) -> datetime | None:
        try:
            value = datetime.fromisoformat(r["due"])
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    # At most T0: the equal ones (12:00 UTC however written) and the earlier ones.
    at_most = Keep(lambda r: (d := due(r)) is not None and d <= T0, text=time_at_most("due", T0))
    some, whole = both_ways(store_path, "queue", at_most)
    assert [r["id"] for r in some] == [
        "equal", "second-before", "micro-before", "offset-equal", "naive-before"
    ]  # fmt: skip
    assert some == whole
    # At least a limit with microseconds (12:00:00.000001): "12:00:00" alone is before it.
    limit = T0 + timedelta(microseconds=1)
    at_least = Keep(
        lambda r: (d := due(r)) is not None and d >= limit, text=time_at_least("due", limit)
    )
    some, whole = both_ways(store_path, "queue", at_least)
    assert [r["id"] for r in some] == ["micro-after", "offset-after"]
    assert some == whole


def test_holds_finds_values_orjson_escapes_and_values_at_any_depth(store_path: Path) -> None:
    # orjson writes a quote, a backslash and a tab in a string escaped ("q\\"uote"), and "é" as
    # UTF-8: the text test must keep a record holding any of them, and the record test decides.
    kinds = ['q"uote', "back\\slash", "tab\there", "é"]
    records = [{"id": f"r{i}", "kind": k} for i, k in enumerate(kinds)]
    records += [
        {"id": "other", "kind": "prep"},
        {"id": "deep", "kind": "nudge", "inner": {"kind": "é"}},  # "é" only nested: kept by
        {"id": "none"},  # the text test, refused by the record test; no kind: refused by both
    ]
    put(store_path, "queue", records)
    keep = Keep(lambda r: r.get("kind") in kinds, text=holds("kind", kinds))
    some, whole = both_ways(store_path, "queue", keep)
    assert [r["id"] for r in some] == ["r0", "r1", "r2", "r3"]
    assert some == whole
    needles = Keep(lambda r: r.get("kind") in kinds, needles=[pair("kind", k) for k in kinds])
    assert both_ways(store_path, "queue", needles) == (some, whole)


def test_a_time_test_keeps_a_record_without_the_field_for_the_record_test(
    store_path: Path,
) -> None:
    # The record test raises for a record without "due" (as repository tests do): the text test
    # must hand it over rather than hide it.
    put(store_path, "queue", [{"id": "q1", "due": "2026-03-01T10:00:00+00:00"}, {"id": "q2"}])
    keep = Keep(lambda r: datetime.fromisoformat(r["due"]) <= T0, text=time_at_most("due", T0))
    with Store(store_path).read(only=("queue",)) as view, pytest.raises(KeyError, match="due"):
        view.decode("queue", lambda r: r, keep)


def test_a_damaged_record_is_refused_when_decoded(store_path: Path) -> None:
    put(store_path, "queue", [{"id": f"q{i}", "kind": "prep", "n": i} for i in range(3)])
    raw = store_path.read_bytes()
    store_path.write_bytes(raw.replace(b'"n":1}', b'"n":1,}'))  # a trailing comma: not JSON
    with Store(store_path).read(only=("queue",)) as view:
        # Records that do not include the damaged one decode; the damaged one is refused with
        # the file's damage error, as a whole read refuses the file.
        assert view.get("queue", "q2") == {"id": "q2", "kind": "prep", "n": 2}
        with pytest.raises(StoreError, match="damaged"):
            view.get("queue", "q1")
        with pytest.raises(StoreError, match="damaged"):
            view.decode("queue", lambda r: r, Keep(lambda r: True, needles=[pair("kind", "prep")]))
    with pytest.raises(StoreError, match="damaged"), Store(store_path).read():
        pass


def test_a_table_in_the_older_layout_is_read_whole_and_rewritten_with_tabs(
    store_path: Path,
) -> None:
    put(store_path, "queue", [{"id": "q1", "kind": "prep"}, {"id": "q2", "kind": "nudge"}])
    raw = store_path.read_bytes()
    store_path.write_bytes(raw.replace(b"\t", b""))  # what the previous version wrote
    keep = Keep(lambda r: r["kind"] == "prep", needles=[pair("kind", "prep")])
    with Store(store_path).read(only=("queue",)) as view:
        assert view.decode("queue", lambda r: r, keep) == [{"id": "q1", "kind": "prep"}]
        assert "queue" in view._tables  # decoded whole: no index in that layout
    put(store_path, "contacts", [{"id": "c1"}])  # any commit writes every table anew
    assert table_text(store_path, "queue").count(b"\t") == 2


# -- the property: a record-level read equals a whole read, whatever the records hold -----------

WORDS = ["prep", "nudge", 'q"uote', "back\\slash", "tab\t", "é", ""]
TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2026, 6, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))]
        ),
    ).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 1)).map(
        lambda d: d.isoformat()  # naive
    ),
    st.sampled_from(["soon", "", "2026-13-01T00:00:00+00:00"]),
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(WORDS),
        "due": TIMES,
        "end": TIMES,
        "nested": st.fixed_dictionaries(
            {}, optional={"kind": st.sampled_from(WORDS), "due": TIMES}
        ),
        "n": st.integers(),
    },
)
IDS = st.one_of(st.sampled_from([f"r{i}" for i in range(12)]), st.sampled_from(WORDS[1:5]))


def _as_time(text: Any) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.dictionaries(IDS, RECORD, max_size=10),
    kinds=st.sets(st.sampled_from(WORDS), max_size=3),
    ids=st.none() | st.sets(IDS, max_size=5),
    limit=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)
    ),
    which=st.sampled_from(["needles", "holds", "at_most", "at_least", "both"]),
)
def test_a_record_level_read_equals_a_whole_read(
    tmp_path_factory: pytest.TempPathFactory,
    records: dict[str, dict[str, Any]],
    kinds: set[str],
    ids: set[str] | None,
    limit: datetime,
    which: str,
) -> None:
    path = tmp_path_factory.mktemp("records") / "store.json"
    put(path, "queue", [{"id": key, **record} for key, record in records.items()])
    put(path, "contacts", [{"id": "c1"}])  # the queue may be empty: the file still exists

    def kind_in(r: dict[str, Any]) -> bool:
        return r.get("kind") in kinds

    def due_by(r: dict[str, Any]) -> bool:
        value = _as_time(r.get("due"))
        return value is not None and value <= limit

    def ends_after(r: dict[str, Any]) -> bool:
        value = _as_time(r.get("end"))
        return value is not None and value >= limit

    tests = {
        "needles": (kind_in, {"needles": [pair("kind", k) for k in kinds]}),
        "holds": (kind_in, {"text": holds("kind", kinds)}),
        "at_most": (due_by, {"text": time_at_most("due", limit)}),
        "at_least": (ends_after, {"text": time_at_least("end", limit)}),
        "both": (
            lambda r: due_by(r) and ends_after(r),
            {"text": all_of(time_at_most("due", limit), time_at_least("end", limit))},
        ),
    }
    test, hints = tests[which]
    wanted = ids

    def keep(r: dict[str, Any]) -> bool:
        return (wanted is None or r["id"] in wanted) and test(r)

    # Keys with a quote, a backslash or a tab need an escape: such a table is decoded whole.
    some, whole = both_ways(path, "queue", Keep(keep, ids=ids, **hints), by_record=False)  # type: ignore[arg-type]
    assert some == whole
    assert [r["id"] for r in some] == [k for k, r in records.items() if keep({"id": k, **r})]
