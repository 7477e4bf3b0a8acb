"""The rule catalogue is assembled once, from the families' lists, and refuses bad rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaudit.findings import Severity
from kaudit.model import Resource
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, RegistryError, Rule, rule
from kaudit.rules.registry import FAMILIES, REGISTRY, Registry, all_rules, find_rule


def nothing(ctx: AuditContext) -> Iterator[Hit]:
    return iter(())


def make(rule_id: str = "KA901", name: str = "test-rule", category: str = "policy") -> Rule:
    return rule(
        id=rule_id,
        name=name,
        title="A test rule",
        severity=Severity.LOW,
        category=category,
        rationale="Because.",
        remediation="Fix it.",
        needs=(Resource.PODS,),
    )(nothing)


def test_the_registry_holds_every_family_once_in_id_order() -> None:
    members = [r for family in FAMILIES for r in family]
    assert len(REGISTRY.rules) == len(members) == len({r.id for r in members})
    assert [r.id for r in all_rules()] == sorted(r.id for r in members)


def test_rules_are_found_by_id_in_any_case_and_by_name() -> None:
    assert find_rule("ka204") is find_rule("KA204") is find_rule(" service-nodeport ")
    assert find_rule("KA999") is None
    assert find_rule("no-such-rule") is None


def test_the_catalogue_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        REGISTRY.by_key["KA999"] = make()  # type: ignore[index]
    listed = all_rules()
    listed.clear()
    assert all_rules()


@pytest.mark.parametrize(
    ("rule_id", "name", "category", "problem"),
    [
        ("KA01", "test-rule", "policy", "does not look like KA123"),
        ("KA901", "TestRule", "policy", "is not kebab-case"),
        ("KA901", "test-rule", "network", "unknown category"),
    ],
)
def test_a_malformed_rule_fails_loudly(
    rule_id: str, name: str, category: str, problem: str
) -> None:
    with pytest.raises(RegistryError, match=problem):
        make(rule_id, name, category)


@pytest.mark.parametrize(
    "clash", [make("KA901", "other-rule"), make("KA902", "test-rule")], ids=["id", "name"]
)
def test_a_duplicate_id_or_name_fails_loudly(clash: Rule) -> None:
    with pytest.raises(RegistryError, match="clashes with KA901 test-rule"):
        Registry.build([(make(),), (clash,)])


def test_a_rule_built_by_hand_is_checked_too() -> None:
    malformed = Rule(
        id="KA9",
        name="test-rule",
        title="t",
        severity=Severity.LOW,
        category="policy",
        rationale="r",
        remediation="f",
        references=(),
        needs=frozenset(),
        check=nothing,
    )
    with pytest.raises(RegistryError):
        Registry.build([(malformed,)])
