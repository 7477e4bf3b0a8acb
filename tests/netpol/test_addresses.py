"""Address arithmetic for ipBlock peers: parsing, intervals, CIDRs with `except`."""

from __future__ import annotations

import ipaddress

import pytest

from kaudit.model import IPBlock
from kaudit.netpol.addresses import (
    AddressRange,
    Interval,
    compile_block,
    intersect,
    intervals_to_cidrs,
    normalize,
    parse_address,
    parse_range,
    size,
    subtract,
)


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.0/8", AddressRange(4, v4("10.0.0.0"), v4("10.255.255.255"))),
        ("10.1.2.3/8", AddressRange(4, v4("10.0.0.0"), v4("10.255.255.255"))),  # host bits set
        ("192.168.1.7", AddressRange(4, v4("192.168.1.7"), v4("192.168.1.7"))),
        (" 0.0.0.0/0 ", AddressRange(4, 0, 2**32 - 1)),
        ("fd00::/120", AddressRange(6, v6("fd00::"), v6("fd00::ff"))),
        ("::/0", AddressRange(6, 0, 2**128 - 1)),
    ],
)
def test_parse_range(text: str, expected: AddressRange) -> None:
    assert parse_range(text) == expected
    assert parse_range(text).single is (expected.first == expected.last)


@pytest.mark.parametrize("text", ["", "10.0.0.0/33", "300.1.1.1", "not-an-address", "fd00::/129"])
def test_parse_range_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        parse_range(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1", (4, v4("10.0.0.1"))),
        ("fd00::1", (6, v6("fd00::1"))),
        ("FD00:0:0::1", (6, v6("fd00::1"))),
        ("::ffff:10.0.0.1", (6, v6("::ffff:10.0.0.1"))),
        (" 10.0.0.1 ", (4, v4("10.0.0.1"))),  # settled by ipaddress
        ("10.0.0.0/8", None),  # a CIDR is not one address
        ("10.0.0", None),
        ("", None),
    ],
)
def test_parse_address(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([], ()),
        ([(5, 9), (1, 3)], ((1, 3), (5, 9))),
        ([(1, 3), (4, 6)], ((1, 6),)),  # adjacent intervals merge
        ([(1, 10), (2, 3)], ((1, 10),)),  # contained
        ([(1, 5), (3, 8), (20, 20)], ((1, 8), (20, 20))),
    ],
)
def test_normalize(intervals: list[Interval], expected: tuple[Interval, ...]) -> None:
    assert normalize(intervals) == expected


@pytest.mark.parametrize(
    ("base", "holes", "expected"),
    [
        ([(0, 99)], [], ((0, 99),)),
        ([(0, 99)], [(10, 19)], ((0, 9), (20, 99))),
        ([(0, 99)], [(0, 99)], ()),
        ([(0, 99)], [(0, 0), (99, 99)], ((1, 98),)),
        ([(0, 99)], [(50, 200)], ((0, 49),)),
        ([(0, 9), (20, 29)], [(5, 24)], ((0, 4), (25, 29))),
        ([(10, 19)], [(0, 5), (30, 40)], ((10, 19),)),  # holes outside change nothing
    ],
)
def test_subtract(
    base: list[Interval], holes: list[Interval], expected: tuple[Interval, ...]
) -> None:
    assert subtract(base, holes) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([(0, 9)], [(5, 14)], ((5, 9),)),
        ([(0, 9)], [(10, 19)], ()),
        ([(0, 9), (20, 29)], [(5, 24)], ((5, 9), (20, 24))),
        ([(0, 100)], [(3, 3), (50, 60)], ((3, 3), (50, 60))),
    ],
)
def test_intersect(a: list[Interval], b: list[Interval], expected: tuple[Interval, ...]) -> None:
    assert intersect(a, b) == expected
    assert intersect(b, a) == expected


def test_size_counts_overlaps_once() -> None:
    assert size([]) == 0
    assert size([(0, 0)]) == 1
    assert size([(0, 9), (5, 14)]) == 15
    assert size([(0, 2**32 - 1)]) == 2**32


@pytest.mark.parametrize(
    ("version", "intervals", "cidrs"),
    [
        (4, [(v4("10.0.0.0"), v4("10.0.0.255"))], ("10.0.0.0/24",)),
        (
            4,
            [(v4("10.0.0.1"), v4("10.0.0.6"))],
            ("10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"),
        ),
        (4, [(0, 2**32 - 1)], ("0.0.0.0/0",)),
        (6, [(v6("fd00::"), v6("fd00::ff"))], ("fd00::/120",)),
        (4, [], ()),
    ],
)
def test_intervals_to_cidrs(
    version: int, intervals: list[Interval], cidrs: tuple[str, ...]
) -> None:
    assert intervals_to_cidrs(version, intervals) == cidrs


def test_compile_block_subtracts_its_excepts() -> None:
    block = compile_block(IPBlock("10.0.0.0/8", ("10.1.0.0/16", "10.2.3.0/24", "fd00::/8")))
    assert block.version == 4
    assert block.allowed == (
        (v4("10.0.0.0"), v4("10.0.255.255")),
        (v4("10.2.0.0"), v4("10.2.2.255")),
        (v4("10.2.4.0"), v4("10.255.255.255")),
    )  # the IPv6 except cannot cut an IPv4 range
    assert block.contains(4, v4("10.0.0.1"))
    assert not block.contains(4, v4("10.1.2.3"))
    assert not block.contains(4, v4("10.2.3.4"))
    assert not block.contains(4, v4("11.0.0.0"))
    assert not block.contains(6, v4("10.0.0.1"))  # the same integer in the other family


def test_compiled_block_within_a_target() -> None:
    block = compile_block(IPBlock("0.0.0.0/0", ("169.254.169.254/32",)))
    target = parse_range("169.254.169.0/24")
    within = block.within(target)
    assert within == (
        (v4("169.254.169.0"), v4("169.254.169.253")),
        (v4("169.254.169.255"), v4("169.254.169.255")),
    )
    assert size(within) == 255
    assert target.cidrs(within)[-1] == "169.254.169.255/32"
    assert block.within(parse_range("169.254.169.254")) == ()
    assert block.within(parse_range("fd00::/64")) == ()


def test_compile_block_rejects_a_bad_cidr() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        compile_block(IPBlock("10.0.0.0/40", ()))
