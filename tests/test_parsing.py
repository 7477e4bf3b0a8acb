"""The bounded parsers every file goes through: saved reports, --config, manifests."""

from __future__ import annotations

import pytest

from kaudit.errors import InputError
from kaudit.parsing import json_values, parse_json, parse_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "r.json: invalid JSON: nested too deeply"),
        ('{"schemaVersion": ' + "9" * 5000 + "}", "r.json: invalid JSON: integer out of range"),
        ('{"a": NaN}', "r.json: invalid JSON: non-finite number NaN"),
        ("{} {}", "r.json: invalid JSON: expected one value, found 2"),
        ("{", "r.json:1: invalid JSON: Expecting property name enclosed in double quotes"),
    ],
)
def test_json_is_bounded(text: str, expected: str) -> None:
    with pytest.raises(InputError) as error:
        parse_json(text, "r.json")
    assert str(error.value) == expected


def test_json_values() -> None:
    assert parse_json('{"a": [1, 2.5, "x", null, true]}', "r.json") == {
        "a": [1, 2.5, "x", None, True]
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: " + "[" * 100_000, "c.yaml:1: invalid YAML: exceeded maximum nesting depth"),
        ("a: 1\n---\nb: 2\n", "c.yaml: expected one YAML document, found 2"),
        ("x: &x [*x]\n", "c.yaml:1: invalid YAML: an alias refers to itself"),
    ],
)
def test_yaml_is_bounded(text: str, expected: str) -> None:
    with pytest.raises(InputError) as error:
        parse_yaml(text, "c.yaml")
    assert str(error.value) == expected


def test_yaml_values() -> None:
    assert parse_yaml("", "c.yaml") is None
    assert parse_yaml("op: =\nwhen: 2024-01-31\nn: 3\n", "c.yaml") == {
        "op": "=",
        "when": "2024-01-31",
        "n": 3,
    }


def test_one_json_value_keeps_its_line_and_exact_integers() -> None:
    text = '\n\n  {"big": 18446744073709551616, "n": [1.5, -2]}\n'
    assert json_values("r.json", text, strict=True) == [
        (3, {"big": 18446744073709551616, "n": [1.5, -2]})
    ]


def test_a_json_stream_still_reads_value_by_value() -> None:
    assert json_values("r.json", '{"a": 1}\n{"b": 2}\n', strict=True) == [
        (1, {"a": 1}),
        (2, {"b": 2}),
    ]
