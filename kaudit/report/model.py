"""The report: everything an audit found, ready for any renderer."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kaudit.exposure import ExposureInventory
from kaudit.findings import Finding, Severity
from kaudit.model import ClusterFacts, CollectionWarning
from kaudit.netpol.summary import ReachabilitySummary


@dataclass(frozen=True, slots=True)
class SuppressedFinding:
    finding: Finding
    reason: str  # e.g. "annotation kaudit.io/ignore on Namespace/dev" or "config: team says so"


@dataclass(frozen=True, slots=True)
class NamespaceSummary:
    name: str
    system: bool
    pods: int
    services: int
    policies: int
    ingress_isolated_pods: int  # pods selected by a policy with policyTypes Ingress
    egress_isolated_pods: int
    host_network_pods: int
    exposed_services: tuple[str, ...]  # NodePort / LoadBalancer / externalIPs, as "name (type)"
    findings: Mapping[str, int]  # severity label -> count


@dataclass(frozen=True, slots=True)
class Report:
    facts: ClusterFacts
    generated_at: dt.datetime
    findings: tuple[Finding, ...]
    suppressed: tuple[SuppressedFinding, ...] = ()
    namespaces: tuple[NamespaceSummary, ...] = ()
    warnings: tuple[CollectionWarning, ...] = ()
    # Rules that could not run fully because a kind they need was not collected.
    incomplete_rules: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # The engine's reachability summary (kaudit.netpol.summary), or None when skipped.
    reachability: ReachabilitySummary | None = None
    system_namespaces: frozenset[str] = frozenset()
    # Findings below this severity were left out (`--min-severity`); INFO means none were.
    min_severity: Severity = Severity.INFO
    # What the outside world can reach (kaudit.exposure), or None when not computed (a
    # report saved by a version before the inventory).
    exposure: ExposureInventory | None = None

    @property
    def counts(self) -> dict[Severity, int]:
        counter = Counter(f.severity for f in self.findings)
        return {s: counter.get(s, 0) for s in sorted(Severity, reverse=True)}

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= threshold]

    @property
    def complete(self) -> bool:
        """False when a whole kind could not be collected (other warnings are informational)."""
        return not any(w.kind is not None for w in self.warnings)

    def is_system(self, finding: Finding) -> bool:
        return finding.resource.scope in self.system_namespaces
