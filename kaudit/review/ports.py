"""Port ranges for the connectivity comparison: the elementary ranges of two snapshots.

Inside one elementary range every policy rule of both snapshots admits either every
port or none (named ports included, at the numbers they resolve to), so a verdict
evaluated on the range's first port holds for the whole range.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kaudit.model import Protocol
from kaudit.netpol import CompiledPolicies

PORT_MIN, PORT_MAX = 1, 65535


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """Ports `first` to `last`, both included."""

    first: int
    last: int

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    def clipped(self, other: PortRange) -> PortRange | None:
        first, last = max(self.first, other.first), min(self.last, other.last)
        return PortRange(first, last) if first <= last else None


ALL_PORTS = PortRange(PORT_MIN, PORT_MAX)


def parse_port_range(text: str) -> PortRange:
    """`80` or `8000-8100`; raises ValueError naming the problem."""
    first_text, _, last_text = text.strip().partition("-")
    try:
        first = int(first_text)
        last = int(last_text) if last_text else first
    except ValueError:
        raise ValueError(f"{text!r} is not a port or a range of ports (80, 8000-8100)") from None
    if not PORT_MIN <= first <= last <= PORT_MAX:
        raise ValueError(f"{text!r}: ports are 1 to 65535, the first no greater than the last")
    return PortRange(first, last)


def _cuts(compiled: CompiledPolicies, protocol: Protocol) -> set[int]:
    """The first ports of the ranges inside which `compiled`'s policy rules agree."""
    cuts: set[int] = set()
    named = compiled.classes.named_bits
    for policy_rule in compiled.policy_rules:
        for entry in policy_rule.ports:
            if entry.protocol != protocol or entry.port is None:
                continue
            if isinstance(entry.port, int):
                last = entry.end_port if entry.end_port is not None else entry.port
                cuts.update((entry.port, last + 1))
            else:
                for name, proto, number in named:
                    if name == entry.port and proto == protocol:
                        cuts.update((number, number + 1))
    return cuts


def elementary_ranges(
    sides: Iterable[CompiledPolicies], protocol: Protocol, within: PortRange = ALL_PORTS
) -> tuple[PortRange, ...]:
    """The ranges of `within` inside which every policy rule of every side agrees."""
    cuts = {within.first, within.last + 1}
    for compiled in sides:
        cuts.update(c for c in _cuts(compiled, protocol) if within.first < c <= within.last)
    bounds = sorted(cuts)
    return tuple(PortRange(lo, hi - 1) for lo, hi in itertools.pairwise(bounds))


def merge_ranges(ranges: Sequence[PortRange]) -> tuple[PortRange, ...]:
    """Sorted, with touching and overlapping ranges joined."""
    merged: list[PortRange] = []
    for item in sorted(ranges):
        if merged and item.first <= merged[-1].last + 1:
            merged[-1] = PortRange(merged[-1].first, max(item.last, merged[-1].last))
        else:
            merged.append(item)
    return tuple(merged)
