"""Bounded parsing of YAML and JSON text, for every file kaudit reads.

YAML is read as Kubernetes reads it: the bare `=` scalar is a string (YAML 1.1
would reserve it), timestamps stay strings, integers are int64 and numbers finite,
as the API server's JSON numbers are. What could hang or crash the reader is
refused with one line naming the file: excessive alias expansion (the "billion
laughs"; the bound is the one the Kubernetes YAML decoder applies), aliases that
refer to themselves, nesting deeper than the parsers allow, non-finite numbers and
integers outside int64.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import yaml

from kaudit.errors import InputError

# The API server's integers are int64.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The Kubernetes YAML decoder (go-yaml) refuses a document whose alias expansion
# dominates it: more than 100 aliased nodes, more than 1,000 decoded nodes, and an
# aliased share above a ratio that falls from 0.99 (up to 400,000 decoded nodes)
# to 0.10 (4,000,000 and more).
_ALIAS_MIN_ALIASED = 100
_ALIAS_MIN_DECODED = 1_000
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000


# --- JSON ----------------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def json_values(file: str, text: str, strict: bool) -> list[tuple[int, Any]] | None:
    """The values of a JSON document or stream with their lines; None if not JSON (and not strict)."""
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    values: list[tuple[int, Any]] = []
    position, end = 0, len(text)
    line, counted = 1, 0
    try:
        while True:
            while position < end and text[position].isspace():
                position += 1
            if position >= end:
                return values
            line += text.count("\n", counted, position)
            counted = position
            value, position = decoder.raw_decode(text, position)
            values.append((line, value))
    except json.JSONDecodeError as exc:
        if not strict and not values:
            return None
        raise InputError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{file}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # non-finite constants, integers past the digit limit
        reason = "integer out of range" if "digits" in str(exc) else str(exc)
        raise InputError(f"{file}: invalid JSON: {reason}") from None


# --- YAML ----------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KubeLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """YAML as Kubernetes reads it: no `=` value tag, timestamps stay strings, bounded numbers."""


# The resolvers are class-level dicts shared with SafeLoader: copy before changing.
KubeLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    try:
        value = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError as exc:  # more digits than Python converts
        raise yaml.constructor.ConstructorError(
            None, None, f"integer out of range: {exc}", node.start_mark
        ) from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise yaml.constructor.ConstructorError(
            None, None, "integer out of range (the API takes 64-bit integers)", node.start_mark
        )
    return value


def _finite_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise yaml.constructor.ConstructorError(
            None, None, f"non-finite number {node.value!r}", node.start_mark
        )
    return value


KubeLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
KubeLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


def _allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_HIGH:
        return 0.10
    share = (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)
    return 0.99 - 0.89 * share


def check_alias_expansion(root: yaml.Node, file: str) -> None:
    """Refuse a document whose aliases expand it excessively, or refer to themselves.

    A composed document shares one node object for an anchor and its aliases, so
    the expanded size is a memoised sum over a graph of the unique nodes: linear in
    the file, however large the expansion would be.
    """
    expanded: dict[int, int] = {}
    unique = 0
    # Iterative post-order walk: (node, children visited?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise InputError(
                f"{file}:{node.start_mark.line + 1}: invalid YAML: an alias refers to itself"
            )
        unique += 1
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in on_path:
                raise InputError(
                    f"{file}:{child.start_mark.line + 1}: invalid YAML: an alias refers to itself"
                )
            if child_key not in expanded:
                stack.append((child, False))
    decoded = expanded[id(root)]
    aliased = decoded - unique
    if (
        aliased > _ALIAS_MIN_ALIASED
        and decoded > _ALIAS_MIN_DECODED
        and aliased / decoded > _allowed_alias_ratio(decoded)
    ):
        raise InputError(
            f"{file}:{root.start_mark.line + 1}: invalid YAML: excessive aliasing "
            f"({unique} nodes would expand to {decoded})"
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def yaml_nodes(text: str, file: str) -> Iterator[tuple[yaml.Node, Any]]:
    """Each YAML document's root node (for line numbers) and its bounded value."""
    loader = KubeLoader(text)
    # An alias needs an anchor ('&name') and a reference ('*name'): without both
    # characters in the text there is nothing to expand, and no graph to walk.
    may_alias = "&" in text and "*" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_alias:
                check_alias_expansion(node, file)
            yield node, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}" if mark else file
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(f"{file}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def parse_yaml(text: str, file: str) -> Any:
    """The value of a one-document YAML file (None when empty), bounded."""
    values = [value for _, value in yaml_nodes(text, file)]
    if len(values) > 1:
        raise InputError(f"{file}: expected one YAML document, found {len(values)}")
    return values[0] if values else None


def parse_json(text: str, file: str) -> Any:
    """The value of a JSON file holding one value, bounded."""
    values = json_values(file, text, strict=True)
    assert values is not None  # strict: not JSON raises
    if len(values) != 1:
        raise InputError(f"{file}: invalid JSON: expected one value, found {len(values)}")
    return values[0][1]
