"""The audit pipeline as a library: snapshot in, report out.

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
report = audit(load_snapshot(Source(manifests=("deploy/",))))
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections import Counter
from collections.abc import Iterable
from typing import cast

from kaudit.config import AuditConfig
from kaudit.exposure import inventory_of
from kaudit.findings import Finding, sort_findings
from kaudit.model import SNAPSHOT_FIELDS, Resource, Snapshot
from kaudit.netpol import PolicyEngine
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
    engine: PolicyEngine | None = None,
) -> Report:
    """Run every rule (or `rules`) over `snapshot` and assemble the report.

    A rule that reads a kind the source could not collect reports nothing (it
    would report absences that are only gaps in the data); the report lists it
    under `incomplete_rules` with the missing kinds it reads: the kinds it
    declares, and, when some kind is missing, the kinds it was seen reading.
    `engine`, when given, is the snapshot's engine, built once by a caller that asks it
    more questions.
    """
    config = config or AuditConfig()
    ctx = AuditContext(snapshot, config, engine)
    missing = snapshot.missing_resources
    findings: list[Finding] = []
    incomplete: dict[str, tuple[str, ...]] = {}
    for rule in rules if rules is not None else all_rules():
        lacking = rule.needs & missing
        if not lacking and not missing:
            findings.extend(rule.run(ctx))
            continue
        if not lacking:
            found, read = run_tracing_reads(rule, snapshot, config)
            lacking = read & missing
            if not lacking:
                findings.extend(found)
                continue
        incomplete[rule.name] = tuple(sorted(str(kind) for kind in lacking))
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
        exposure=inventory_of(ctx),
    )


def run_tracing_reads(
    rule: Rule, snapshot: Snapshot, config: AuditConfig
) -> tuple[list[Finding], frozenset[Resource]]:
    """The rule's findings, and every kind it read from the snapshot, directly or
    through the context's indexes and the policy engine (built afresh for it)."""
    read: set[Resource] = set()
    recorder = cast(Snapshot, _ReadRecorder(snapshot, read))
    return rule.run(AuditContext(recorder, config)), frozenset(read)


class _ReadRecorder:
    """Stands in for a Snapshot and records which kinds are read from it.

    Declared needs drift from what a rule reads (a selector rule reading namespace
    labels, a Service rule reading endpoint slices): recording the reads lists
    every rule a missing kind leaves incomplete. Methods and properties of
    Snapshot run against the recorder, so their reads are recorded too.
    """

    def __init__(self, snapshot: Snapshot, read: set[Resource]) -> None:
        self._snapshot = snapshot
        self._read = read

    def __getattr__(self, name: str) -> object:
        kinds = SNAPSHOT_FIELDS.get(name)
        if kinds is not None:
            self._read.update(kinds)
            return getattr(self._snapshot, name)
        member = inspect.getattr_static(Snapshot, name, None)
        if isinstance(member, property) and member.fget is not None:
            return member.fget(self)
        if inspect.isfunction(member):
            return functools.partial(member, self)
        return getattr(self._snapshot, name)


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
