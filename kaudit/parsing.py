"""Bounded parsing of YAML and JSON text, for every file kaudit reads.

YAML is read as Kubernetes reads it: the bare `=` scalar is a string (YAML 1.1
would reserve it), timestamps stay strings, integers are int64 and numbers finite,
as the API server's JSON numbers are. What could hang or crash the reader is
refused with one line naming the file: excessive alias expansion (the "billion
laughs"; the bound is the one the Kubernetes YAML decoder applies), aliases that
refer to themselves, nesting deeper than the parsers allow, non-finite numbers and
integers outside int64.

Manifests are read with `yaml_documents`, which builds values straight from libyaml's
events and hands anything unusual to the composing reader (`yaml_nodes`); one JSON
value is decoded with msgspec (docs/loading.md says why and how fast).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
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
    # One value, the common case, decodes several times faster with msgspec; a stream,
    # and whatever msgspec refuses, goes through the standard decoder, which words the
    # refusals as before.
    try:
        value = msgspec.json.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        pass
    else:
        start = len(text) - len(text.lstrip())
        return [(text.count("\n", 0, start) + 1, value)]
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


# --- YAML, event by event ------------------------------------------------------------------
#
# Composing a whole document into nodes and then constructing it (what yaml_nodes does)
# creates a node and two marks for every scalar and resolves each scalar's tag in Python:
# most of the time and memory of reading a large `kind: List`. The reader below takes
# libyaml's events instead and builds the values directly, with the same scalar
# resolution (KubeLoader's), the same alias bound and the lines kaudit reports. Whatever
# it does not handle itself (explicit tags, merge keys, an alias problem, a refusal)
# makes it hand the file over to yaml_nodes from that document on, so that every
# error reads as before.


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One YAML document's value, the line its content starts on, and its List items' lines."""

    line: int
    value: Any
    item_lines: list[int] | None


class _HandOver(Exception):
    """The event reader met something it leaves to the composing reader."""


_STR, _NULL, _BOOL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
# Plain scalars longer than this are not worth remembering: names and values repeat, texts do not.
_REMEMBERED_SCALAR = 64
# Fields kaudit never reads, left unbuilt: (the mapping's own key, the field).
_SKIPPED_FIELDS = frozenset({("metadata", "managedFields")})


def yaml_documents(text: str, file: str) -> Iterator[YamlDocument]:
    """Each YAML document of `text`, bounded as yaml_nodes bounds it, with its lines."""
    done = 0
    try:
        for document in _event_documents(text):
            yield document
            done += 1
        return
    except _HandOver:
        pass
    for index, (node, value) in enumerate(yaml_nodes(text, file)):
        if index >= done:
            yield YamlDocument(node.start_mark.line + 1, value, _node_item_lines(node))


def _node_item_lines(node: yaml.Node) -> list[int] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return None


def _event_documents(text: str) -> Iterator[YamlDocument]:
    parser = KubeLoader(text)  # its libyaml parser; the composing half stays unused
    scalars = _PlainScalars()
    try:
        while True:
            event = parser.get_event()
            if type(event) is yaml.DocumentStartEvent:
                yield _document(parser, scalars)
            elif event is None or type(event) is yaml.StreamEndEvent:
                return
    except yaml.YAMLError:
        # A syntax error is reported by the composing reader, with its line, as before.
        raise _HandOver from None
    finally:
        parser.dispose()


class _PlainScalars:
    """Plain scalars resolved as KubeLoader resolves them, each distinct one once.

    A number out of bounds is handed over: the composing reader refuses it in its
    words, after any syntax error earlier in the document, as before.
    """

    def __init__(self) -> None:
        self.resolvers = KubeLoader.yaml_implicit_resolvers
        self.constructor = yaml.constructor.SafeConstructor()
        self.known: dict[str, Any] = {}

    def value(self, text: str) -> Any:
        try:
            return self.known[text]
        except KeyError:
            pass
        value = self._resolve(text)
        if len(text) <= _REMEMBERED_SCALAR:
            self.known[text] = value
        return value

    def _resolve(self, text: str) -> Any:
        tag = _STR
        for candidate, pattern in self.resolvers.get(text[:1], ()):
            if pattern.match(text):
                tag = candidate
                break
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        node = yaml.ScalarNode(tag, text)
        if tag == _BOOL:
            return self.constructor.construct_yaml_bool(node)
        if tag == _INT:
            try:
                number = self.constructor.construct_yaml_int(node)
            except ValueError:  # more digits than Python converts
                raise _HandOver from None
            if not INT64_MIN <= number <= INT64_MAX:
                raise _HandOver
            return number
        if tag == _FLOAT:
            real = self.constructor.construct_yaml_float(node)
            if not math.isfinite(real):
                raise _HandOver
            return real
        raise _HandOver  # merge keys and the like


