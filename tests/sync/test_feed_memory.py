"""A feed's memory grows with its size, not with its header times its events (issue 12, item 5).

A published feed writes its VTIMEZONEs once, before all its events. Cutting it by UID used to
copy every zone into every event up front: a 5 MB feed with hundreds of zones and thousands of
events needed gigabytes. Each event now carries only the zones its lines name by TZID (RFC 5545
§3.2.19), and its octets are built only when it is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from mendcrm.config.model import FeedConfig
from mendcrm.sources.feeds import line_tzids, split_feed
from tests.sync.helpers import NOW, Syncer, make_config
from tests.sync.ics import calendar, vevent

ROOT = Path(__file__).resolve().parents[2]


def zone(tzid: str, offset: str, history: int = 0) -> str:
    """A VTIMEZONE with one fixed ``offset`` (``+HHMM``), padded with ``history`` older
    STANDARD blocks of the same offset, as full zone histories are."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    for year in [1970, *range(1900, 1900 + 7 * history, 7)]:
        lines += [
            "BEGIN:STANDARD",
            f"DTSTART:{year}0101T000000",
            f"TZOFFSETFROM:{offset}",
            f"TZOFFSETTO:{offset}",
            f"TZNAME:{tzid[:3]}{year}",
            "END:STANDARD",
        ]
    return "\r\n".join([*lines, "END:VTIMEZONE"]) + "\r\n"


def zoned(uid: str, tzid: str, day: str, *, extra: tuple[str, ...] = ()) -> str:
    return vevent(
        uid, f"DTSTART;TZID={tzid}:{day}T100000", f"DTEND;TZID={tzid}:{day}T110000", extra=extra
    )


def test_tzid_parameters_are_found_in_the_parameters_only() -> None:
    assert line_tzids(b"DTSTART;TZID=Office A:20260505T100000") == [b"Office A"]
    # A quoted value may hold a colon (RFC 5545 §3.1 param-value); parameter names ignore case.
    assert line_tzids(b'DTSTART;tzid="Zone: East";VALUE=DATE-TIME:20260505T100000') == [
        b"Zone: East"
    ]
    assert line_tzids(b"EXDATE;X-A=1;TZID=/a/b:20260505T100000,20260506T100000") == [b"/a/b"]
    # ";TZID=" inside a value (after the first unquoted colon) is text, not a parameter.
    assert line_tzids(b"DESCRIPTION:see ;TZID=Office A: nothing") == []
    assert line_tzids(b"SUMMARY:no zone here") == []


def test_each_event_carries_only_the_zones_it_names_and_the_calendar_properties() -> None:
    text = calendar(
        zone("Office A", "+0100"),
        zone("Office B", "+0300"),
        zone("Unused", "+0500"),
        zoned("a", "Office A", "20260505"),
        # A series: the master names no zone, its override does; the series needs it.
        vevent("s", "20260505T100000Z", None, extra=["RRULE:FREQ=DAILY;COUNT=3"]),
        vevent(
            "s",
            "DTSTART;TZID=Office B:20260506T140000",
            None,
            extra=["RECURRENCE-ID:20260506T100000Z"],
        ),
        vevent("u", "20260505T100000Z", "20260505T110000Z"),
        # A zone named only by EXDATE still decides which instance is excluded.
        vevent(
            "x",
            "20260505T100000Z",
            None,
            extra=["RRULE:FREQ=DAILY;COUNT=3", "EXDATE;TZID=Office A:20260506T110000"],
        ),
        head=["X-WR-CALNAME:Team"],
    )
    events = {e.key: e for e in split_feed(text.encode()) or []}
    expected = {"a": [b"Office A"], "s": [b"Office B"], "u": [], "x": [b"Office A"]}
    assert {key: list(event.tzids) for key, event in events.items()} == expected
    for key, names in expected.items():
        data = events[key].data
        assert b"X-WR-CALNAME:Team" in data and data.startswith(b"BEGIN:VCALENDAR\r\n")
        assert data.count(b"BEGIN:VTIMEZONE") == len(names)
        assert b"TZID:Unused" not in data
    # The header is held once for the feed, not once per event.
    assert len({id(e.header) for e in events.values()}) == 1


