"""Reading nested JSON values in tests: kaudit's documents are typed JSON, so each step
is checked before it is taken."""

from __future__ import annotations

from collections.abc import Mapping

from kaudit.jsontypes import JsonArray, JsonValue


def dig(value: Mapping[str, JsonValue] | JsonValue, key: str, *path: str | int) -> JsonValue:
    """The value under `key`, then `path` (keys and list indexes); a step that meets another
    shape than the path expects fails the test."""
    assert isinstance(value, Mapping), value
    found = value[key]
    for step in path:
        if isinstance(step, int):
            assert isinstance(found, list), found
            found = found[step]
        else:
            assert isinstance(found, dict), found
            found = found[step]
    return found


def dig_list(value: Mapping[str, JsonValue] | JsonValue, key: str, *path: str | int) -> JsonArray:
    """`dig`, for a value that must be a list."""
    found = dig(value, key, *path)
    assert isinstance(found, list), found
    return found
