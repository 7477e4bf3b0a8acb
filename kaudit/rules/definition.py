"""What a rule is: its metadata, its check function, and how it runs.

A rule is a function `check(ctx) -> Iterable[Hit]` decorated with `@rule(...)`.
The decorator checks and records the metadata (a stable ID that is never reused,
a fixed kebab-case name, severity, category, rationale, remediation, references)
and the kinds the rule reads, so that a partial collection marks the rule
incomplete instead of silently reporting nothing. The decorator registers
nothing: each family module lists its rules in `RULES`, and
`kaudit/rules/registry.py` assembles the catalogue from those lists.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from kaudit.findings import Finding, Severity, frozen_evidence
from kaudit.jsontypes import JsonValue
from kaudit.model import LIVE, ObjectRef, Origin, Resource

if TYPE_CHECKING:
    from kaudit.rules.context import AuditContext

RULE_ID = re.compile(r"^KA[1-9]\d{2}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
CATEGORIES = ("policy", "service", "ingress", "pod", "lateral")


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check reports; the registry turns it into a `Finding` with the rule's metadata."""

    resource: ObjectRef
    message: str
    evidence: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))
    remediation: str | None = None  # overrides the rule's generic remediation
    severity: Severity | None = None  # overrides the rule's default severity
    origin: Origin = LIVE


CheckFunction = Callable[["AuditContext"], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    title: str
    severity: Severity
    category: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    needs: frozenset[Resource]
    check: CheckFunction = field(compare=False, repr=False)

    def run(self, ctx: AuditContext) -> list[Finding]:
        findings = []
        for hit in self.check(ctx):
            # Not `or`: Severity.INFO is 0, hence falsy.
            default = hit.severity if hit.severity is not None else self.severity
            severity = ctx.config.severity_for(self, default)
            findings.append(
                Finding(
                    rule_id=self.id,
                    rule_name=self.name,
                    severity=severity,
                    resource=hit.resource,
                    message=hit.message,
                    evidence=frozen_evidence(hit.evidence),
                    remediation=hit.remediation
                    if hit.remediation is not None
                    else self.remediation,
                    origin=hit.origin,
                )
            )
        return findings


class RegistryError(Exception):
    """A malformed or duplicate rule: a programming error, raised at import time."""


def check_metadata(rule: Rule) -> None:
    """Raise RegistryError unless the rule's ID, name, category and texts are well formed."""
    if not RULE_ID.match(rule.id):
        raise RegistryError(f"rule ID {rule.id!r} does not look like KA123")
    if not RULE_NAME.match(rule.name):
        raise RegistryError(f"rule name {rule.name!r} is not kebab-case")
    if rule.category not in CATEGORIES:
        raise RegistryError(f"rule {rule.id}: unknown category {rule.category!r}")
    if not rule.title or not rule.rationale.strip() or not rule.remediation.strip():
        raise RegistryError(f"rule {rule.id}: title, rationale and remediation are required")


def rule(
    *,
    id: str,
    name: str,
    title: str,
    severity: Severity,
    category: str,
    rationale: str,
    remediation: str,
    references: Iterable[str] = (),
    needs: Iterable[Resource] = (),
) -> Callable[[CheckFunction], Rule]:
    """Turn a check function into a `Rule` with this metadata (checked at once)."""

    def define(check: CheckFunction) -> Rule:
        defined = Rule(
            id=id,
            name=name,
            title=title,
            severity=severity,
            category=category,
            rationale=textwrap.dedent(rationale).strip(),
            remediation=textwrap.dedent(remediation).strip(),
            references=tuple(references),
            needs=frozenset(needs),
            check=check,
        )
        check_metadata(defined)
        return defined

    return define
