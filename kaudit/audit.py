"""The audit pipeline as a library: snapshot in, report out.

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
report = audit(load_snapshot(Source(manifests=("deploy/",))))
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from kaudit.config import AuditConfig
from kaudit.findings import Finding, sort_findings
from kaudit.model import Snapshot
from kaudit.report.model import NamespaceSummary, Report
from kaudit.rules.context import AuditContext
from kaudit.rules.registry import Rule, all_rules
from kaudit.suppress import split_suppressed

EXPOSED_SERVICE_TYPES = ("NodePort", "LoadBalancer")


def audit(
    snapshot: Snapshot,
    config: AuditConfig | None = None,
    *,
    now: dt.datetime | None = None,
    rules: Iterable[Rule] | None = None,
    reachability: bool = True,
) -> Report:
    """Run every rule (or `rules`) over `snapshot` and assemble the report.

    A rule that needs a kind the source could not collect is not run (it would
    report absences that are only gaps in the data); the report lists it under
    `incomplete_rules` with the missing kinds.
    """
    config = config or AuditConfig()
    ctx = AuditContext(snapshot, config)
    missing = snapshot.missing_resources
    findings: list[Finding] = []
    incomplete: dict[str, tuple[str, ...]] = {}
    for rule in rules if rules is not None else all_rules():
        lacking = rule.needs & missing
        if lacking:
            incomplete[rule.name] = tuple(sorted(str(kind) for kind in lacking))
            continue
        findings.extend(rule.run(ctx))
    kept, suppressed = split_suppressed(sort_findings(findings), snapshot, config)
    system = frozenset(
        ns.name
        for ns in snapshot.namespaces
        if config.is_system_namespace(ns.name) and not config.include_system
    )
    return Report(
        facts=snapshot.facts,
        generated_at=now or dt.datetime.now(dt.UTC).replace(microsecond=0),
        findings=tuple(kept),
        suppressed=tuple(suppressed),
        namespaces=namespace_summaries(ctx, kept, system),
        warnings=snapshot.warnings,
        incomplete_rules=incomplete,
        reachability=ctx.engine.summary() if reachability and snapshot.pods else None,
        system_namespaces=system,
    )


def namespace_summaries(
    ctx: AuditContext, findings: Iterable[Finding], system: frozenset[str]
) -> tuple[NamespaceSummary, ...]:
    by_namespace: dict[str, Counter[str]] = {}
    for finding in findings:
        by_namespace.setdefault(finding.resource.scope, Counter())[finding.severity.label] += 1
    summaries = []
    for ns in ctx.snapshot.namespaces:
        pods = ctx.pods_by_namespace.get(ns.name, [])
        isolation = [ctx.engine.isolation(p) for p in pods]
        services = [s for s in ctx.snapshot.services if s.namespace == ns.name]
        exposed = tuple(
            f"{s.name} ({s.type})" if s.type in EXPOSED_SERVICE_TYPES else f"{s.name} (externalIPs)"
            for s in services
            if s.type in EXPOSED_SERVICE_TYPES or s.external_ips
        )
        summaries.append(
            NamespaceSummary(
                name=ns.name,
                system=ns.name in system,
                pods=len(pods),
                services=len(services),
                policies=len(ctx.policies_by_namespace.get(ns.name, [])),
                ingress_isolated_pods=sum(1 for i in isolation if i.ingress_isolated),
                egress_isolated_pods=sum(1 for i in isolation if i.egress_isolated),
                host_network_pods=sum(1 for p in pods if p.host_network),
                exposed_services=exposed,
                findings=dict(sorted(by_namespace.get(ns.name, Counter()).items())),
            )
        )
    return tuple(summaries)
