"""Every file of the shared iCalendar corpus goes through the reader without an exception."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mendcrm.events import ReadContext, Span, read_object

CORPUS = Path(
    os.environ.get("MENDCRM_CORPUS")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "icalendar-tests"
)
FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []

EXPECTED: dict[str, tuple[int, str | tuple[str, ...] | None]] = {
    # file: (occurrences in 1970-2040, a fragment of the one warning expected — or a tuple of
    # fragments, one per warning, in document order — or None for none).
    # Worked out by reading each file (RFC 5545 references where it decides).
    # No VEVENT at all: nothing to read, nothing wrong with it.
    "empty.ics": (0, None),
    "bom_calendar.ics": (0, None),  # a UTF-8 BOM before BEGIN:VCALENDAR is dropped
    "issue_1050_empty_calendar.ics": (0, None),
    "time.ics": (0, None),  # one X- property of VALUE=TIME, no component
    "calendar_with_unicode.ics": (0, None),  # calendar properties in UTF-8, no component
    # One event each, in the span, nothing wrong: TZID=America/New_York is an IANA name;
    # EXDATE without a rule excludes nothing that exists (§3.8.5.1); escaped commas in
    # CATEGORIES are text (§3.3.11).
    "issue_1081_tzid_param.ics": (1, None),
    "issue_1081_list_of_properties.ics": (1, None),
    "issue_127_categories_with_commas.ics": (1, None),
    # DAILY;COUNT=10 from 2025-01-01T10:00Z: ten instances, all in the span (§3.3.10).
    "issue_1081_event_with_rrule.ics": (10, None),
    # One DATE-TIME DTSTART, no DTEND: an instant on 2025-01-01 (§3.6.1).
    "issue_1050_simple_calendar.ics": (1, None),
    # A lone RECURRENCE-ID component (its master missing) is still the one instance it names.
    "issue_1231_recurrence.ics": (1, None),
    # TZID=CUSTOM_tzid with no VTIMEZONE (§3.2.19 requires one): read in the user's zone, said.
    "issue_722_missing_VTIMEZONE_custom.ics": (1, "unknown TZID 'CUSTOM_tzid'"),
    # No DTSTART (§3.6.1 requires one without a METHOD): nothing to place in time.
    "issue_1081_with_summary.ics": (0, "event has no DTSTART"),
    # DTSTART:INVALID-DATE is no DATE or DATE-TIME (§3.3.4, §3.3.5).
    "broken_dtstart.ics": (0, "DTSTART"),
    "issue_1081_invalid_start_and_end.ics": (0, "DTSTART"),
    "issue_1081_invalid_start_valid_end.ics": (0, "DTSTART"),  # a sound DTEND cannot stand in
    # FREQ=INVALID_TYPE_CAUSES_ERROR is none of the seven FREQ values (§3.3.10).
    "issue_1081_invalid_rrule_freq.ics": (0, "INVALID_TYPE_CAUSES_ERROR"),
    # -- More files with no VEVENT: free/busy, availability, zones and calendar properties are
    # not events (RFC 5545 §3.6.4, RFC 7953, §3.6.5, RFC 7986 §5), so nothing is read or said.
    "issue_1238.ics": (0, None),  # one X- property of VALUE=PERIOD
    "rfc_7265_example_1.ics": (0, None),  # one X- property; no line break after END (§3.1)
    "rfc_7986_properties.ics": (0, None),
    "issue_1633_freebusy_with_dates.ics": (0, None),
    "issue_1081_freebusy_comma_separated.ics": (0, None),
    "issue_798_freebusy.ics": (0, None),
    "issue_27_multiple_periods_in_freebusy_one_freebusy.ics": (0, None),
    "issue_27_multiple_periods_in_freebusy_multiple_freebusies.ics": (0, None),
    "rfc_7953_3.ics": (0, None),  # VAVAILABILITY/AVAILABLE (RFC 7953 §3.1), not VEVENTs
    "issue_1050_timezone_only_calendar.ics": (0, None),
    # An unused VTIMEZONE with an impossible offset (+5744, §3.3.14 wants hours 00-23): no
    # event is placed with it, so nothing is wrong with what is read.
    "parsing_error_in_UTC_offset.ics": (0, None),
    # Unknown components, alone or inside VCALENDAR, are ignored (§3.6: iana-comp/x-comp).
    "issue_178_component_with_invalid_name_represented.ics": (0, None),
    "issue_178_custom_component_inside_other.ics": (0, None),
    # ... but a VEVENT inside one is not a calendar's event (§3.4, §3.6): dropped, and said.
    "issue_178_custom_component_contains_other.ics": (0, "not a VCALENDAR"),
    # Not iCalendar at all (jCal is RFC 7265's JSON; a licence text): no content line
    # (§3.1), so the reader says so instead of passing silently — a jCal event would
    # otherwise vanish.
    "rfc_7265_example_2.jcal": (0, "not valid iCalendar"),
    "rfc_7265_example_3.jcal": (0, "not valid iCalendar"),
    "issue_1237_x_property.jcal": (0, "not valid iCalendar"),
    "rfc_7265_appendix_example_1_jcal.jcal": (0, "not valid iCalendar"),
    "rfc_7265_appendix_example_2_jcal.jcal": (0, "not valid iCalendar"),
    "LICENSE.rst": (0, "not valid iCalendar"),
    # A component whose END never comes (§3.4, §3.6: BEGIN ... END): the object is cut off.
    # icalendar drops the unclosed component with all it holds, so the reader must say so.
    "fuzz_testcase_0_char_in_component_name.ics": (0, "never closed"),  # "BeGIN:" + NUL
    "fuzz_testcase_invalid_month.ics": (0, "never closed"),  # BEGIN:V, then one broken RRULE
    "small_bad_calendar.ics": (0, "BEGIN:VCALENDAR is never closed"),  # one empty VEVENT
    "pr_480_summary_with_colon.ics": (0, "BEGIN:VCALENDAR is never closed"),  # two, no DTSTART
    "big_bad_calendar.ics": (0, "BEGIN:VCALENDAR is never closed"),  # twenty empty VEVENTs
    # One VEVENT with no DTSTART and no METHOD (§3.6.1): nothing to place in time.
    "issue_82_expected_output.ics": (0, "event has no DTSTART"),  # a bare VEVENT, ATTACH only
    "issue_322_expected_calendar.ics": (0, "event has no DTSTART"),
    "rfc_6868.ics": (0, "event has no DTSTART"),  # its ^' escapes are RFC 6868 §3, not faults
    "rfc_9253_related_to.ics": (0, "event has no DTSTART"),
    "rfc_7986_conferences.ics": (0, "event has no DTSTART"),
    "issue_1549_binary_attachment.ics": (0, "event has no DTSTART"),
    # Several VEVENTs without DTSTART (§3.6.1): one warning each, each naming its own UID (or
    # the stand-in the reader gives an event without one).
    "issue_1050_uid_in_description.ics": (0, ("event has no DTSTART",) * 2),
    "issue_1050_multiple_calendars.ics": (0, ("event has no DTSTART",) * 2),  # two VCALENDARs
    "issue_798_related_to.ics": (0, ("event has no DTSTART",) * 2),  # and no UID
    "rfc_9253_gap.ics": (0, ("event has no DTSTART",) * 2),
    "rfc_7256_multi_value_parameters.ics": (0, ("event has no DTSTART",) * 2),
    "rfc_7986_image.ics": (0, ("event has no DTSTART",) * 2),  # VTODO, VJOURNAL are not read
    "issue_1561_image_value.ics": (0, ("event has no DTSTART",) * 4),
    # Six RDATE-only events (the §3.8.5.2 examples) with no DTSTART: a series needs one as
    # much as a single event (§3.6.1).
    "rfc_5545_RDATE_example.ics": (0, ("recurring event has no DTSTART",) * 6),
    # First event: DTSTART 2014-08-29 (New York) and an RDATE period 2024-09-13 (Berlin), two
    # instances (§3.8.5.2); then a lone RECURRENCE-ID with no DTSTART and an RDATE-only event
    # with none (§3.6.1); the VTODO is no event. Every TZID is an IANA name.
    "issue_722_missing_timezones.ics": (2, ("has no DTSTART",) * 2),
    # Two events with DTSTART in 2010 (the second without UID, still readable) and a third
    # with none (§3.6.1).
    "created_calendar_with_unicode_fields.ics": (2, "event has no DTSTART"),
    # One single event each, in the span, nothing wrong (§3.6.1). Zones: IANA names, a
    # VTIMEZONE given after its use (order is free, §3.6), Windows names Exchange writes
    # ("Eastern/Pacific Standard Time", defined by their VTIMEZONE, §3.6.5), custom TZIDs
    # defined by their VTIMEZONE (§3.2.19), one with non-ASCII letters (§3.1.4 UTF-8).
    "issue_168_expected_output.ics": (1, None),
    "rfc_7265_appendix_example_1_ical.ics": (1, None),  # DTSTART a DATE: the day (§3.6.1)
    "issue_1426_value_parameters.ics": (1, None),  # DATE start; CONFERENCE is RFC 7986 §5.11
    "property_params.ics": (1, None),  # DATE 2012-08-14 to 08-15, quoted CN parameters
    "issue_1050_forward_timezone_reference.ics": (1, None),
    "issue_321_assert_dst_offset_is_not_false.ics": (1, None),
    "timezoned.ics": (1, None),
    "issue_836_do_not_quote_tzid.ics": (1, None),
    "timezone_same_start.ics": (1, None),
    "america_new_york.ics": (1, None),
    "issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics": (1, None),  # no UID either
    # TZID=UTC+11 is defined by its VTIMEZONE: +1100 before and after (§3.6.5).
    "issue_218_bad_tzid.ics": (1, None),
    # One VEVENT among VTODO, VJOURNAL, VAVAILABILITY (not events); VALARMs are no instances.
    "issue_1050_all_components.ics": (1, None),
    # Alarm exports (Google, Etar, Thunderbird): one timed event each; VALARM and the
    # X-MOZ-SNOOZE state are not instances (§3.6.6). Google's X-WR-TIMEZONE only re-zones
    # its UTC times; Etar's DTEND in UTC is an hour after its Europe/London DTSTART (BST).
    "alarm_google_acknowledged.ics": (1, None),
    "alarm_google_future.ics": (1, None),
    "alarm_etar_future.ics": (1, None),
    "alarm_etar_notification.ics": (1, None),
    "alarm_etar_notification_clicked.ics": (1, None),
    "alarm_thunderbird_future.ics": (1, None),
    "alarm_thunderbird_closed.ics": (1, None),
    "alarm_thunderbird_snoozed_until_1457.ics": (1, None),
    "alarm_thunderbird_2_future.ics": (1, None),
    "alarm_thunderbird_2_notification_popped_up.ics": (1, None),
    "alarm_thunderbird_2_notification_5_min_postponed.ics": (1, None),
    "alarm_thunderbird_2_notification_5_min_postponed_and_closed.ics": (1, None),
    "alarm_thunderbird_2_notification_5_min_postponed_and_popped_up.ics": (1, None),
    # Several single events, all in the span.
    "issue_1050_calendar_with_events_and_todos.ics": (2, None),  # the VTODO is no event
    "rfc_9253_examples.ics": (2, None),  # two instants; LINK is RFC 9253 §6.1
    # Three DATE events whose DTEND equals DTSTART: each is its day (§3.6.1), one occurrence.
    "example.ics": (3, None),
    # Blank lines before folded continuations, unfolded (§3.1); two VCALENDARs, three events.
    "multiple_calendar_components.ics": (3, None),
    # Four events in a custom zone whose only change is 2024-05-05 08:00 (§3.6.5).
    "issue_722_timezone_transition_ambiguity.ics": (4, None),
    # DTSTART plus two RDATE periods (§3.8.5.2): three instances, 1996-97.
    "issue_1426.ics": (3, None),
    # DAILY;COUNT=5 from 2006-01-02 (§3.3.10), one RDATE period the same day (§3.8.5.2); the
    # RECURRENCE-ID override moves the 4th instance, it adds none (§3.8.4.4): 5 + 1.
    "rfc_7265_appendix_example_2_ical.ics": (6, None),
    # MONTHLY;COUNT=9;BYDAY=+3WE in the listed months from 2023-09-20 (§3.3.10): 2023-09-20,
    # 10-18, 11-15, 12-20, 2024-01-17, 02-21, 03-20, 04-17, 05-15; EXDATE drops 12-20
    # (§3.8.5.1), the RDATE period adds 12-13 (§3.8.5.2): 9.
    "period_with_timezone.ics": (9, None),
    # TZID="Western/Central Europe" with no VTIMEZONE (§3.2.19): read in the user's zone, said.
    "issue_526_calendar_with_event_subset.ics": (1, "unknown TZID 'Western/Central Europe'"),
    # ... and two such events (UIDs differ): two occurrences, one warning for each.
    "issue_526_calendar_with_events.ics": (2, ("unknown TZID 'Western/Central Europe'",) * 2),
    "issue_526_calendar_with_shuffeled_events.ics": (
        2,
        ("unknown TZID 'Western/Central Europe'",) * 2,
    ),
    "issue_526_calendar_with_different_events.ics": (
        2,
        ("unknown TZID 'Western/Central Europe'",) * 2,
    ),
    # Open-ended weekly rules from 2016/2022 (§3.3.10) reach far past 200 instances before
    # 2040: the first 200 are kept and the cap is said. TZID=/Europe/Stockholm is the
    # globally unique form of the IANA name (§3.2.19, the leading solidus); /Europe/CUSTOM
    # and Google's Europe/Zurich are defined by their VTIMEZONE.
    "issue_466_convert_tzid_with_slash.ics": (200, "more than 200 occurrences"),
    "issue_466_respect_unique_timezone.ics": (200, "more than 200 occurrences"),
    "x_location.ics": (200, "more than 200 occurrences"),
    # -- The last 23: malformed lines, invalid values and extensions, each decided below.
    # Zones or daylight parts without any VEVENT: nothing to read (empty RDATEs in a DAYLIGHT
    # outside a VTIMEZONE change no event).
    "empty_RDATE.ics": (0, None),
    # A lone VTIMEZONE whose TZID holds a lone CR and control characters: no line of it can be
    # split into name ":" value (§3.1), so the object is not iCalendar; said, like a licence.
    "fuzz_testcase_vtimezone_lone_cr.ics": (0, "not valid iCalendar"),
    # "DTSTART;;VALUE=..." has an empty parameter (§3.1: param = param-name "=" ...), so the
    # event has no DTSTART the grammar accepts: refused and said, as broken_dtstart.ics.
    "broken_ical.ics": (0, "DTSTART"),
    # A bare "X" is no content line (§3.1: name ":" value); the library cannot read past it,
    # so the whole object is refused with a line that names it. Refusing (not guessing what
    # the line was meant to hold) is defensible: §3.1 gives no recovery rule.
    "issue_104_broken_calendar.ics": (0, "'X'"),
    # "BYDAY=MO, TU, WE, TH, FR": spaces are not in the weekdaynum list grammar (§3.3.10);
    # the rule is refused and the event with it, said with the RRULE named.
    "issue_165_missing_event.ics": (0, "RRULE"),
    # RSCALE (RFC 7529 §3) rules in Chinese, Ethiopic, Hebrew (and Gregorian with SKIP): the
    # expansion library has no such calendars, so each event is refused, one line each naming
    # its RSCALE rule — never placed on Gregorian dates it does not fall on.
    "rfc_7529.ics": (0, ("RSCALE",) * 4),
    # Malformed lines in what the reader does not use leave what it reads whole: a bad
    # ORGANIZER (no ":") inside a VFREEBUSY (not an event, §3.6.4); spaces around a calendar
    # property's name and parameter (REFRESH-INTERVAL, RFC 7986 §5.7) that the library still
    # reads; an X- line after END:VCALENDAR (§3.4), outside every object. One event each:
    # 2019-06-24 06:30-16:30Z, 2026-03-19 09:00Z (an instant, §3.6.1), 2022-02-22 18:30Z.
    "issue_348_exception_parsing_value.ics": (1, None),
    "issue_351_whitespace_in_property_and_params.ics": (1, None),
    "issue_350.ics": (1, None),
    # Vendor-prefixed globally unique TZIDs (§3.2.19, leading solidus) of libical and Mozilla,
    # ending in the IANA name: 14:00 in Berlin (12:00Z), New York (18:00Z), Buenos Aires
    # (17:00Z) on 2020-04-26 — the name after the prefix is the zone, as with /Europe/Stockholm.
    "issue_313_globally_unique_tzid.ics": (3, None),
    # A lone RANGE=THISANDFUTURE override (its master missing) is the one instance its
    # RECURRENCE-ID names (§3.8.4.4, as issue_1231_recurrence.ics); its RDATE periods would
    # belong to a master the object does not hold. 2018-03-27 08:00 Chicago (CDT) = 13:00Z;
    # 2021-11-01 16:00 "Western/Central Europe" (standard, +0100, its VTIMEZONE) = 15:00Z.
    "issue_156_RDATE_with_PERIOD_TZID_khal.ics": (1, None),
    "issue_156_RDATE_with_PERIOD_TZID_khal_2.ics": (1, None),
    # -- Known reader bugs (KNOWN_WRONG below): the right outcome, which the reader misses.
    # DTSTART twice (§3.6.1: "MUST NOT occur more than once"): the first value (2014-08-29
    # 08:00 New York EDT = 12:00Z; 08:00 Fiji +1200 = 2014-08-28 20:00Z) is one instance, but
    # which of two starts is meant is a guess, so it must be said.
    "america_new_york_forward_reference.ics": (1, "DTSTART"),
    "pacific_fiji.ics": (1, "DTSTART"),
    # DURATION of 999999999999999999 weeks (§3.3.6) ends past any representable time: the
    # start (2024-01-01 00:00Z) stands, the impossible DURATION must be said, not turned
    # silently into an instant.
    "invalid_duration.ics": (1, "DURATION"),
    # "RDATE:" with no value (§3.8.5.2 needs one or more): it adds nothing, so the DTSTART
    # instance (2025-01-01 10:00Z) stands, and the empty property is said.
    "issue_1081_empty_rdate.ics": (1, "RDATE"),
    # Two DAILY events on DATE 2008-03-03 with a DATE-TIME UNTIL 2008-03-23T23:59:59Z
    # (§3.3.10 wants a DATE; the instance set is the same either way): 03-03..03-23 is 21
    # days, EXDATE 03-11 drops one (§3.8.5.1): 20 each, 40. The second event's extra empty
    # "EXDATE;VALUE=DATE:" excludes nothing: said, not a reason to drop its 20 instances.
    "parsing_error.ics": (40, "EXDATE"),
    # RDATE;VALUE=PERIOD of two DATEs (§3.3.9 periods are DATE-TIMEs): the value is invalid,
    # so it adds no instance and is said; DTSTART (1997-01-01 18:00Z; 18:00 New York =
    # 23:00Z) is the one instance.
    "issue_1633_rdate_with_dates.ics": (1, "RDATE"),
    "issue_1633_rdate_with_dates_and_tzid.ics": (1, "RDATE"),
    # An unparsable line inside the VEVENT (no ":" — §3.1): the rest of the event is read
    # (2015-09-05 09:00-10:00Z; 2012-02-13 10:00 Vaduz, +0100, = 09:00Z) and the line is
    # said — in timezone_rdate.ics it was the SUMMARY ("SUMMARY=testevent"), lost otherwise.
    "issue_168_input.ics": (1, "X-APPLE-RADIUS"),
    "timezone_rdate.ics": (1, "SUMMARY=testevent"),
    # RDATE;VALUE=TIME is no value type RDATE allows (§3.8.5.2: DATE-TIME, DATE, PERIOD): each
    # of the three events keeps its DTSTART instance (2021-03-02) and says its RDATE.
    "multiple_timezones.ics": (3, ("RDATE",) * 3),
    # "END:VCALENDARD" never closes the VCALENDAR (§3.4, §3.6): the VEVENT inside is whole
    # (2017-02-24 12:00-12:30 Tokyo, +0900, = 03:00-03:30Z), but the cut-off object is said.
    "timezone_same_start_and_offset.ics": (1, "VCALENDAR"),
}
KNOWN_WRONG: dict[str, str] = {
    # file: the reader's bug that makes its case fail (strict xfail: a fix turns it green).
    "invalid_duration.ics": "an overflowing DURATION silently becomes an instant",
    "issue_1633_rdate_with_dates.ics": "an RDATE PERIOD of DATEs is read as a day, silently",
    "issue_1633_rdate_with_dates_and_tzid.ics": "an RDATE PERIOD of DATEs is read as a day",
    "issue_168_input.ics": "an unparsable line in a VEVENT (component.errors) is not said",
    "timezone_rdate.ics": "an unparsable line in a VEVENT (component.errors) is not said",
    "multiple_timezones.ics": "RDATE;VALUE=TIME drops the event with a raw TypeError",
    "timezone_same_start_and_offset.ics": "END:VCALENDARD (VCALENDAR never closed) is not said",
}
"""Files whose case is a known reader bug: EXPECTED holds the right value, the test xfails."""


def _case(path: Path) -> object:
    if path.name in KNOWN_WRONG:
        return pytest.param(
            path, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[path.name])
        )
    return path


@pytest.mark.skipif(not FILES, reason="the shared corpus is not beside the checkout")
@pytest.mark.parametrize("path", [_case(p) for p in FILES], ids=[p.name for p in FILES])
def test_corpus_file_yields_occurrences_or_warnings(path: Path) -> None:
    context = ReadContext(
        source="feed:corpus",
        calendar=str(path.parent),
        zone=ZoneInfo("Europe/Berlin"),
        my_emails=frozenset({"me@example.com"}),
        max_occurrences=200,
    )
    # A wide span, so the recurrence code runs on every series in the corpus.
    span = Span(datetime(1970, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # icalendar notes its guesses; the reader's own are checked
        reading = read_object(path.read_bytes(), span, context, href=path.name)
    for occurrence in reading.occurrences:
        assert occurrence.start.tzinfo is not None and occurrence.end >= occurrence.start
        assert occurrence.source == "feed:corpus" and occurrence.uid
    for warning in reading.warnings:
        assert path.name in warning and "\n" not in warning
    if path.name in EXPECTED:
        count, warning = EXPECTED[path.name]
        assert len(reading.occurrences) == count, reading.warnings
        fragments = () if warning is None else (warning,) if isinstance(warning, str) else warning
        assert len(reading.warnings) == len(fragments), reading.warnings
        for fragment, line in zip(fragments, reading.warnings, strict=True):
            assert fragment in line, reading.warnings
        return
    assert reading.occurrences or reading.warnings or _has_no_timed_event(path)


def test_the_table_names_files_the_corpus_holds() -> None:
    if FILES:
        assert set(EXPECTED) <= {p.name for p in FILES}
        assert set(KNOWN_WRONG) <= set(EXPECTED)


def _has_no_timed_event(path: Path) -> bool:
    text = path.read_text(errors="replace").upper()
    return "BEGIN:VEVENT" not in text or "DTSTART" not in text
