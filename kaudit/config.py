"""User configuration as plain values: severity overrides, suppressions, system namespaces.

Reading and checking the `--config` file is `kaudit/config_file.py`'s work.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from kaudit.findings import Finding, Severity
from kaudit.kube import SYSTEM_NAMESPACES

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


class RuleKeys(Protocol):
    """How a rule is named in the configuration: by ID or by name."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AuditConfig:
    severity_overrides: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    suppressions: tuple[Suppression, ...] = ()
    # False: findings in system namespaces are reported in their own section.
    include_system: bool = False
    system_namespaces: frozenset[str] = SYSTEM_NAMESPACES

    def severity_for(self, rule: RuleKeys, default: Severity) -> Severity:
        # Not `or`: an override to Severity.INFO (0) must win too.
        for key in (rule.id, rule.name):
            if key in self.severity_overrides:
                return self.severity_overrides[key]
        return default

    def is_system_namespace(self, namespace: str) -> bool:
        return namespace in self.system_namespaces
