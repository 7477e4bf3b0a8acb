"""Address arithmetic for ipBlock peers: CIDRs with `except`, as integer intervals.

An ipBlock allows its CIDR minus its `except` CIDRs. Keeping both as inclusive
integer intervals per IP version makes "is this address inside" and "how much
of this range is allowed" exact for IPv4 and IPv6 alike; `ipaddress` does the
parsing and turns intervals back into CIDRs.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from kaudit.model import IPBlock

Interval = tuple[int, int]  # inclusive first and last address as integers


@dataclass(frozen=True, slots=True)
class AddressRange:
    version: int  # 4 or 6
    first: int
    last: int

    @property
    def single(self) -> bool:
        return self.first == self.last

    def cidrs(self, intervals: Iterable[Interval]) -> tuple[str, ...]:
        """The intervals (of this range's IP version) written as CIDRs."""
        return intervals_to_cidrs(self.version, intervals)


@functools.lru_cache(maxsize=4096)
def parse_range(text: str) -> AddressRange:
    """An address or CIDR (host bits may be set, as `kubectl` accepts). Raises ValueError.

    Cached: the same few addresses (metadata endpoints, the internet) are asked about
    for every pod.
    """
    network = ipaddress.ip_network(text.strip(), strict=False)
    return AddressRange(
        network.version, int(network.network_address), int(network.broadcast_address)
    )


def parse_address(text: str) -> tuple[int, int] | None:
    """(version, integer) of a single address, or None when it does not parse."""
    # inet_pton is an order of magnitude faster than ipaddress on the canonical
    # forms the API server reports; ipaddress still settles anything unusual.
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return version, int.from_bytes(socket.inet_pton(family, text), "big")
        except OSError:
            continue
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return address.version, int(address)


@dataclass(frozen=True, slots=True)
class CompiledBlock:
    """An ipBlock as the intervals it allows (its CIDR minus every `except`)."""

    block: IPBlock
    version: int
    allowed: tuple[Interval, ...]

    def contains(self, version: int, value: int) -> bool:
        return version == self.version and any(lo <= value <= hi for lo, hi in self.allowed)

    def within(self, target: AddressRange) -> tuple[Interval, ...]:
        """The allowed part of `target`."""
        if target.version != self.version:
            return ()
        return intersect(self.allowed, ((target.first, target.last),))


def compile_block(block: IPBlock) -> CompiledBlock:
    """Raises ValueError for a CIDR that does not parse (the API server would reject it)."""
    cidr = parse_range(block.cidr)
    holes = []
    for text in block.except_:
        hole = parse_range(text)
        if hole.version == cidr.version:
            holes.append((hole.first, hole.last))
    return CompiledBlock(block, cidr.version, subtract(((cidr.first, cidr.last),), holes))


def normalize(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, merged, non-overlapping intervals."""
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return tuple(merged)


def subtract(base: Iterable[Interval], holes: Iterable[Interval]) -> tuple[Interval, ...]:
    result: list[Interval] = []
    cut = normalize(holes)
    for lo, hi in normalize(base):
        start = lo
        for hole_lo, hole_hi in cut:
            if hole_hi < start or hole_lo > hi:
                continue
            if hole_lo > start:
                result.append((start, hole_lo - 1))
            start = max(start, hole_hi + 1)
            if start > hi:
                break
        if start <= hi:
            result.append((start, hi))
    return tuple(result)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    result = []
    right = normalize(b)
    for lo, hi in normalize(a):
        for other_lo, other_hi in right:
            start, end = max(lo, other_lo), min(hi, other_hi)
            if start <= end:
                result.append((start, end))
    return normalize(result)


def size(intervals: Iterable[Interval]) -> int:
    return sum(hi - lo + 1 for lo, hi in normalize(intervals))


def intervals_to_cidrs(version: int, intervals: Iterable[Interval]) -> tuple[str, ...]:
    address = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    cidrs: list[str] = []
    for lo, hi in normalize(intervals):
        for net in ipaddress.summarize_address_range(address(lo), address(hi)):
            cidrs.append(str(net))
    return tuple(cidrs)
