"""The JSON report: a versioned, documented schema (docs/report-schema.md), read back losslessly.

`report_to_dict` is the single source of what a saved audit holds; `kaudit report FILE.json`
and `kaudit diff` rebuild a `Report` from it with `report_from_json`, so every renderer works
the same on a saved audit as on a fresh one.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

import kaudit
from kaudit.errors import InputError
from kaudit.findings import Finding, Severity, frozen_evidence
from kaudit.jsontypes import JsonObject, JsonValue, json_array
from kaudit.model import LIVE, ClusterFacts, CollectionWarning, ObjectRef, Origin, Resource
from kaudit.netpol.summary import (
    IsolationCounts,
    PairCount,
    PodClassSummary,
    ReachabilitySummary,
    ReachCount,
)
from kaudit.parsing import parse_json
from kaudit.report.exposure_io import exposure_from_dict, exposure_to_dict
from kaudit.report.kinds import unevaluated_policy_caveat
from kaudit.report.model import NamespaceSummary, Report, SuppressedFinding

# Bumped only on a breaking change (a field removed, renamed or retyped, or a new field
# required); adding an optional field keeps the version, so readers must ignore fields
# they do not know. Version 2 requires `exposure`. Version 1 reports are still read
# (their `exposure` is null: not computed).
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)


# --- writing ----------------------------------------------------------------------------------


def report_to_dict(report: Report) -> JsonObject:
    """The report as JSON-ready data, with a stable order for every list."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "kaudit", "version": kaudit.__version__},
        "generatedAt": format_timestamp(report.generated_at),
        "complete": report.complete,
        "minSeverity": report.min_severity.label,
        "cluster": facts_to_dict(report.facts),
        "summary": {
            "total": len(report.findings),
            "bySeverity": {s.label: n for s, n in report.counts.items()},
            "suppressed": len(report.suppressed),
        },
        "findings": [finding_to_dict(f, report) for f in _sorted(report.findings)],
        "suppressed": [
            {"finding": finding_to_dict(s.finding, report), "reason": s.reason}
            for s in sorted(report.suppressed, key=lambda s: (s.finding.sort_key, s.reason))
        ],
        "namespaces": [
            _namespace_to_dict(n) for n in sorted(report.namespaces, key=lambda n: n.name)
        ],
        "warnings": [
            {"message": w.message, "kind": w.kind.value if w.kind else None}
            for w in report.warnings
        ],
        "incompleteRules": {
            rule: json_array(sorted(kinds))
            for rule, kinds in sorted(report.incomplete_rules.items())
        },
        "reachability": reachability_to_dict(report.reachability)
        if report.reachability is not None
        else None,
        "systemNamespaces": json_array(sorted(report.system_namespaces)),
        "exposure": exposure_to_dict(report.exposure) if report.exposure is not None else None,
    }


def report_to_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"


def finding_to_dict(finding: Finding, report: Report | None = None) -> JsonObject:
    ref = finding.resource
    data: JsonObject = {
        "ruleId": finding.rule_id,
        "ruleName": finding.rule_name,
        "severity": finding.severity.label,
        "resource": {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name},
        "message": finding.message,
        "evidence": to_plain(finding.evidence),
        "remediation": finding.remediation,
        "origin": _origin_to_dict(finding.origin),
        "fingerprint": finding.fingerprint,
    }
    if report is not None:
        data["system"] = report.is_system(finding)
    return data


def _sorted(findings: tuple[Finding, ...]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.sort_key)


def format_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, e.g. 2026-01-15T09:30:00Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    text = moment.astimezone(dt.UTC).isoformat()
    return text.replace("+00:00", "Z")


def facts_to_dict(facts: ClusterFacts) -> JsonObject:
    return {
        "source": facts.source,
        "context": facts.context,
        "server": facts.server,
        "serverVersion": facts.server_version,
        "cni": list(facts.cni),
        "cniChecked": facts.cni_checked,
        "inputs": list(facts.inputs),
        "ignoredKinds": dict(sorted(facts.ignored_kinds.items())),
        "notes": list(facts.notes),
        # Derived from ignoredKinds, for readers of the JSON; not read back.
        "policyCaveat": unevaluated_policy_caveat(facts.ignored_kinds),
    }


def _origin_to_dict(origin: Origin) -> JsonObject | None:
    if origin.file is None:
        return None
    return {"file": origin.file, "line": origin.line, "document": origin.document}


