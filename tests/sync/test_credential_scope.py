"""The password goes only where it belongs, whatever a server's answer points to (issue 12, 1).

The rule (RFC 7617 §2.2, protection space): the configured origin (scheme, host, port), and over
https any host of the same registrable domain (iCloud's calendar home lives on pNN-caldav); never
plain http except the configured loopback origin itself. The hostile service records every
request with its Authorization header, so each test asserts what reached which origin.
"""

from __future__ import annotations

import pytest

from mendcrm.config.model import AccountConfig
from mendcrm.sources import SyncResult, sync_sources
from mendcrm.sources.transport import Transport
from tests.fixtures.split_hosts import (
    AUTHORIZATION,
    DISCOVERY,
    ELSEWHERE,
    HOME_HOST,
    PASSWORD,
    USERNAME,
    SplitHosts,
    multistatus,
    object_props,
)
from tests.sync.helpers import NOW, make_config, summaries
from tests.sync.ics import event

SOURCE = "account:icloud"


def _account(service: SplitHosts, **changes: object) -> AccountConfig:
    options: dict[str, object] = {
        "name": "icloud",
        "url": service.tls.url(DISCOVERY),
        "username": USERNAME,
        "ca_file": service.ca_file,
        "annotate": "off",
        "timeout_seconds": 10.0,
    }
    options.update(changes)
    return AccountConfig(**options)  # type: ignore[arg-type]


def _sync(service: SplitHosts, **changes: object) -> SyncResult:
    config = make_config((_account(service, **changes),))
    return sync_sources(config, {}, now=NOW, password_for=lambda a: PASSWORD)


def _report_events(service: SplitHosts, urls: dict[str, str], *members: tuple[str, str]) -> None:
    host = urls["calendar"].split("/")[2].rsplit(":", 1)[0]
    service.on(host, "REPORT", urls["calendar_path"], 207, multistatus(*members))


MEETING = event("m1", "20260505T100000Z", "20260505T110000Z", summary="Quarterly review")


def test_icloud_split_hosts_sync_with_the_password_on_both_hosts(split_hosts: SplitHosts) -> None:
    urls = split_hosts.icloud_like()
    _report_events(
        split_hosts, urls, (urls["calendar_path"] + "m1.ics", object_props('"1"', MEETING))
    )

    result = _sync(split_hosts)

    assert result.failed_sources == set(), [s.error for s in result.sources]
    assert summaries(result) == ["Quarterly review"]
    hosts = {(s.host, s.method) for s in split_hosts.requests()}
    # Discovery on the configured host, the home and the calendar on the pNN host (same
    # registrable domain over https), each with the user's credentials.
    assert {(DISCOVERY, "PROPFIND"), (HOME_HOST, "PROPFIND"), (HOME_HOST, "REPORT")} <= hosts
    assert all(s.authorization == AUTHORIZATION for s in split_hosts.requests())


def _elsewhere(service: SplitHosts) -> dict[str, str]:
    """Where a hostile answer may point, each outside the protection space of
    https://caldav.mend.localhost:PORT/ (why, per case)."""
    return {
        # Same host, another port: another origin (RFC 6454 §4), not the same server's account.
        "another-port": service.tls_other.url(DISCOVERY, "/1234/calendars/"),
        # The same registrable domain but plain http: the password would travel in clear.
        "plain-http-same-domain": service.plain.url(HOME_HOST, "/1234/calendars/"),
        # Loopback over plain http, but not the configured origin.
        "plain-http-loopback": f"http://127.0.0.1:{service.plain.port}/1234/calendars/",
        # https, but another registrable domain (elsewhere.localhost, not mend.localhost).
        "another-domain": service.tls.url(ELSEWHERE, "/1234/calendars/"),
    }


CASES = ["another-port", "plain-http-same-domain", "plain-http-loopback", "another-domain"]


