"""Reading manifest files into Kubernetes objects: as kubectl reads them, but bounded.

What kubectl accepts is accepted: UTF-8 with or without a byte-order mark, UTF-16
with one, multi-document YAML, a JSON value or a stream of them, `kind: List` (also
nested) and typed lists (`PodList`, ...) whose items carry no `kind`, and the bare
`=` scalar that YAML 1.1 would otherwise reserve.

What an attacker could use to hang or crash the reader is refused with one line
naming the file: excessive alias expansion (the "billion laughs"; the bound is the
one the Kubernetes YAML decoder applies), nesting deeper than the parsers allow,
non-finite numbers and integers outside int64 (the API server's JSON numbers).
Nothing is dropped silently: every document is an object, a list of objects, or an
error.
"""

from __future__ import annotations

import codecs
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kaudit.errors import InputError
from kaudit.model import Origin

STDIN = "-"
STDIN_NAME = "<stdin>"

# The API server's integers are int64.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Lists inside lists deeper than this are not something kubectl output produces.
MAX_LIST_NESTING = 16

# The Kubernetes YAML decoder (go-yaml) refuses a document whose alias expansion
# dominates it: more than 100 aliased nodes, more than 1,000 decoded nodes, and an
# aliased share above a ratio that falls from 0.99 (up to 400,000 decoded nodes)
# to 0.10 (4,000,000 and more).
_ALIAS_MIN_ALIASED = 100
_ALIAS_MIN_DECODED = 1_000
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000


@dataclass(frozen=True, slots=True)
class Document:
    """One Kubernetes object read from a file, with where it came from."""

    raw: Mapping[str, Any]
    origin: Origin

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.raw.get("metadata")
        return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""


def display_name(file: str) -> str:
    return STDIN_NAME if file == STDIN else file


def read_bytes(file: str) -> bytes:
    try:
        if file == STDIN:
            # A text stream without a byte buffer (an embedding program's) is UTF-8.
            stream = getattr(sys.stdin, "buffer", None)
            return stream.read() if stream is not None else sys.stdin.read().encode()
        return Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from None


def decode_text(data: bytes, file: str) -> str:
    """Text from bytes the way kubectl takes it: a BOM decides UTF-8 or UTF-16."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the codec reads and drops the BOM
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{display_name(file)}: cannot read: not valid {encoding.upper()} text "
            f"(byte {exc.start})"
        ) from None


def read_documents(file: str, text: str | None = None) -> Iterator[Document]:
    """Every object in one file (or stdin), with lists unpacked."""
    if text is None:
        text = decode_text(read_bytes(file), file)
    shown = display_name(file)
    if file.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        # JSON, or kubectl -o json output on stdin. A .yaml file that merely starts
        # with a flow mapping and is not JSON is read as YAML.
        values = _json_values(shown, text, strict=file.lower().endswith(".json"))
        if values is not None:
            for line, value in values:
                yield from _objects(shown, value, Origin(shown, line, 0), None, 0)
            return
    yield from _yaml_documents(shown, text)


# --- JSON ----------------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _json_values(file: str, text: str, strict: bool) -> list[tuple[int, Any]] | None:
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
        raise InputError(f"{file}: invalid JSON: {exc}") from None


# --- YAML ----------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _KubeLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """YAML as Kubernetes reads it: no `=` value tag, timestamps stay strings, bounded numbers."""


# The resolvers are class-level dicts shared with SafeLoader: copy before changing.
_KubeLoader.yaml_implicit_resolvers = {
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


_KubeLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
_KubeLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


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


def _yaml_documents(file: str, text: str) -> Iterator[Document]:
    loader = _KubeLoader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            check_alias_expansion(node, file)
            data = loader.construct_document(node)
            origin = Origin(file, node.start_mark.line + 1, index)
            yield from _objects(file, data, origin, _item_lines(node), 0)
            index += 1
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


def _item_lines(node: yaml.Node) -> Callable[[int], int] | None:
    """The 1-based line of each `items` entry of a List document (None if not a List)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            items = value.value
            return lambda index: items[index].start_mark.line + 1
    return None


# --- objects and lists ---------------------------------------------------------------------


def _objects(
    file: str,
    data: Any,
    origin: Origin,
    item_line: Callable[[int], int] | None,
    depth: int,
) -> Iterator[Document]:
    if data is None:  # an empty document, e.g. a trailing `---`
        return
    if not isinstance(data, Mapping):
        raise InputError(f"{origin}: expected a Kubernetes object, found {_type_name(data)}")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{origin}: document has no kind")
    if not kind.endswith("List") or "items" not in data:
        yield Document(data, origin)
        return
    items = data["items"]
    if items is None:
        return
    if not isinstance(items, list):
        raise InputError(f"{origin}: {kind} items must be a list, found {_type_name(items)}")
    if depth >= MAX_LIST_NESTING:
        raise InputError(f"{origin}: lists nested more than {MAX_LIST_NESTING} deep")
    # A typed list (PodList) gives its items their kind and apiVersion, as the API does.
    item_kind = kind.removesuffix("List") if kind != "List" else None
    for index, item in enumerate(items):
        line = item_line(index) if item_line else origin.line
        item_origin = Origin(file, line, origin.document)
        if not isinstance(item, Mapping):
            raise InputError(f"{item_origin}: list item is not an object")
        if item_kind and not item.get("kind"):
            item = {"kind": item_kind, "apiVersion": data.get("apiVersion"), **item}
        if not item.get("kind"):
            raise InputError(f"{item_origin}: list item has no kind")
        nested_lines = _nested_item_lines(item_line, index)
        yield from _objects(file, item, item_origin, nested_lines, depth + 1)


def _nested_item_lines(
    item_line: Callable[[int], int] | None, index: int
) -> Callable[[int], int] | None:
    # Lines of a list inside a list are not tracked: its items take the line of the
    # inner list, which is where a reader looks first.
    if item_line is None:
        return None
    line = item_line(index)
    return lambda _: line


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