def _namespace_to_dict(summary: NamespaceSummary) -> JsonObject:
    return {
        "name": summary.name,
        "system": summary.system,
        "pods": summary.pods,
        "services": summary.services,
        "policies": summary.policies,
        "ingressIsolatedPods": summary.ingress_isolated_pods,
        "egressIsolatedPods": summary.egress_isolated_pods,
        "hostNetworkPods": summary.host_network_pods,
        "exposedServices": list(summary.exposed_services),
        "findings": {s.label: summary.findings.get(s.label, 0) for s in _SEVERITIES_DESC},
    }


_SEVERITIES_DESC = sorted(Severity, reverse=True)


def to_plain(value: object) -> JsonValue:
    """Mapping proxies, tuples and sets as plain dicts and lists, so `json` can write them;
    anything that is not a JSON scalar becomes its string."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_plain(v) for v in value), key=repr)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def reachability_to_dict(summary: ReachabilitySummary) -> JsonObject:
    """The engine's reachability summary as JSON-ready data (snake_case, as the engine names it)."""
    # Equal cells are one object in the summary; write each distinct one once.
    cells: dict[int, JsonObject] = {}

    def cell(pairs: PairCount) -> JsonObject:
        found = cells.get(id(pairs))
        if found is None:
            found = cells[id(pairs)] = {"allowed": pairs.allowed, "total": pairs.total}
        return found

    return {
        "pods": summary.pods,
        "namespaces": summary.namespaces,
        "policies": summary.policies,
        "classes": summary.classes,
        "isolation": {
            "ingress_isolated": summary.isolation.ingress_isolated,
            "egress_isolated": summary.isolation.egress_isolated,
            "host_network": summary.isolation.host_network,
        },
        "pod_classes": [_pod_class_to_dict(c) for c in summary.pod_classes],
        "namespace_matrix": {
            src: {dst: cell(pairs) for dst, pairs in row.items()}
            for src, row in summary.namespace_matrix.items()
        },
        "notes": list(summary.notes),
    }


def _pod_class_to_dict(entry: PodClassSummary) -> JsonObject:
    return {
        "namespace": entry.namespace,
        "pods": list(entry.pods),
        "host_network": entry.host_network,
        "ingress_isolated": entry.ingress_isolated,
        "egress_isolated": entry.egress_isolated,
        "ingress_policies": list(entry.ingress_policies),
        "egress_policies": list(entry.egress_policies),
        "can_reach": {"pods": entry.can_reach.pods, "namespaces": entry.can_reach.namespaces},
        "reachable_from": {
            "pods": entry.reachable_from.pods,
            "namespaces": entry.reachable_from.namespaces,
        },
    }


# --- schema -----------------------------------------------------------------------------------