@pytest.mark.parametrize("where", CASES)
@pytest.mark.parametrize("pointer", ["calendar-home-set", "current-user-principal"])
def test_a_discovery_href_pointing_elsewhere_gets_no_request_and_no_password(
    split_hosts: SplitHosts, where: str, pointer: str
) -> None:
    target = _elsewhere(split_hosts)[where]
    if pointer == "calendar-home-set":
        split_hosts.icloud_like(home=target)
    else:
        split_hosts.icloud_like(principal=target.replace("/calendars/", "/principal/"))

    result = _sync(split_hosts)

    assert result.failed_sources == {SOURCE}
    [error] = [s.error for s in result.sources if s.error]
    # One line that names the account, what was refused and how to fix it.
    assert error.startswith("account 'icloud': refused to send a request to ")
    assert "\n" not in error and PASSWORD not in error and "set the url to" in error
    port = split_hosts.tls.port
    allowed = {f"https://{DISCOVERY}:{port}", f"https://{HOME_HOST}:{port}"}
    # Nothing reached the wrong origin: not the password, not even a request.
    reached = {s.origin for s in split_hosts.requests()}
    assert reached and reached <= allowed, reached


def test_object_hrefs_outside_the_calendar_are_ignored_and_never_fetched(
    split_hosts: SplitHosts,
) -> None:
    urls = split_hosts.icloud_like()
    inside = urls["calendar_path"]
    other_calendar = urls["calendar_path"].replace("/work/", "/private/")
    outside = {
        # Listed without data: a careless client would GET or multiget each of these.
        "other-calendar": other_calendar + "b.ics",
        "dot-segments": inside + "../private/c.ics",
        "encoded-dot-segments": inside + "%2e%2e/private/d.ics",
        "another-domain": split_hosts.tls.url(ELSEWHERE, inside + "e.ics"),
        "plain-http": split_hosts.plain.url(HOME_HOST, inside + "f.ics"),
    }
    members = [(inside + "m1.ics", object_props('"1"', MEETING))]
    members += [(href, object_props('"x"', None)) for href in outside.values()]
    # One with its data in the answer: still not the calendar's object, so not read.
    stray = event("s1", "20260506T100000Z", "20260506T110000Z", summary="Not from this calendar")
    members.append((other_calendar + "s.ics", object_props('"2"', stray)))
    _report_events(split_hosts, urls, *members)

    result = _sync(split_hosts)

    assert summaries(result) == ["Quarterly review"]
    warned = " ".join(result.warnings)
    for href in [*outside.values(), other_calendar + "s.ics"]:
        assert f"the server listed {href!r}, which is outside the calendar" in warned
    after_report = [s for s in split_hosts.requests() if s.method in ("GET", "REPORT")]
    # Only the one calendar-query: no GET, no calendar-multiget naming any outside href.
    assert [(s.method, s.path) for s in after_report] == [("REPORT", inside)]
    assert not any(b"private" in s.body for s in after_report)


# -- redirects, TLS and the host an error names (sources/transport.py) -------------------------


def _transport(service: SplitHosts, **changes: object) -> Transport:
    options: dict[str, object] = {
        "where": "account 'icloud'",
        "username": USERNAME,
        "password": PASSWORD,
        "auth_type": "basic",
        "ca_file": service.ca_file,
        "timeout": 10.0,
        "sleep": lambda _: None,
    }
    options.update(changes)
    return Transport(service.tls.url(DISCOVERY), **options)  # type: ignore[arg-type]


def _redirect(service: SplitHosts, path: str, location: str) -> None:
    service.on(DISCOVERY, "PROPFIND", path, 301, headers={"Location": location})


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        # Another registrable domain over https: outside the protection space.
        ("another-domain", "refused to send a request to https://caldav.elsewhere.localhost"),
        # https → http on the very same host name: a downgrade, refused before any request.
        ("downgrade", "redirects from https to plain http"),
        # Another port of the same host over https: another origin.
        ("another-port", "(another port)"),
    ],
)
def test_a_redirect_out_of_the_protection_space_is_refused(
    split_hosts: SplitHosts, location: str, expected: str
) -> None:
    targets = {
        "another-domain": split_hosts.tls.url(ELSEWHERE, "/dav/"),
        "downgrade": split_hosts.plain.url(DISCOVERY, "/dav/"),
        "another-port": split_hosts.tls_other.url(DISCOVERY, "/dav/"),
    }
    _redirect(split_hosts, "/", targets[location])
    t = _transport(split_hosts)
    try:
        with pytest.raises(Exception) as caught:
            t.request(split_hosts.tls.url(DISCOVERY), "PROPFIND", "", {"Depth": "0"})
    finally:
        t.close()
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert [(s.port, s.host, s.path) for s in split_hosts.requests()] == [
        (split_hosts.tls.port, DISCOVERY, "/")
    ]


