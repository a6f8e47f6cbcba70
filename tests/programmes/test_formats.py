"""Each programme format, read from a local file and served over loopback http.

The pretalx exports are real (``make fixtures``, version in ``pretalx/VERSION``); the others are
written from the formats' documented schemas (``documented/README.md``). Expected values are
worked out from what each document says, as the comments show, not from what the code printed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mendcrm.config.model import ProgrammeConfig
from mendcrm.programmes.fetch import fetch_programme, stored_programme
from mendcrm.programmes.formats import ProgrammeError, read_programme
from mendcrm.programmes.model import Programme, Speaker
from tests.fixtures.servers import FeedServer

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "programmes"
PRETALX = HERE / "pretalx"
DOCUMENTED = HERE / "documented"
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _read(path: Path, fmt: str = "auto", zone: str = "") -> Programme:
    return read_programme(path.read_bytes(), fmt, where="programme 'p'", title="p", zone=zone)


def _over_http(server: FeedServer, path: Path, fmt: str = "auto", zone: str = "") -> Programme:
    url = server.publish(path.name, path.read_bytes())
    config = ProgrammeConfig(name="p", url=url, format=fmt, timezone=zone)
    fetched = fetch_programme(config, None, now=NOW, timeout=5, force=True)
    programme = stored_programme(fetched.document)
    assert programme is not None
    return programme


def _both(server: FeedServer, path: Path, fmt: str = "auto", zone: str = "") -> Programme:
    """Read the document as a local file (through the fetcher, as a ``path`` programme) and
    over loopback http; both must give the same programme."""
    local = stored_programme(
        fetch_programme(
            ProgrammeConfig(name="p", path=path, format=fmt, timezone=zone),
            None,
            now=NOW,
            timeout=5,
            force=True,
        ).document
    )
    served = _over_http(server, path, fmt, zone)
    assert local == served
    assert local is not None
    return local


# pretalx exports v1 (``make fixtures``): Europe/Lisbon is UTC+0 in March before the last
# Sunday (28 March 2027), so the local 10:00 of "date": "2027-03-11T10:00:00+00:00" is 10:00
# UTC; "duration": "00:30" ends it at 10:30.
V1_SESSIONS = [
    ("Cost allocation that engineers trust", _utc(2027, 3, 11, 10), _utc(2027, 3, 11, 10, 30),
     "Auditorium", ("Robert Hale",)),
    ("Unit economics for platforms", _utc(2027, 3, 11, 11), _utc(2027, 3, 11, 11, 30),
     "Room 2", ("Kwame Osei-Bonsu",)),
    ("Forecasting cloud spend", _utc(2027, 3, 12, 9, 30), _utc(2027, 3, 12, 10, 15),
     "Auditorium", ("Roberta Hale", "Ana Lima")),
    ("Panel: the next ten years of FinOps", _utc(2027, 3, 12, 16), _utc(2027, 3, 12, 17),
     "Auditorium", ("Robert Hale", "Ana Lima")),
]  # fmt: skip


@pytest.mark.parametrize("name", ["schedule.json", "schedule.xml", "schedule.ics"])
def test_pretalx_exports_read_as_released(feed_server: FeedServer, name: str) -> None:
    programme = _both(feed_server, PRETALX / "v1" / name)
    got = [
        (s.title, s.start, s.end, s.room, tuple(p.name for p in s.speakers))
        for s in programme.sessions
    ]
    assert got == V1_SESSIONS
    # The conference's own dates ("start"/"end" in JSON and XML); the .ics has none, so its
    # first and last session's days, which are the same here.
    assert (programme.first_day, programme.last_day) == (date(2027, 3, 11), date(2027, 3, 12))
    if name != "schedule.ics":
        assert (programme.title, programme.acronym) == ("FinOps Summit 2027", "finops-2027")
    assert programme.sessions[0].abstract.startswith("Why showback fails")


@pytest.mark.parametrize("name", ["schedule.json", "schedule.xml", "schedule.ics"])
def test_a_talk_moved_in_v2_keeps_its_id(name: str) -> None:
    # v2 moves "Cost allocation…" to the second day, 14:00 local (= UTC), Room 2.
    before = {s.title: s for s in _read(PRETALX / "v1" / name).sessions}
    after = {s.title: s for s in _read(PRETALX / "v2" / name).sessions}
    old, new = (
        before["Cost allocation that engineers trust"],
        after["Cost allocation that engineers trust"],
    )
    assert new.id == old.id
    assert (new.start, new.end, new.room) == (
        _utc(2027, 3, 12, 14),
        _utc(2027, 3, 12, 14, 30),
        "Room 2",
    )
    assert {s.id for s in before.values()} == {s.id for s in after.values()}


def test_json_and_xml_give_the_same_ids() -> None:
    # Both carry the talk's guid (JSON "guid", XML <event guid=…>).
    json_ids = [s.id for s in _read(PRETALX / "v1" / "schedule.json").sessions]
    xml_ids = [s.id for s in _read(PRETALX / "v1" / "schedule.xml").sessions]
    assert json_ids == xml_ids and all(len(i) == 36 for i in json_ids)


def test_older_exports_name_persons_by_public_name() -> None:
    doc = (PRETALX / "v1" / "schedule.json").read_text(encoding="utf-8")
    older = doc.replace('"name": "Robert Hale", ', "")  # public_name alone, as before 2023
    programme = read_programme(older.encode(), "pretalx", where="p", title="p", zone="")
    assert programme.sessions[0].speakers == (Speaker("Robert Hale"),)


def test_sessionize_all_view(feed_server: FeedServer) -> None:
    # startsAt "2027-07-08T10:00:00" has no offset; in Europe/Lisbon (UTC+1 in July, WEST) it
    # is 09:00 UTC. The coffee break is a service session: left out. Speakers are joined by id.
    programme = _both(feed_server, DOCUMENTED / "sessionize-all.json", zone="Europe/Lisbon")
    got = [(s.id, s.start, s.end, s.room, s.speakers) for s in programme.sessions]
    assert got == [
        ("512345", _utc(2027, 7, 8, 9), _utc(2027, 7, 8, 9, 45), "Main Hall",
         (Speaker("Robert Hale"),)),
        ("512346", _utc(2027, 7, 9, 13), _utc(2027, 7, 9, 13, 45), "Room B",
         (Speaker("Roberta Hale"), Speaker("Robert Hale"))),
    ]  # fmt: skip
    assert programme.title == "p"  # the export has no title: the programme's name


def test_sessionize_without_a_timezone_is_one_clear_error() -> None:
    with pytest.raises(ProgrammeError, match="no UTC offset and no timezone is configured"):
        _read(DOCUMENTED / "sessionize-all.json")


def test_indico_contributions_in_the_servers_zone(feed_server: FeedServer) -> None:
    # Times carry "tz": "Europe/Zurich" (the server's), not the event's Europe/Lisbon: 11:00 in
    # Zurich in September (CEST, UTC+2) is 09:00 UTC. The unscheduled contribution is left out.
    programme = _both(feed_server, DOCUMENTED / "indico-contributions.json")
    got = [(s.id, s.start, s.end, s.room, s.speakers) for s in programme.sessions]
    assert got == [
        ("17", _utc(2027, 9, 14, 9), _utc(2027, 9, 14, 9, 30), "Auditorium A",
         (Speaker("Robert Hale", "Acme Cloud"),)),
        ("19", _utc(2027, 9, 15, 12), _utc(2027, 9, 15, 12, 20), "Room 3",
         (Speaker("Kwame Osei", "Globex"),)),
    ]  # fmt: skip
    assert programme.title == "Cloud Economics Workshop 2027"
    assert (programme.first_day, programme.last_day) == (date(2027, 9, 14), date(2027, 9, 15))


def test_sched_ics_speakers_from_the_description(feed_server: FeedServer) -> None:
    # "Speakers: Robert Hale (Acme Cloud), Ana Lima (Initech)" is folded inside "Robert"
    # (RFC 5545 §3.1: CRLF + space is removed) and its comma escaped (§3.3.11).
    programme = _both(feed_server, DOCUMENTED / "sched-all.ics")
    first, lunch = programme.sessions
    assert first.id == "a1b2c3d4e5f6.sched.com" and first.title == "Budgets as code"
    assert first.speakers == (Speaker("Robert Hale", "Acme Cloud"), Speaker("Ana Lima", "Initech"))
    assert first.abstract == "How we moved budget alerts into the pipeline."
    assert (first.start, first.room) == (_utc(2027, 10, 5, 9), "Main Stage")
    assert lunch.speakers == () and programme.title == "DevOpsDays Lisbon 2027"
    assert programme.has_speakers


def test_ics_without_speaker_data_says_so() -> None:
    # "Opening - welcome and logistics": the tail after " - " is not a list of names.
    programme = _read(DOCUMENTED / "no-speakers.ics")
    assert programme.sessions[0].title == "Opening - welcome and logistics"
    assert not programme.has_speakers


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE schedule [<!ENTITY a "aaaa">]>'
            b"<schedule>&a;</schedule>",
            "declares a DTD or an entity",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE schedule SYSTEM "http://127.0.0.1:9/x.dtd"><schedule/>',
            "declares a DTD or an entity",
        ),
        (b"<schedule><conference>", "not well-formed XML"),
        (b"[" * 100 + b"]" * 100, "nests deeper than 64"),
        (b'{"schedule": 1', "not a JSON document"),
        (b'{"schedule": {}}', "no schedule.conference"),
        (b"hello", "cannot tell the programme's format"),
    ],
)
def test_bad_documents_are_one_line_naming_the_programme(body: bytes, message: str) -> None:
    fmt = "pretalx" if body.startswith((b"<", b"[", b"{")) else "auto"
    with pytest.raises(ProgrammeError) as caught:
        read_programme(body, fmt, where="programme 'finops'", title="p", zone="")
    assert message in str(caught.value)
    assert str(caught.value).startswith("programme 'finops': ") and "\n" not in str(caught.value)


@pytest.mark.parametrize("duration", ['"twenty"', "1e300", "-5"])
def test_indico_bad_duration_is_one_line(duration: str) -> None:
    # Without an endDate the end is startDate + duration minutes; these are no length at all.
    doc = json.loads((DOCUMENTED / "indico-contributions.json").read_text(encoding="utf-8"))
    contribution = doc["results"][0]["contributions"][0]
    contribution["endDate"] = None
    contribution["duration"] = json.loads(duration)
    with pytest.raises(ProgrammeError) as caught:
        read_programme(
            json.dumps(doc).encode(), "indico", where="programme 'cew'", title="p", zone=""
        )
    assert str(caught.value).startswith(
        "programme 'cew': contribution 'Allocating shared Kubernetes costs': duration"
    )
