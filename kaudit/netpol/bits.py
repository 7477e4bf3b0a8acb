"""Sets of small integers (pod class indexes) as Python ints, one bit per member.

Set algebra on classes is the engine's inner loop: a Python int of a few thousand
bits ANDs and ORs in well under a microsecond, so selectors, peers and whole rows
of the reachability matrix are bitsets rather than Python sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# For each byte value, the positions of its set bits (to walk a bitset byte by byte).
_BYTE_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256)
)


def bits_of(indexes: Iterable[int]) -> int:
    """The bitset holding `indexes`, built in one pass (no quadratic big-int ORs)."""
    positions = list(indexes)
    if not positions:
        return 0
    buffer = bytearray(max(positions) // 8 + 1)
    for index in positions:
        buffer[index >> 3] |= 1 << (index & 7)
    return int.from_bytes(buffer, "little")


def iter_bits(bits: int) -> Iterator[int]:
    """The members of a bitset, ascending.

    Only the span between the lowest and highest member is walked, byte by byte,
    so a few neighbouring classes cost little however large the set's universe.
    """
    if bits <= 0:
        return
    base = ((bits & -bits).bit_length() - 1) & ~7
    bits >>= base
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    for offset, value in enumerate(data):
        if value:
            start = base + offset * 8
            for bit in _BYTE_BITS[value]:
                yield start + bit


def has(bits: int, index: int) -> bool:
    return bits >> index & 1 == 1
