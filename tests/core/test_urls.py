"""The one URL policy: https anywhere, plain http only to this machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mendcrm.urls import (
    UrlProblem,
    credentials_may_go,
    inside_collection,
    is_loopback,
    origin_of,
    url_problem,
)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("foo.localhost", True),
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("::1", True),
        ("[::1]", True),
        ("127.evil.example", False),  # a name that starts like an address is still a name
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example", False),
        ("127.1", False),  # ipaddress does not accept the short form, so it is not trusted
        ("10.0.0.1", False),
        ("::ffff:127.0.0.1", False),  # ipaddress: an IPv4-mapped address is not loopback
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://dav.example.org/", None),
        ("https://127.evil.example/", None),
        ("http://127.0.0.1:5232/", None),
        ("http://[::1]:5232/", None),
        ("http://localhost/", None),
        ("http://foo.localhost/", None),
        ("HTTP://LOCALHOST/", None),
        ("http://127.evil.example/", UrlProblem.PLAIN_HTTP),
        ("http://127.1/", UrlProblem.PLAIN_HTTP),
        ("http://dav.example.org/", UrlProblem.PLAIN_HTTP),
        ("ftp://dav.example.org/", UrlProblem.NOT_HTTP),
        ("webcal://dav.example.org/x.ics", UrlProblem.NOT_HTTP),
        ("dav.example.org", UrlProblem.NOT_HTTP),
        ("https:///no-host", UrlProblem.NOT_HTTP),
        ("http://[::1/", UrlProblem.NOT_HTTP),
    ],
)
def test_url_problem(url: str, problem: UrlProblem | None) -> None:
    assert url_problem(url) is problem


def test_the_policy_loads_no_network_code() -> None:
    # The config loader and the CLI import it; neither should pay for a network stack.
    probe = (
        "import sys, mendcrm.urls; "
        "print(sorted(m for m in ('socket', 'ssl', 'http.client', 'requests', 'caldav') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("target", "configured", "allowed"),
    [
        # RFC 6454 §4 origins, normalised: the default port is the same origin.
        ("https://caldav.icloud.com:443/1/", "https://caldav.icloud.com/", True),
        ("https://CALDAV.iCloud.com./1/", "https://caldav.icloud.com/", True),
        # iCloud's split hosts: one registrable domain (icloud.com), https, the same port.
        ("https://p07-caldav.icloud.com:443/1/calendars/", "https://caldav.icloud.com/", True),
        # Another port of the same host is another origin, maybe another service.
        ("https://caldav.icloud.com:8443/1/", "https://caldav.icloud.com/", False),
        # The same registrable domain, but in clear.
        ("http://p07-caldav.icloud.com/1/", "https://caldav.icloud.com/", False),
        # Names that merely contain the domain are other domains.
        ("https://icloud.com.evil.example/", "https://caldav.icloud.com/", False),
        ("https://evilicloud.com/", "https://caldav.icloud.com/", False),
        # The Public Suffix List, not "the last two labels": co.uk is a suffix...
        ("https://cal.example.co.uk/", "https://dav.example.co.uk/", True),
        ("https://dav.other.co.uk/", "https://dav.example.co.uk/", False),
        # ... and so is github.io (its private section): two users' sites are two domains.
        ("https://bob.github.io/", "https://alice.github.io/", False),
        # A configured host that is itself a public suffix widens to nothing.
        ("https://x.co.uk/", "https://co.uk/", False),
        # Addresses have no registrable domain: only their exact origin.
        ("https://10.0.0.6/", "https://10.0.0.5/", False),
        # Loopback over plain http: the configured origin only.
        ("http://127.0.0.1:5232/user/", "http://127.0.0.1:5232/", True),
        ("http://127.0.0.1:5233/user/", "http://127.0.0.1:5232/", False),
        ("http://localhost:5232/user/", "http://127.0.0.1:5232/", False),
        ("http://other.foo.localhost/", "http://foo.localhost/", False),
        ("ftp://caldav.icloud.com/", "https://caldav.icloud.com/", False),
        ("https://caldav.icloud.com:99999/", "https://caldav.icloud.com/", False),
    ],
)
def test_credentials_go_only_to_their_protection_space(
    target: str, configured: str, allowed: bool
) -> None:
    assert credentials_may_go(target, configured) is allowed


def test_origins_compare_normalised() -> None:
    assert origin_of("HTTPS://Example.COM.:443/a") == origin_of("https://example.com/b")
    assert str(origin_of("https://example.com:8443/")) == "https://example.com:8443"
    assert str(origin_of("http://[::1]:80/")) == "http://[::1]"
    assert origin_of("mailto:me@example.com") is None


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        ("https://h.example/cal/a.ics", True),
        ("https://h.example:443/cal/a.ics", True),
        ("https://h.example/cal/%40me.ics", True),
        ("https://h.example/cal", False),  # the calendar itself
        ("https://h.example/cal/", False),
        ("https://h.example/calendar2/a.ics", False),  # a prefix of the text, not of the path
        ("https://h.example/cal/../other/a.ics", False),
        ("https://h.example/cal/%2e%2e/other/a.ics", False),  # a server may decode it
        ("http://h.example/cal/a.ics", False),
        ("https://other.example/cal/a.ics", False),
    ],
)
def test_inside_collection(url: str, inside: bool) -> None:
    assert inside_collection(url, "https://h.example/cal/") is inside


def test_inside_collection_compares_decoded_segments() -> None:
    assert inside_collection("https://h.example/c%40l/a.ics", "https://h.example/c@l/")


def test_the_public_suffix_list_ships_with_the_package() -> None:
    # No network at run time: with every socket refused, the registrable domain still resolves.
    probe = (
        "import socket\n"
        "def refuse(*a, **k):\n    raise OSError('no network in this test')\n"
        "socket.socket = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from mendcrm.urls import registrable_domain\n"
        "print(registrable_domain('p07-caldav.icloud.com'), registrable_domain('a.b.co.uk'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["icloud.com", "b.co.uk"]
