"""User configuration: severity overrides, suppressions and namespace weighting."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from kaudit.findings import Finding, Severity

if TYPE_CHECKING:
    from kaudit.rules.registry import Rule

# Namespaces that belong to the platform rather than to applications. Their
# findings are reported apart (see `AuditConfig.include_system`).
SYSTEM_NAMESPACES = frozenset(
    {
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "local-path-storage",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "cilium",
        "cilium-system",
        "kube-flannel",
        "antrea-system",
    }
)

IGNORE_ANNOTATION = "kaudit.io/ignore"
IGNORE_REASON_ANNOTATION = "kaudit.io/ignore-reason"


@dataclass(frozen=True, slots=True)
class Suppression:
    """Silence `rule` (ID, name or `*`) on objects whose `namespace/name` matches `target` (glob)."""

    rule: str
    target: str = "*"
    reason: str = ""

    def matches(self, finding: Finding) -> bool:
        rule_ok = self.rule in ("*", finding.rule_id, finding.rule_name)
        ref = finding.resource
        return rule_ok and fnmatch.fnmatchcase(ref.qualified_name, self.target)


@dataclass(frozen=True, slots=True)
class AuditConfig:
    severity_overrides: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    suppressions: tuple[Suppression, ...] = ()
    # False: findings in system namespaces are reported in their own section.
    include_system: bool = False
    system_namespaces: frozenset[str] = SYSTEM_NAMESPACES

    def severity_for(self, rule: Rule, default: Severity) -> Severity:
        return (
            self.severity_overrides.get(rule.id)
            or self.severity_overrides.get(rule.name)
            or default
        )

    def is_system_namespace(self, namespace: str) -> bool:
        return namespace in self.system_namespaces
