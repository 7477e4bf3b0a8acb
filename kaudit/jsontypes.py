"""JSON values, typed: the documents kaudit builds and renders.

Reports, SARIF logs, finding evidence, deploy manifests and remediation snippets
are trees of these values. Only raw parsed JSON or YAML, where it comes in and
before it is checked and decoded, stays untyped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

JsonScalar: TypeAlias = str | int | float | bool | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject: TypeAlias = dict[str, JsonValue]
JsonArray: TypeAlias = list[JsonValue]


def json_array(items: Iterable[JsonValue]) -> JsonArray:
    """A JSON array of these values. A `list[str]` is no `list[JsonValue]` to the type
    checker (a list is mutable, so it is invariant); a fresh list of them is."""
    return list(items)


def json_object(items: Mapping[str, JsonValue]) -> JsonObject:
    """A JSON object of these entries (a `dict[str, str]` is no `JsonObject`, as for arrays)."""
    return dict(items)
