"""The loader reading a whole calendar in a worker thread (``MemberLoader.load_overlapped``):
what arrives is what a plain load gives, in order, and a failure on either side ends both,
raised in the caller, never a thread left waiting. Against the loopback quirky server."""

from __future__ import annotations

import threading

import pytest

from mendcrm.errors import SourceError
from mendcrm.sources.member_loader import Fetched, MemberLoader
from mendcrm.sources.transport import Transport
from tests.fixtures.quirky_dav import CALENDAR, QuirkyDav
from tests.sync.ics import event


def _calendar(server: QuirkyDav, count: int) -> dict[str, str]:
    for day in range(1, count + 1):
        start, end = f"202605{day:02}T100000Z", f"202605{day:02}T110000Z"
        server.put(f"e{day}.ics", event(f"e{day}", start, end), start, end)
    return {server.href(f"e{day}.ics"): "" for day in range(1, count + 1)}


def _transport(server: QuirkyDav) -> Transport:
    return Transport(server.url, where="quirky", timeout=10, sleep=lambda _: None)


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mendcrm-multiget"]


def test_objects_arrive_in_order_batch_by_batch(quirky_dav: QuirkyDav) -> None:
    wanted = _calendar(quirky_dav, 5)
    seen: list[str] = []
    t = _transport(quirky_dav)
    try:
        loader = MemberLoader(t, quirky_dav.url.rstrip("/") + CALENDAR, "quirky", batch=2)
        loaded = loader.load_overlapped(wanted, lambda f: seen.append(f.href))
    finally:
        t.close()
    # Five hrefs in batches of two: three multigets (2, 2, 1), every object handed over once,
    # in the order asked, none kept in the result.
    assert seen == list(wanted) and loaded.objects == [] and loaded.skipped == []
    assert [len(batch) for batch in quirky_dav.multigets()] == [2, 2, 1]
    assert _workers() == []


def test_a_failing_reader_stops_the_worker_and_is_raised(quirky_dav: QuirkyDav) -> None:
    wanted = _calendar(quirky_dav, 6)

    def read(fetched: Fetched) -> None:
        if fetched.href.endswith("e2.ics"):
            raise RuntimeError("reader broke")

    t = _transport(quirky_dav)
    try:
        loader = MemberLoader(t, quirky_dav.url.rstrip("/") + CALENDAR, "quirky", batch=2)
        with pytest.raises(RuntimeError, match="reader broke"):
            loader.load_overlapped(wanted, read)
    finally:
        t.close()
    assert _workers() == []  # joined, not left blocked on a full hand-over queue


def test_a_server_failing_mid_way_is_raised_in_the_caller(quirky_dav: QuirkyDav) -> None:
    wanted = _calendar(quirky_dav, 4)
    quirky_dav.multiget = "down"  # 502 to every multiget: the server's state, not one object
    t = _transport(quirky_dav)
    try:
        loader = MemberLoader(t, quirky_dav.url.rstrip("/") + CALENDAR, "quirky", batch=2)
        with pytest.raises(SourceError, match="502"):
            loader.load_overlapped(wanted, lambda _: None)
    finally:
        t.close()
    assert _workers() == []


@pytest.mark.parametrize(
    ("cap", "expected"),
    [
        # Objects of 150–400 octets: the first multiget asks for the usual 100 (the answer cap has
        # room for 100 of the largest objects allowed); a 64 MiB cap holds far more than 1,000
        # of the largest seen, so the rest (150) goes in one.
        (64 * 1024 * 1024, [100, 150]),
        # A 50 kB cap holds fewer than 84 of them with room to spare (4 × 150 × 84 > 50,000):
        # batches stay at the floor of 100.
        (50_000, [100, 100, 50]),
    ],
)
def test_batches_grow_only_while_the_answer_cap_holds_them(
    quirky_dav: QuirkyDav, cap: int, expected: list[int]
) -> None:
    wanted = {}
    for n in range(250):
        day = 1 + n % 28
        start, end = f"202605{day:02}T100000Z", f"202605{day:02}T110000Z"
        quirky_dav.put(f"n{n}.ics", event(f"n{n}", start, end), start, end)
        wanted[quirky_dav.href(f"n{n}.ics")] = ""
    t = Transport(quirky_dav.url, where="quirky", timeout=10, sleep=lambda _: None)
    t.max_response_bytes = cap
    try:
        loader = MemberLoader(t, quirky_dav.url.rstrip("/") + CALENDAR, "quirky", batch=1000)
        seen: list[str] = []
        loader.load_overlapped(wanted, lambda f: seen.append(f.href))
    finally:
        t.close()
    assert len(seen) == 250 and 150 < loader.largest < 400
    assert [len(batch) for batch in quirky_dav.multigets()] == expected
