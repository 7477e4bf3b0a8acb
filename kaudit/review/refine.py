"""Splitting a set of targets by the exact set of port ranges on which each changed."""

from __future__ import annotations

from collections.abc import Iterator


class Refinement:
    """Targets (a bitset) split into parts, each with the range positions it changed on.

    Ranges are added one at a time with the targets that changed on them; every
    part keeps the targets whose set of ranges is the same, so a target is in
    exactly one part and the parts' signatures are exact.
    """

    __slots__ = ("_parts", "_seen")

    def __init__(self) -> None:
        self._parts: list[tuple[tuple[int, ...], int]] = []
        self._seen = 0

    def add(self, position: int, targets: int) -> None:
        if not targets:
            return
        parts: list[tuple[tuple[int, ...], int]] = []
        for signature, members in self._parts:
            inside, outside = members & targets, members & ~targets
            if inside:
                parts.append(((*signature, position), inside))
            if outside:
                parts.append((signature, outside))
        fresh = targets & ~self._seen
        if fresh:
            parts.append(((position,), fresh))
        self._seen |= targets
        self._parts = parts

    def parts(self) -> Iterator[tuple[tuple[int, ...], int]]:
        """(range positions, targets) per part."""
        yield from self._parts