def test_times_in_custom_zones_are_read_through_the_feed(tmp_path: Path) -> None:
    path = tmp_path / "offices.ics"
    path.write_text(
        calendar(
            zone("Office A", "+0530", history=3),
            zone("Office B", "-0345"),
            zoned("a", "Office A", "20260505"),
            zoned("b", "Office B", "20260506"),
        )
    )
    result = Syncer(make_config(feeds=(FeedConfig(name="offices", path=path),)))()
    starts = {o.uid: o.start.strftime("%Y%m%dT%H%M") for o in result.occurrences}
    # 10:00 at +05:30 is 04:30 UTC; 10:00 at -03:45 is 13:45 UTC (RFC 5545 §3.3.14: UTC =
    # local time − offset). Neither name is an IANA zone, so only the VTIMEZONE gives these.
    assert starts == {"a": "20260505T0430", "b": "20260506T1345"}


def test_a_changed_zone_rereads_exactly_the_events_that_use_it(tmp_path: Path) -> None:
    def feed(offset_a: str) -> str:
        return calendar(
            zone("Office A", offset_a),
            zone("Office B", "+0300"),
            zoned("a1", "Office A", "20260505"),
            zoned("a2", "Office A", "20260506"),
            zoned("b1", "Office B", "20260507"),
            vevent("u", "20260508T100000Z", "20260508T110000Z"),
        )

    path = tmp_path / "offices.ics"
    path.write_text(feed("+0100"))
    sync = Syncer(make_config(feeds=(FeedConfig(name="offices", path=path),)))
    first = sync()
    assert first.reports[0].fetched == 4
    hours = {o.uid: o.start.hour for o in first.occurrences}
    assert hours == {"a1": 9, "a2": 9, "b1": 7, "u": 10}  # 10:00 − 1 h, 10:00 − 3 h, UTC

    path.write_text(feed("+0200"))
    os.utime(path, ns=(1, 2))
    again = sync(NOW + timedelta(minutes=5))
    # Only a1 and a2 name Office A: two events read again, b1 and u untouched.
    assert again.reports[0].fetched == 2
    assert {o.uid: o.start.hour for o in again.occurrences} == {"a1": 8, "a2": 8, "b1": 7, "u": 10}


# -- the memory bound ------------------------------------------------------------------------

ZONES = 400
EVENTS = 4400
LIVE = 1000
"""Events inside the sync horizon (read); the rest are in 2019 and skipped unread."""

ADDRESS_SPACE_LIMIT = 256 * 1024 * 1024
"""RLIMIT_AS for the child reading the feed: 256 MiB of address space.

Measured on the CI machine class: the interpreter with MendCRM and its libraries imported peaks
at about 80 MiB of address space after reading this feed (~84 MiB VmPeak); the feed itself is
held a few times over while it is cut (raw, unfolded, its lines, the events' own octets: about
5 × 5 MB), so 256 MiB leaves room without hiding a regression. Copying the header into every
event needs 4,400 × ~600 KB ≈ 2.6 GB: before this change the same child ended in MemoryError
even at 400 MB."""

CHILD = """
import json, resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from pathlib import Path
from mendcrm.config.model import FeedConfig
from tests.sync.helpers import Syncer, make_config
result = Syncer(make_config(feeds=(FeedConfig(name="big", path=Path(sys.argv[1])),)))()
report = result.reports[0]
starts = sorted({o.start.strftime("%H%M") for o in result.occurrences})
print(json.dumps({"error": report.error, "fetched": report.fetched,
                  "occurrences": len(result.occurrences), "starts": starts}))
"""


def big_feed() -> bytes:
    """About 5 MB: 400 zones of ~1.5 KB (600 KB of header), 4,400 events of ~1 KB."""
    parts = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//MendCRM tests//EN\r\n"]
    for k in range(ZONES):
        hours = k % 25 - 12
        parts.append(zone(f"Zone {k}", f"{'+' if hours >= 0 else '-'}{abs(hours):02d}00", 8))
    folded = "DESCRIPTION:" + "\r\n ".join(["x" * 70] * 12)
    for i in range(EVENTS):
        day = f"{2026 if i < LIVE else 2019}05{2 + i % 20:02d}"
        parts.append(zoned(f"e{i}", f"Zone {i % ZONES}", day, extra=(folded,)))
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode()


def test_a_5_mb_feed_with_a_large_header_is_read_within_a_fixed_address_space(
    tmp_path: Path,
) -> None:
    body = big_feed()
    assert 4_500_000 < len(body) < 5_500_000
    path = tmp_path / "big.ics"
    path.write_bytes(body)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(ADDRESS_SPACE_LIMIT)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["error"] in (None, ""), outcome["error"]
    assert (outcome["fetched"], outcome["occurrences"]) == (LIVE, LIVE)
    # 10:00 in Zone k (offset k % 25 − 12 hours) is 10:00 − offset UTC: all 24 hours of the
    # day appear (offsets −12 and +12 both land on 22:00 of different days).
    assert outcome["starts"] == [f"{h:02d}00" for h in range(24)]
