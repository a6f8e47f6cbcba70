"""Which way a calendar's first sync reads it, from the sync-token the listing hands out
(:mod:`mendcrm.sources.strategy`); the ways themselves run against Radicale and Xandikos in
test_caldav_sync.py."""

from __future__ import annotations

import pytest

from mendcrm.sources.strategy import (
    LARGE_MULTIGET,
    SYNC_MULTIGET,
    TIME_RANGE,
    first_pass,
    token_by_property,
)


@pytest.mark.parametrize(
    ("token", "sync_report", "expected"),
    [
        # Xandikos: its token is the calendar repository's git commit id, 40 hex digits.
        ("f09a295434b4491cf0b2a83dccc204b13180da46", True, SYNC_MULTIGET),
        # A URI, as RFC 6578 §3.2 wants it: Radicale, SabreDAV (Nextcloud, Baikal), Cyrus.
        (
            "http://radicale.org/ns/sync/404a4154d2a95e7ff7ea944500b17a19",
            True,
            TIME_RANGE,
        ),
        ("http://sabre.io/ns/sync/5", True, TIME_RANGE),
        # A commit-like token on a server without the sync-collection REPORT cannot be listed
        # that way; one hex digit short or in capitals is not Xandikos' shape.
        ("f09a295434b4491cf0b2a83dccc204b13180da46", False, TIME_RANGE),
        ("f09a295434b4491cf0b2a83dccc204b13180da4", True, TIME_RANGE),
        ("F09A295434B4491CF0B2A83DCCC204B13180DA46", True, TIME_RANGE),
        (None, False, TIME_RANGE),
    ],
)
def test_first_pass_by_token(token: str | None, sync_report: bool, expected: object) -> None:
    assert first_pass(token, sync_report) == expected


def test_the_listing_way_fetches_in_large_batches() -> None:
    assert SYNC_MULTIGET.method == "sync-multiget" and SYNC_MULTIGET.batch == LARGE_MULTIGET
    assert TIME_RANGE.batch == 100  # the loader's usual batch (vdirsyncer #988 caps)


@pytest.mark.parametrize(
    ("token", "by_property"),
    [
        # Xandikos: the property is read from the repository's head, the REPORT walks trees.
        ("f09a295434b4491cf0b2a83dccc204b13180da46", True),
        (" f09a295434b4491cf0b2a83dccc204b13180da46\n", True),  # as XML text may carry it
        # Radicale computes the property by walking every item, as its REPORT does; SabreDAV
        # and others keep one REPORT per pass too.
        ("http://radicale.org/ns/sync/404a4154d2a95e7ff7ea944500b17a19", False),
        ("http://sabre.io/ns/sync/5", False),
        ("F09A295434B4491CF0B2A83DCCC204B13180DA46", False),
        ("", False),
    ],
)
def test_the_token_is_read_first_only_where_it_is_cheap(token: str, by_property: bool) -> None:
    assert token_by_property(token) is by_property
