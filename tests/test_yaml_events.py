"""The event-level YAML reader gives what the composing reader gives, lines included."""

from __future__ import annotations

from typing import Any

import pytest

from kaudit.errors import InputError
from kaudit.parsing import YamlDocument, yaml_documents, yaml_nodes
from kaudit.parsing import _event_documents as event_documents
from kaudit.parsing import _HandOver as HandOver
from kaudit.parsing import _node_item_lines as node_item_lines

LIST = """\
apiVersion: v1
kind: List
items:
- kind: Pod
  metadata:
    name: a
    labels: {o: on, y: yes, n: 0777, t: 2024-01-31, e: =, f: 1_000.5, x: 0x1F, s: '12', z: ~}
- "just a string"
- kind: Service
  spec:
    ports: [{port: 80, targetPort: http}]
    empty:
    hours: 1:30
metadata: {}
"""

ANCHORS = """\
defaults: &defaults {a: 1, b: [x, y]}
one: *defaults
two: &two
  c: *defaults
three: [*two, *two]
scalar: &s hello
again: *s
"""


def composed(text: str) -> list[tuple[int, Any, list[int] | None]]:
    return [
        (node.start_mark.line + 1, value, node_item_lines(node))
        for node, value in yaml_nodes(text, "m.yaml")
    ]


def by_events(text: str) -> list[tuple[int, Any, list[int] | None]]:
    return [(d.line, d.value, d.item_lines) for d in event_documents(text)]


@pytest.mark.parametrize(
    "text",
    [
        LIST,
        ANCHORS,
        "",
        "---\n---\nplain\n",
        "a: 1\n---\n- 1\n- [2, {b: null}]\n---\n'quoted'\n",
        "? complex\n: value\n1: int key\ntrue: bool key\n",
        "items: [1, 2]\nkind: List\n",
        "kind: List\nitems:\n- &first {kind: Pod}\n- *first\n",
        "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    ],
)
def test_events_build_what_composing_builds(text: str) -> None:
    assert by_events(text) == composed(text)


def test_list_items_have_their_lines() -> None:
    (document,) = by_events(LIST)
    assert document[0] == 1
    assert document[2] == [4, 8, 9]
    assert document[1]["items"][0]["metadata"]["labels"] == {
        "o": True,
        "y": True,
        "n": 511,
        "t": "2024-01-31",
        "e": "=",
        "f": 1000.5,
        "x": 31,
        "s": "12",
        "z": None,
    }
    assert document[1]["items"][2]["spec"]["hours"] == 90


def test_aliases_share_one_value() -> None:
    (document,) = by_events(ANCHORS)
    value = document[1]
    assert value["one"] is value["defaults"]
    assert value["three"][0] is value["two"]


def test_managed_fields_are_left_unbuilt() -> None:
    text = (
        "kind: Pod\nmetadata:\n  name: a\n  managedFields:\n  - manager: kubectl\n"
        "    fieldsV1: {f:metadata: {}}\n  uid: u\nspec:\n  managedFields: [kept]\n"
    )
    (document,) = by_events(text)
    assert document[1] == {
        "kind": "Pod",
        "metadata": {"name": "a", "uid": "u"},
        "spec": {"managedFields": ["kept"]},
    }


@pytest.mark.parametrize(
    "text",
    [
        "a: !!binary aGVsbG8=\n",
        "a: !custom x\n",
        "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",
        "x: &x [*x]\n",
        "a: *undefined\n",
        "a: &d 1\nb: &d 2\n",
        "? [a, b]\n: c\n",
        "a: [1\n",
        "n: 9223372036854775808\n",
        "n: .nan\n",
    ],
)
def test_what_the_event_reader_leaves_to_the_composing_reader(text: str) -> None:
    with pytest.raises(HandOver):
        by_events(text)


def test_handed_over_files_read_as_before() -> None:
    text = "kind: A\n---\nbase: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n---\nkind: C\n"
    documents = list(yaml_documents(text, "m.yaml"))
    assert documents == [
        YamlDocument(1, {"kind": "A"}, None),
        YamlDocument(3, {"base": {"x": 1}, "merged": {"x": 1, "y": 2}}, None),
        YamlDocument(8, {"kind": "C"}, None),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n: 9223372036854775808\n", "m.yaml:1: invalid YAML: integer out of range"),
        ("a: 1\nn: .inf\n", "m.yaml:2: invalid YAML: non-finite number '.inf'"),
        ("x: &x [*x]\n", "m.yaml:1: invalid YAML: an alias refers to itself"),
        ("a: [1\n", "m.yaml:2: invalid YAML: did not find expected ',' or ']'"),
        ("n: 99999999999999999999\nb: [\n", "m.yaml:3: invalid YAML: did not find"),
    ],
)
def test_refusals_read_as_before(text: str, expected: str) -> None:
    with pytest.raises(InputError) as error:
        list(yaml_documents(text, "m.yaml"))
    assert str(error.value).startswith(expected)
    with pytest.raises(InputError) as before:
        list(yaml_nodes(text, "m.yaml"))
    assert str(error.value) == str(before.value)


def test_excessive_aliasing_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InputError, match="excessive aliasing"):
        list(yaml_documents("\n".join(lines) + "\n", "m.yaml"))