@functools.cache
def report_schema() -> dict[str, Any]:
    """The shipped JSON Schema (draft 2020-12) of the report."""
    text = resources.files("kaudit.report").joinpath("schema/report.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_report_dict(data: Any) -> None:
    """Raise `jsonschema.ValidationError` when `data` is not a valid report."""
    # Imported here: writing reports does not need it, only reading them back.
    import jsonschema

    jsonschema.Draft202012Validator(report_schema()).validate(data)


# --- reading ----------------------------------------------------------------------------------
# Saved audits come in as parsed JSON, untyped until the schema has checked them.


def report_from_json(text: str, source_name: str) -> Report:
    """Rebuild a Report from a saved JSON audit; a bad file raises a one-line InputError."""
    data = parse_json(text, source_name)
    if not isinstance(data, dict) or "schemaVersion" not in data:
        raise InputError(f"{source_name}: not a kaudit JSON report (no schemaVersion)")
    if data["schemaVersion"] not in READABLE_VERSIONS:
        raise InputError(
            f"{source_name}: report schema version {data['schemaVersion']!r} is not supported"
            f" (this kaudit reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    if data["schemaVersion"] == 1:
        # Version 1 had no exposure inventory: read it as one not computed.
        data = {**data, "schemaVersion": SCHEMA_VERSION, "exposure": None}
    import jsonschema

    try:
        validate_report_dict(data)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        reason = error.message.splitlines()[0]
        raise InputError(f"{source_name}: not a valid kaudit report at {where}: {reason}") from None
    return report_from_dict(data)


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """The inverse of `report_to_dict`, for data that passed the schema."""
    return Report(
        facts=_facts_from_dict(data["cluster"]),
        generated_at=dt.datetime.fromisoformat(data["generatedAt"]),
        findings=tuple(finding_from_dict(f) for f in data["findings"]),
        suppressed=tuple(
            SuppressedFinding(finding=finding_from_dict(s["finding"]), reason=s["reason"])
            for s in data["suppressed"]
        ),
        namespaces=tuple(_namespace_from_dict(n) for n in data["namespaces"]),
        warnings=tuple(
            CollectionWarning(message=w["message"], kind=Resource(w["kind"]) if w["kind"] else None)
            for w in data["warnings"]
        ),
        incomplete_rules=MappingProxyType(
            {rule: tuple(kinds) for rule, kinds in data["incompleteRules"].items()}
        ),
        reachability=reachability_from_dict(data["reachability"])
        if data["reachability"] is not None
        else None,
        system_namespaces=frozenset(data["systemNamespaces"]),
        min_severity=Severity.parse(data.get("minSeverity", "info")),
        exposure=exposure_from_dict(data["exposure"]) if data.get("exposure") is not None else None,
    )


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    resource = data["resource"]
    origin = data.get("origin")
    return Finding(
        rule_id=data["ruleId"],
        rule_name=data["ruleName"],
        severity=Severity.parse(data["severity"]),
        resource=ObjectRef(resource["kind"], resource["namespace"], resource["name"]),
        message=data["message"],
        evidence=frozen_evidence(data["evidence"]),
        remediation=data["remediation"],
        origin=Origin(origin["file"], origin.get("line"), origin.get("document"))
        if origin
        else LIVE,
    )


def _facts_from_dict(data: Mapping[str, Any]) -> ClusterFacts:
    return ClusterFacts(
        source=data["source"],
        context=data["context"],
        server=data["server"],
        server_version=data["serverVersion"],
        cni=tuple(data["cni"]),
        cni_checked=data["cniChecked"],
        inputs=tuple(data["inputs"]),
        ignored_kinds=MappingProxyType(dict(data["ignoredKinds"])),
        notes=tuple(data.get("notes", ())),
    )


def _namespace_from_dict(data: Mapping[str, Any]) -> NamespaceSummary:
    return NamespaceSummary(
        name=data["name"],
        system=data["system"],
        pods=data["pods"],
        services=data["services"],
        policies=data["policies"],
        ingress_isolated_pods=data["ingressIsolatedPods"],
        egress_isolated_pods=data["egressIsolatedPods"],
        host_network_pods=data["hostNetworkPods"],
        exposed_services=tuple(data["exposedServices"]),
        findings=MappingProxyType(dict(data["findings"])),
    )


def reachability_from_dict(data: Mapping[str, Any]) -> ReachabilitySummary:
    """The inverse of `reachability_to_dict`."""
    isolation = data["isolation"]
    cells: dict[tuple[int, int], PairCount] = {}

    def cell(pairs: Mapping[str, int]) -> PairCount:
        key = (pairs["allowed"], pairs["total"])
        found = cells.get(key)
        if found is None:
            found = cells[key] = PairCount(*key)
        return found

    return ReachabilitySummary(
        pods=data["pods"],
        namespaces=data["namespaces"],
        policies=data["policies"],
        classes=data["classes"],
        isolation=IsolationCounts(
            ingress_isolated=isolation["ingress_isolated"],
            egress_isolated=isolation["egress_isolated"],
            host_network=isolation["host_network"],
        ),
        pod_classes=tuple(_pod_class_from_dict(c) for c in data["pod_classes"]),
        namespace_matrix=MappingProxyType(
            {
                src: MappingProxyType({dst: cell(pairs) for dst, pairs in row.items()})
                for src, row in data["namespace_matrix"].items()
            }
        ),
        notes=tuple(data["notes"]),
    )


def _pod_class_from_dict(data: Mapping[str, Any]) -> PodClassSummary:
    return PodClassSummary(
        namespace=data["namespace"],
        pods=tuple(data["pods"]),
        host_network=data["host_network"],
        ingress_isolated=data["ingress_isolated"],
        egress_isolated=data["egress_isolated"],
        ingress_policies=tuple(data["ingress_policies"]),
        egress_policies=tuple(data["egress_policies"]),
        can_reach=ReachCount(data["can_reach"]["pods"], data["can_reach"]["namespaces"]),
        reachable_from=ReachCount(
            data["reachable_from"]["pods"], data["reachable_from"]["namespaces"]
        ),
    )
