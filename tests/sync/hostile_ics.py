"""Hypothesis strategies for hostile iCalendar octets: structured enough to reach the reader's
deep paths (series, zones, overrides), broken enough to test every refusal.

Each strategy builds content lines as bytes, then folds them at random octets (RFC 5545 §3.1
folds count octets, so a fold may split a multi-byte character) and joins them with a random
line ending.
"""

from __future__ import annotations

from hypothesis import strategies as st

FREQS = [
    "YEARLY",
    "MONTHLY",
    "WEEKLY",
    "DAILY",
    "HOURLY",
    "MINUTELY",
    "SECONDLY",
    "FORTNIGHTLY",
    "",
]
TZIDS = ["Europe/Berlin", "America/New_York", "Custom", "Office", "/mozilla.org/x", "Nowhere/Zone"]
UIDS = ["a", "b", "a\\nb", "\x1b[31mred", "\u202eevil", ""]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX"]

# Text: control characters (C0, DEL, C1), bidi and zero-width marks, CJK, emoji, plus anything.
_HOSTILE_CHARS = '\x00\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\u200b\u202e\u2028\u2066鬱🎉ë\\;,:"\r\n'
text = st.one_of(
    st.text(alphabet=st.sampled_from(_HOSTILE_CHARS + "abc "), max_size=30),
    st.text(max_size=20),
)
octets = st.one_of(
    text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=12),  # broken UTF-8
)


@st.composite
def date_value(draw: st.DrawFn, clean: bool = False) -> str:
    """A DATE or DATE-TIME, mostly well formed (years 1–9999), sometimes absurd (never when
    ``clean``)."""
    kind = draw(st.integers(0, 6 if clean else 9))
    if kind <= 6:
        # Mostly in or near the reader's span (May 2026), so series are expanded, not skipped.
        year = draw(st.sampled_from([2026, 2026, 2026, 2025, 1, 1601, 1970, 9999]))
        month = draw(st.sampled_from([5, 5, 4]) | st.integers(1, 12))
        day = draw(st.integers(1, 28))
        value = f"{year:04d}{month:02d}{day:02d}"
        if kind <= 4:
            hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
            value += f"T{hour:02d}{minute:02d}00" + draw(st.sampled_from(["", "Z"]))
        return value
    return draw(
        st.sampled_from(
            ["00000000", "20261345T256199", "99999999T999999Z", "2026-05-05", "", "T", "1" * 40]
        )
    )


def _by(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, min_size=1, max_size=60).map(lambda v: f"{name}={','.join(v)}")


@st.composite
def rrule(draw: st.DrawFn, clean: bool = False) -> str:
    """An RRULE value: a FREQ, and random INTERVAL, COUNT, UNTIL and BY parts (RFC 5545
    §3.3.10), in range and out of it (BY parts in range and a valid FREQ when ``clean``)."""
    parts = [f"FREQ={draw(st.sampled_from(FREQS[:7] if clean else FREQS))}"]
    ints = st.integers
    optional = {
        "INTERVAL": ints(-1, 3).map(str) | st.sampled_from(["1000000000", "x"]),
        "COUNT": st.sampled_from(["1", "5", "1000000000", "-5", "0"]),
        "UNTIL": date_value(clean),
        "WKST": st.sampled_from(DAYS),
        "BYSETPOS": _by("BYSETPOS", ints(-400, 400).map(str)),
        "BYMONTH": _by("BYMONTH", ints(0, 13).map(str)),
        "BYWEEKNO": _by("BYWEEKNO", ints(-54, 54).map(str)),
        "BYYEARDAY": _by("BYYEARDAY", ints(-367, 367).map(str)),
        "BYMONTHDAY": _by("BYMONTHDAY", ints(-32, 32).map(str)),
        "BYDAY": _by(
            "BYDAY",
            st.tuples(st.sampled_from(["", "1", "-1", "53", "+2"]), st.sampled_from(DAYS)).map(
                "".join
            ),
        ),
        "BYHOUR": _by("BYHOUR", ints(0, 25).map(str)),
        "BYMINUTE": _by("BYMINUTE", ints(0, 61).map(str)),
        "BYSECOND": _by("BYSECOND", ints(0, 61).map(str)),
    }
    if clean:
        optional.update(
            INTERVAL=ints(1, 3).map(str),
            COUNT=st.sampled_from(["1", "5", "1000000000"]),
            BYMONTH=_by("BYMONTH", ints(1, 12).map(str)),
            BYMONTHDAY=_by("BYMONTHDAY", ints(1, 28).map(str)),
            BYDAY=_by("BYDAY", st.sampled_from(DAYS[:7])),
            BYHOUR=_by("BYHOUR", ints(0, 23).map(str)),
            BYMINUTE=_by("BYMINUTE", ints(0, 59).map(str)),
            BYSECOND=_by("BYSECOND", ints(0, 59).map(str)),
        )
        for name in ("BYSETPOS", "BYWEEKNO", "BYYEARDAY", "WKST"):
            del optional[name]
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=7)):
        value = draw(optional[name])
        parts.append(value if value.startswith(name) else f"{name}={value}")
    return ";".join(draw(st.permutations(parts)))


