"""Label selector matching, as apimachinery matches: matchLabels AND every expression."""

from __future__ import annotations

import pytest

from kaudit.model import MATCH_ALL, LabelSelector, Requirement

LABELS = {"app": "web", "tier": "front", "env": "prod"}


def selector(raw: object) -> LabelSelector:
    return LabelSelector.from_raw(raw)


@pytest.mark.parametrize(
    ("raw", "matches"),
    [
        ({}, True),
        (None, True),
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "web", "env": "dev"}}, False),
        ({"matchLabels": {"missing": "x"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}, False),
        ({"matchExpressions": [{"key": "nope", "operator": "In", "values": ["x"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]}, True),
        # NotIn matches objects without the key.
        ({"matchExpressions": [{"key": "nope", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "nope", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "nope", "operator": "DoesNotExist"}]}, True),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "stage"]},
                    {"key": "tier", "operator": "NotIn", "values": ["back"]},
                ],
            },
            True,
        ),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["stage"]}],
            },
            False,
        ),
    ],
)
def test_matches(raw: object, matches: bool) -> None:
    assert selector(raw).matches(LABELS) is matches


def test_empty_selector_matches_everything() -> None:
    assert selector({}) == MATCH_ALL
    assert MATCH_ALL.is_empty
    assert MATCH_ALL.matches({})
    assert MATCH_ALL.describe() == "{} (everything)"


def test_describe() -> None:
    described = selector(
        {
            "matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "tier", "operator": "NotIn", "values": ["x"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    ).describe()
    assert described == "a=1,b=2,env in (dev,prod),tier notin (x),team,!legacy"


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label selector operator 'Equals'"):
        selector({"matchExpressions": [{"key": "a", "operator": "Equals"}]})
    with pytest.raises(ValueError, match="unknown label selector operator 'Gt'"):
        Requirement("a", "Gt", frozenset()).matches(LABELS)
