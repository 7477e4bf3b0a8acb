"""Reading manifests as kubectl reads them, and refusing what would hang or crash the reader."""

from __future__ import annotations

import codecs
import time

import pytest

from kaudit.collect.documents import decode_text, read_documents
from kaudit.errors import InputError

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n"


def kinds_and_names(text: str, file: str = "m.yaml") -> list[tuple[str, str, int | None]]:
    return [(d.kind, d.name, d.origin.line) for d in read_documents(file, text)]


def refused(text: str, file: str = "m.yaml") -> str:
    with pytest.raises(InputError) as error:
        list(read_documents(file, text))
    message = str(error.value)
    assert "\n" not in message
    return message


def test_multi_document_yaml_with_lines() -> None:
    text = POD + "---\n" + POD.replace("web", "api")
    assert kinds_and_names(text) == [("Pod", "web", 1), ("Pod", "api", 7)]


def test_bare_equals_scalar_is_a_string() -> None:
    (doc,) = read_documents("m.yaml", POD + "  labels:\n    op: =\n")
    assert doc.raw["metadata"]["labels"]["op"] == "="


def test_timestamps_stay_strings() -> None:
    (doc,) = read_documents("m.yaml", POD + "  labels:\n    released: 2024-01-31\n")
    assert doc.raw["metadata"]["labels"]["released"] == "2024-01-31"


@pytest.mark.parametrize(
    ("encoded", "name"),
    [
        (codecs.BOM_UTF8 + POD.encode(), "utf-8 with BOM"),
        (codecs.BOM_UTF16_LE + POD.encode("utf-16-le"), "utf-16 LE"),
        (codecs.BOM_UTF16_BE + POD.encode("utf-16-be"), "utf-16 BE"),
    ],
)
def test_byte_order_marks_are_read(encoded: bytes, name: str) -> None:
    text = decode_text(encoded, "m.yaml")
    assert kinds_and_names(text) == [("Pod", "web", 1)], name


def test_undecodable_bytes_name_the_file() -> None:
    with pytest.raises(InputError, match=r"^m.yaml: cannot read: not valid UTF-8 text \(byte 0\)"):
        decode_text(b"\x80\x81", "m.yaml")


def test_json_stream_and_lines() -> None:
    text = (
        '{"kind": "Pod", "metadata": {"name": "a"}}\n\n{"kind": "Pod", "metadata": {"name": "b"}}'
    )
    assert kinds_and_names(text, "-") == [("Pod", "a", 1), ("Pod", "b", 3)]


def test_typed_list_items_take_the_list_kind() -> None:
    text = '{"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "a"}}]}'
    (doc,) = read_documents("pods.json", text)
    assert (doc.kind, doc.name, doc.raw["apiVersion"]) == ("Pod", "a", "v1")


def test_nested_lists_are_unpacked() -> None:
    text = (
        "kind: List\nitems:\n- kind: List\n  items:\n  - kind: Service\n    metadata: {name: s}\n"
        "- kind: NamespaceList\n  apiVersion: v1\n  items:\n  - metadata: {name: ns}\n"
    )
    assert [(k, n) for k, n, _ in kinds_and_names(text)] == [("Service", "s"), ("Namespace", "ns")]


def test_list_item_lines() -> None:
    text = "kind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n- kind: Pod\n  metadata: {name: b}\n"
    assert kinds_and_names(text) == [("Pod", "a", 3), ("Pod", "b", 5)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: List\nitems: {a: 1}\n", "m.yaml:1: List items must be a list, found a mapping"),
        ("kind: List\nitems:\n- 3\n", "m.yaml:3: list item is not an object"),
        ("kind: List\nitems:\n- metadata: {}\n", "m.yaml:3: list item has no kind"),
        ("- a\n- b\n", "m.yaml:1: expected a Kubernetes object, found a list"),
        ("metadata: {name: x}\n", "m.yaml:1: document has no kind"),
        ("kind: [Pod]\n", "m.yaml:1: document has no kind"),
    ],
)
def test_nothing_is_dropped_silently(text: str, expected: str) -> None:
    assert refused(text) == expected


def test_billion_laughs_fails_fast() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "kind: ConfigMap\nmetadata:\n  name: x\n  labels:\n" + "".join(
        f"    {line}\n" for line in lines
    )
    started = time.monotonic()
    message = refused(text)
    assert time.monotonic() - started < 2.0
    assert message.startswith("m.yaml:1: invalid YAML: excessive aliasing (")


def test_modest_aliasing_is_fine() -> None:
    text = POD + "  labels: &l {app: web}\n  annotations: *l\n"
    (doc,) = read_documents("m.yaml", text)
    assert doc.raw["metadata"]["annotations"] == {"app": "web"}


def test_a_self_referencing_alias_is_refused() -> None:
    assert refused("kind: Pod\nspec: &s\n  x: *s\n") == (
        "m.yaml:2: invalid YAML: an alias refers to itself"
    )


@pytest.mark.parametrize(
    ("text", "file", "expected"),
    [
        (
            POD + "spec:\n  port: .inf\n",
            "m.yaml",
            "m.yaml:7: invalid YAML: non-finite number '.inf'",
        ),
        (
            POD + "spec:\n  port: 9223372036854775808\n",
            "m.yaml",
            "m.yaml:7: invalid YAML: integer out of range",
        ),
        (
            POD + "spec:\n  port: " + "9" * 5000 + "\n",
            "m.yaml",
            "m.yaml:7: invalid YAML: integer out of range",
        ),
        ('{"kind": "Pod", "x": Infinity}', "p.json", "p.json: invalid JSON: non-finite number"),
        (
            '{"kind": "Pod", "x": ' + "9" * 5000 + "}",
            "p.json",
            "p.json: invalid JSON: integer out of range",
        ),
        ("[" * 100_000 + "]" * 100_000, "p.json", "p.json: invalid JSON: nested too deeply"),
        ("a: " + "[" * 5000 + "]" * 5000, "m.yaml", "m.yaml:1: invalid YAML: "),
    ],
)
def test_numbers_and_nesting_are_bounded(text: str, file: str, expected: str) -> None:
    assert refused(text, file).startswith(expected)


def test_deep_block_nesting_is_refused() -> None:
    text = "kind: Pod\n" + "".join(" " * i + f"k{i}:\n" for i in range(1900))
    assert refused(text) == "m.yaml:1001: invalid YAML: exceeded maximum nesting depth"