def test_a_redirect_inside_the_registrable_domain_is_followed_with_the_method(
    split_hosts: SplitHosts,
) -> None:
    _redirect(split_hosts, "/", split_hosts.tls.url(HOME_HOST, "/dav/"))
    split_hosts.on(HOME_HOST, "PROPFIND", "/dav/", 207, multistatus(("/dav/", "")))
    t = _transport(split_hosts)
    try:
        answer = t.request(split_hosts.tls.url(DISCOVERY), "PROPFIND", "", {"Depth": "0"})
    finally:
        t.close()
    assert answer.status == 207
    assert [(s.host, s.method, s.path, s.authorization) for s in split_hosts.requests()] == [
        (DISCOVERY, "PROPFIND", "/", AUTHORIZATION),
        (HOME_HOST, "PROPFIND", "/dav/", AUTHORIZATION),  # 301 keeps PROPFIND, not GET
    ]


def test_too_many_redirects_is_one_error(split_hosts: SplitHosts) -> None:
    _redirect(split_hosts, "/a/", "/b/")
    _redirect(split_hosts, "/b/", "/a/")
    t = _transport(split_hosts)
    try:
        with pytest.raises(Exception, match="too many redirects"):
            t.request(split_hosts.tls.url(DISCOVERY, "/a/"), "PROPFIND", "", {"Depth": "0"})
    finally:
        t.close()
    # MAX_REDIRECTS (5) followed, then the sixth answer ends it: six requests, no more.
    assert len(split_hosts.requests()) == 6


def test_a_certificate_that_cannot_be_verified_is_refused_before_any_request(
    split_hosts: SplitHosts,
) -> None:
    # Without ca_file the test CA is unknown: the handshake fails and no HTTP request is made.
    config = make_config((_account(split_hosts, ca_file=None),))
    result = sync_sources(config, {}, now=NOW, password_for=lambda a: PASSWORD)
    [error] = [s.error for s in result.sources if s.error]
    assert f"TLS certificate of {DISCOVERY}:{split_hosts.tls.port} could not be verified" in error
    assert "set ca_file" in error and "\n" not in error
    assert split_hosts.requests() == []


def test_an_error_names_the_host_that_failed_not_the_configured_one(
    split_hosts: SplitHosts,
) -> None:
    # The calendar home on a pNN host inside the protection space whose name the certificate
    # does not cover: the TLS error must name that host, not the configured caldav host.
    stray = f"p99-caldav.{DISCOVERY.split('.', 1)[1]}"
    split_hosts.icloud_like(home=split_hosts.tls.url(stray, "/1234/calendars/"))
    result = _sync(split_hosts)
    [error] = [s.error for s in result.sources if s.error]
    assert f"TLS certificate of {stray}:{split_hosts.tls.port} could not be verified" in error


def test_a_stored_listing_for_another_origin_is_not_asked_again(split_hosts: SplitHosts) -> None:
    # The state remembers where the calendars were listed; after the account's url changed (or
    # from a hostile answer stored by an older version) that place may lie outside the protection
    # space: it is dropped and discovery runs again from the configured url.
    urls = split_hosts.icloud_like()
    _report_events(
        split_hosts, urls, (urls["calendar_path"] + "m1.ics", object_props('"1"', MEETING))
    )
    stale = split_hosts.plain.url(HOME_HOST, "/1234/calendars/")
    state = {SOURCE: {"id": SOURCE, "kind": "account", "listing": [[stale, "1"]], "addresses": []}}
    config = make_config((_account(split_hosts),))

    result = sync_sources(config, state, now=NOW, password_for=lambda a: PASSWORD)

    assert result.failed_sources == set() and summaries(result) == ["Quarterly review"]
    assert all(s.scheme == "https" for s in split_hosts.requests())
    assert result.state[SOURCE]["listing"] == [[urls["home"], "1"]]