def _document(parser: Any, scalars: _PlainScalars) -> YamlDocument:
    """The next document's value, built from its events (the parser is past DocumentStart)."""
    # One frame per open collection: [value, its key in its parent mapping, the pending
    # key of a mapping (or _NO_KEY), its anchor, node count and expansion at its start,
    # its line].
    stack: list[list[Any]] = []
    # name: value, expanded size, line (negative for a collection, whose anchor closes)
    anchors: dict[str, tuple[Any, int, int]] = {}
    open_anchors: set[str] = set()
    nodes = expansion = 0  # node events, and the nodes that aliases add when expanded
    root: Any = None
    root_line = 0
    item_lines: list[int] | None = None
    items_frame: list[Any] | None = None
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is scalar_event:
            if event.tag is not None:
                raise _HandOver  # explicit tags: !!binary, !!set, custom ones
            nodes += 1
            line = event.start_mark.line + 1
            value = scalars.value(event.value) if event.implicit[0] else event.value
            if event.anchor is not None:
                _anchor(anchors, open_anchors, event.anchor, (value, 1, line))
        elif kind is mapping_start or kind is sequence_start:
            if event.tag is not None or event.anchor in open_anchors:
                raise _HandOver
            nodes += 1
            line = event.start_mark.line + 1
            top = stack[-1] if stack else None
            if top is not None and (top[1], top[2]) in _SKIPPED_FIELDS:
                if event.anchor is not None:
                    raise _HandOver
                _skip(parser)  # left unbuilt, with its key
                top[2] = _NO_KEY
                continue
            value = {} if kind is mapping_start else []
            frame = [value, None, _NO_KEY, event.anchor, nodes - 1, expansion, line]
            if top is None:
                root, root_line = value, line
            else:
                if top is items_frame:
                    assert item_lines is not None
                    item_lines.append(line)
                frame[1] = None if top[2] is _NO_KEY else top[2]
                _attach(top, value)
                if (
                    item_lines is None
                    and len(stack) == 1
                    and kind is sequence_start
                    and frame[1] == "items"
                ):
                    item_lines, items_frame = [], frame
            if event.anchor is not None:
                if event.anchor in anchors:
                    raise _HandOver  # PyYAML refuses a duplicate anchor
                open_anchors.add(event.anchor)
            stack.append(frame)
            continue
        elif kind is alias_event:
            if event.anchor not in anchors:
                raise _HandOver  # undefined, or refers to itself: yaml_nodes names it
            value, size, line = anchors[event.anchor]
            line = abs(line)
            expansion += size
        elif kind is mapping_end or kind is sequence_end:
            frame = stack.pop()
            if frame[3] is not None:
                open_anchors.discard(frame[3])
                size = nodes - frame[4] + expansion - frame[5]
                _anchor(anchors, open_anchors, frame[3], (frame[0], size, -frame[6]))
            continue
        elif kind is yaml.DocumentEndEvent:
            break
        else:
            raise _HandOver
        if not stack:
            root, root_line = value, line
            continue
        top = stack[-1]
        if top is items_frame:
            assert item_lines is not None
            item_lines.append(line)
        _attach(top, value)
    if expansion and _excessive(nodes, nodes + expansion):
        raise _HandOver  # refused by yaml_nodes, in its words
    return YamlDocument(root_line, root, item_lines)


class _NoKey:
    """No mapping key is pending."""


_NO_KEY = _NoKey()


def _attach(frame: list[Any], value: Any) -> None:
    """`value` into the innermost open collection: an item, a mapping's key or its value."""
    container = frame[0]
    if type(container) is list:
        container.append(value)
    elif frame[2] is _NO_KEY:
        if type(value) is dict or type(value) is list:
            raise _HandOver  # a collection as a key: PyYAML refuses it
        frame[2] = value
    else:
        container[frame[2]] = value
        frame[2] = _NO_KEY


def _anchor(
    anchors: dict[str, tuple[Any, int, int]],
    open_anchors: set[str],
    name: str,
    entry: tuple[Any, int, int],
) -> None:
    if name in anchors or (entry[2] > 0 and name in open_anchors):
        raise _HandOver  # PyYAML refuses a duplicate anchor
    anchors[name] = entry


def _skip(parser: Any) -> None:
    """Consume the events of the collection just started, up to its end."""
    depth = 1
    while depth:
        kind = type(event := parser.get_event())
        if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            depth += 1
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            depth -= 1
        if getattr(event, "anchor", None) is not None:
            raise _HandOver  # an anchor could be used outside the skipped field


def _excessive(unique: int, decoded: int) -> bool:
    aliased = decoded - unique
    return (
        aliased > _ALIAS_MIN_ALIASED
        and decoded > _ALIAS_MIN_DECODED
        and aliased / decoded > _allowed_alias_ratio(decoded)
    )