@st.composite
def params(draw: st.DrawFn) -> bytes:
    chosen = draw(
        st.lists(
            st.one_of(
                st.sampled_from(TZIDS).map(lambda z: f"TZID={z}"),
                st.sampled_from(["VALUE=DATE", "VALUE=DATE-TIME", "VALUE=PERIOD", "VALUE=X"]),
                st.sampled_from(["RANGE=THISANDFUTURE", "PARTSTAT=ACCEPTED", "ROLE=CHAIR"]),
                text.map(lambda t: f'CN="{t}"'),
                text.map(lambda t: f"X-P={t}"),
            ),
            max_size=3,
        )
    )
    return b"".join(b";" + p.encode("utf-8", "surrogatepass") for p in chosen)


NAMES = [
    "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "UID",
    "SUMMARY", "DESCRIPTION", "ATTENDEE", "ORGANIZER", "STATUS", "SEQUENCE", "CATEGORIES",
    "X-WR-TIMEZONE", "TZID", "TZOFFSETFROM", "X-SOUP", "", "BEGIN", "END",
]  # fmt: skip


@st.composite
def soup_line(draw: st.DrawFn) -> bytes:
    """A property from the soup: any name, any parameters, a value that may fit another."""
    name = draw(st.sampled_from(NAMES)).encode()
    value = draw(
        st.one_of(
            octets,
            date_value().map(str.encode),
            rrule().map(str.encode),
            st.sampled_from([b"P1W", b"-P1D", b"P99999999D", b"PT0S", b"mailto:x@y", b"CANCELLED"]),
        )
    )
    return name + draw(params()) + b":" + value


def _prop(name: str, value: str, param: str = "") -> bytes:
    return f"{name}{param}:{value}".encode("utf-8", "surrogatepass")


@st.composite
def text_line(draw: st.DrawFn) -> bytes:
    """A property a calendar app writes, with hostile text (control characters, bidi marks,
    separators) but a shape icalendar accepts."""
    if draw(st.booleans()):
        name = draw(st.sampled_from(["ATTENDEE", "ORGANIZER"]))
        cn = "".join(c for c in draw(text) if c not in '"\r\n')
        address = draw(st.sampled_from(["mailto:x@y", "mailto:me@example.com"]))
        return _prop(name, address, f';CN="{cn}"')
    name = draw(st.sampled_from(["SUMMARY", "DESCRIPTION", "LOCATION", "CATEGORIES", "X-SOUP"]))
    value = "".join(c for c in draw(text) if c not in "\r\n")
    return _prop(name, value)


