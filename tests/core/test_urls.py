"""The one URL policy: https anywhere, plain http only to this machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mendcrm.urls import UrlProblem, is_loopback, url_problem


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
