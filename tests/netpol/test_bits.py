"""Bitsets of class indexes: building, walking and membership."""

from __future__ import annotations

import random

import pytest

from kaudit.netpol.bits import bits_of, has, iter_bits


@pytest.mark.parametrize(
    ("indexes", "bits"),
    [
        ([], 0),
        ([0], 0b1),
        ([3, 0], 0b1001),
        ([7, 8], 0b1_1000_0000),
        ([5, 5, 5], 0b10_0000),  # duplicates are one member
        ([64], 1 << 64),
        ([1000, 2], (1 << 1000) | 0b100),
    ],
)
def test_bits_of(indexes: list[int], bits: int) -> None:
    assert bits_of(indexes) == bits
    assert bits_of(iter(indexes)) == bits  # any iterable, read once


@pytest.mark.parametrize(
    ("bits", "members"),
    [
        (0, []),
        (-1, []),  # not a set of classes: nothing to walk
        (0b1, [0]),
        (0b1011_0000, [4, 5, 7]),
        (1 << 8, [8]),
        ((1 << 4000) | (1 << 3993), [3993, 4000]),  # only the span between them is walked
        ((1 << 9) - 1, list(range(9))),
    ],
)
def test_iter_bits_ascending(bits: int, members: list[int]) -> None:
    assert list(iter_bits(bits)) == members


def test_has() -> None:
    bits = bits_of([0, 9, 130])
    assert [i for i in range(200) if has(bits, i)] == [0, 9, 130]
    assert not has(0, 0)


def test_round_trip_on_random_sets() -> None:
    rng = random.Random(7)
    for _ in range(200):
        members = sorted(set(rng.sample(range(3000), rng.randint(0, 60))))
        bits = bits_of(members)
        assert list(iter_bits(bits)) == members
        assert bits.bit_count() == len(members)
        assert bits == sum(1 << m for m in members)
