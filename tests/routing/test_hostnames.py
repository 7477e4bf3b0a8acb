"""Hostname matching and intersection as the Gateway API spec defines them."""

from __future__ import annotations

import pytest

from kaudit.routing import covers, effective_hostnames, hostname_matches, intersect


@pytest.mark.parametrize(
    ("pattern", "hostname", "expected"),
    [
        ("test.example.com", "test.example.com", True),
        ("TEST.example.com", "test.example.COM", True),
        ("test.example.com", "other.example.com", False),
        # "a match for *.example.com would match both test.example.com, and
        # foo.test.example.com, but not example.com"
        ("*.example.com", "test.example.com", True),
        ("*.example.com", "foo.test.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "badexample.com", False),
        ("*.example.com", "*.foo.example.com", True),
        ("*.foo.example.com", "*.example.com", False),
        ("test.example.com", "*.example.com", False),
    ],
)
def test_hostname_matches(pattern: str, hostname: str, expected: bool) -> None:
    assert hostname_matches(pattern, hostname) is expected


@pytest.mark.parametrize(
    ("listener", "route", "expected"),
    [
        (None, "a.example.com", "a.example.com"),
        ("a.example.com", "a.example.com", "a.example.com"),
        ("*.example.com", "a.example.com", "a.example.com"),
        ("a.example.com", "*.example.com", "a.example.com"),
        ("*.example.com", "*.a.example.com", "*.a.example.com"),
        ("*.a.example.com", "*.example.com", "*.a.example.com"),
        ("a.example.com", "b.example.com", None),
        ("*.example.com", "example.com", None),
        ("*.example.com", "test.example.net", None),
    ],
)
def test_intersect(listener: str | None, route: str, expected: str | None) -> None:
    assert intersect(listener, route) == expected


def test_effective_hostnames_follow_the_spec_examples() -> None:
    # Neither restricts: any hostname.
    assert effective_hostnames(None, ()) == ()
    # A route without hostnames takes the listener's.
    assert effective_hostnames("test.example.com", ()) == ("test.example.com",)
    # "if a Listener specified *.example.com, and the HTTPRoute specified
    # test.example.com and test.example.net, test.example.net must not be considered"
    assert effective_hostnames("*.example.com", ("test.example.com", "test.example.net")) == (
        "test.example.com",
    )
    # "If both [...] have specified hostnames, and none match [...] the HTTPRoute is
    # not accepted."
    assert effective_hostnames("*.example.com", ("example.com", "test.example.net")) is None
    # A listener hostname under the route's wildcard.
    assert effective_hostnames("test.example.com", ("*.example.com",)) == ("test.example.com",)


def test_covers() -> None:
    assert covers(None, "a.example.com")
    assert covers(None, None)
    assert covers("*.example.com", "a.example.com")
    assert not covers("a.example.com", None)
    assert not covers("a.example.com", "b.example.com")
    assert covers("a.example.com", "a.example.com")