@st.composite
def vevent(draw: st.DrawFn, clean: bool = False, depth: int = 0) -> list[bytes]:
    zone = draw(st.sampled_from(["", *(f";TZID={z}" for z in TZIDS)]))
    lines = [b"BEGIN:VEVENT", _prop("UID", draw(st.sampled_from(UIDS)))]
    lines.append(_prop("DTSTART", draw(date_value(clean)), zone))
    if draw(st.booleans()):
        lines.append(_prop("DTEND", draw(date_value(clean)), zone))
    for _ in range(draw(st.integers(0, 2))):
        lines.append(_prop("RRULE", draw(rrule(clean))))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["RDATE", "EXDATE", "RECURRENCE-ID"]))
        lines.append(_prop(name, draw(date_value(clean)), zone))
    lines.extend(draw(st.lists(text_line() if clean else soup_line(), max_size=4)))
    if depth < 3 and draw(st.integers(0, 4)) == 0:
        kind = draw(st.sampled_from(["VALARM", "VEVENT", "X-THING", "VTIMEZONE"]))
        inner = draw(vevent(clean, depth + 1))
        lines.extend([f"BEGIN:{kind}".encode(), *inner[1:-1], f"END:{kind}".encode()])
    if clean or draw(st.integers(0, 9)):
        lines.append(b"END:VEVENT")
    return lines


@st.composite
def vtimezone(draw: st.DrawFn, clean: bool = False) -> list[bytes]:
    """A VTIMEZONE whose STANDARD/DAYLIGHT offsets, starts and rules are drawn too."""
    lines = [b"BEGIN:VTIMEZONE", _prop("TZID", draw(st.sampled_from(TZIDS)))]
    good = ["+0100", "-0530", "+0000", "+1400"]
    offsets = st.sampled_from(good if clean else [*good, "+2400", "+9999", "0100", "", "+01"])
    for kind in draw(st.lists(st.sampled_from(["STANDARD", "DAYLIGHT"]), min_size=1, max_size=3)):
        lines += [f"BEGIN:{kind}".encode(), _prop("DTSTART", draw(date_value(clean)))]
        lines += [_prop("TZOFFSETFROM", draw(offsets)), _prop("TZOFFSETTO", draw(offsets))]
        if draw(st.booleans()):
            lines.append(_prop("RRULE", draw(rrule(clean))))
        lines.append(f"END:{kind}".encode())
    lines.append(b"END:VTIMEZONE")
    return lines


@st.composite
def calendar_lines(draw: st.DrawFn) -> list[bytes]:
    """A calendar's content lines. Half are ``clean``: every value parses, so the hostility
    (BY parts, counts, zones, text, folds) reaches expansion instead of failing the parse."""
    clean = draw(st.booleans())
    lines = [b"BEGIN:VCALENDAR", b"VERSION:2.0"]
    if draw(st.booleans()):
        names = TZIDS if clean else [*TZIDS, "", "../../etc"]
        lines.append(_prop("X-WR-TIMEZONE", draw(st.sampled_from(names))))
    blocks = st.one_of(vtimezone(clean), vevent(clean))
    for block in draw(st.lists(blocks, min_size=1, max_size=4)):
        lines.extend(block)
    if not clean and draw(st.integers(0, 9)) == 0:
        depth = draw(st.integers(1, 12))
        lines += [b"BEGIN:X-DEEP"] * depth + [b"END:X-DEEP"] * depth
    if clean or draw(st.integers(0, 9)):
        lines.append(b"END:VCALENDAR")
    return lines


@st.composite
def hostile_calendar(draw: st.DrawFn) -> bytes:
    """Whole hostile calendar octets: lines folded at random octets, random line endings."""
    ending = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    out: list[bytes] = []
    for line in draw(calendar_lines()):
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(line) - 1)), max_size=2))))
        pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
        out.append((ending + b" ").join(p for p in pieces if p))
    return ending.join(out) + ending


__all__ = ["hostile_calendar", "rrule"]
