"""The rule registry: every rule's metadata, its check function, and how it runs.

A rule is a function `check(ctx) -> Iterable[Hit]` decorated with `@rule(...)`.
The decorator records the metadata (a stable ID that is never reused, a fixed
kebab-case name, severity, category, rationale, remediation, references) and the
kinds the rule reads, so that a partial collection marks the rule incomplete
instead of silently reporting nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kaudit.findings import Finding, Severity, frozen_evidence
from kaudit.model import LIVE, Kind, ObjectRef, Origin

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
    evidence: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
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
    needs: frozenset[Kind]
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


_RULES: dict[str, Rule] = {}


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
    needs: Iterable[Kind] = (),
) -> Callable[[CheckFunction], Rule]:
    def register(check: CheckFunction) -> Rule:
        if not RULE_ID.match(id):
            raise RegistryError(f"rule ID {id!r} does not look like KA123")
        if not RULE_NAME.match(name):
            raise RegistryError(f"rule name {name!r} is not kebab-case")
        if category not in CATEGORIES:
            raise RegistryError(f"rule {id}: unknown category {category!r}")
        if not title or not rationale.strip() or not remediation.strip():
            raise RegistryError(f"rule {id}: title, rationale and remediation are required")
        for existing in _RULES.values():
            if existing.id == id or existing.name == name:
                raise RegistryError(f"rule {id} {name} clashes with {existing.id} {existing.name}")
        registered = Rule(
            id=id,
            name=name,
            title=title,
            severity=severity,
            category=category,
            rationale=_dedent(rationale),
            remediation=_dedent(remediation),
            references=tuple(references),
            needs=frozenset(needs),
            check=check,
        )
        _RULES[id] = registered
        return registered

    return register


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip()


def all_rules() -> list[Rule]:
    """Every registered rule, in ID order (importing the rule modules first)."""
    import kaudit.rules  # noqa: F401  (registers the catalogue)

    return sorted(_RULES.values(), key=lambda r: r.id)


def find_rule(key: str) -> Rule | None:
    """A rule by ID (case-insensitive) or by name."""
    key = key.strip()
    for r in all_rules():
        if r.id == key.upper() or r.name == key.lower():
            return r
    return None
