"""SARIF 2.1.0 for code-scanning tools: one reportingDescriptor per rule, one result per finding.

Findings on objects read from manifests point at the file and line of the object; findings
from a live cluster carry only a logical location (Kind/namespace/name).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

import kaudit
from kaudit.findings import Finding, Severity
from kaudit.jsontypes import JsonArray, JsonObject, json_array
from kaudit.report.jsonio import format_timestamp, to_plain
from kaudit.report.kinds import ignored_kinds_text, unevaluated_policy_caveat
from kaudit.report.model import Report
from kaudit.rules.registry import Rule, all_rules

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kaudit/kaudit"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks security alerts by this score (critical > 9.0, high 7.0-8.9,
# medium 4.0-6.9, low 0.1-3.9); informational findings carry none.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


def render_sarif(report: Report) -> str:
    return json.dumps(report_to_sarif(report), indent=2, ensure_ascii=False) + "\n"


def report_to_sarif(report: Report) -> JsonObject:
    rule_ids, descriptors = _descriptors(report)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results: JsonArray = [
        _result(f, index) for f in sorted(report.findings, key=lambda f: f.sort_key)
    ]
    results += [
        _result(s.finding, index, suppression=s.reason)
        for s in sorted(report.suppressed, key=lambda s: s.finding.sort_key)
    ]
    notifications: JsonArray = [
        {"level": "warning", "message": {"text": w.message}} for w in report.warnings
    ]
    notifications.extend(
        {
            "level": "warning",
            "message": {"text": f"rule {rule} did not run: missing {', '.join(kinds)}"},
        }
        for rule, kinds in sorted(report.incomplete_rules.items())
    )
    ignored = ignored_kinds_text(report.facts.ignored_kinds)
    if ignored:
        notifications.append(
            {"level": "note", "message": {"text": f"kinds not audited: {ignored}"}}
        )
    caveat = unevaluated_policy_caveat(report.facts.ignored_kinds)
    if caveat:
        notifications.append({"level": "warning", "message": {"text": caveat}})
    run: JsonObject = {
        "tool": {
            "driver": {
                "name": "kaudit",
                "version": kaudit.__version__,
                "semanticVersion": kaudit.__version__,
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "endTimeUtc": format_timestamp(report.generated_at),
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "properties": {
            "source": report.facts.source,
            "complete": report.complete,
            "minSeverity": report.min_severity.label,
        },
    }
    if report.facts.context:
        run["automationDetails"] = {"id": f"kaudit/{report.facts.context}/"}
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _descriptors(report: Report) -> tuple[list[str], JsonArray]:
    """Every rule of the catalogue, plus any rule only a saved (older) report knows: their
    IDs and their descriptors, in the same order."""
    catalogue = all_rules()
    rule_ids = [r.id for r in catalogue]
    descriptors: JsonArray = [_descriptor(r) for r in catalogue]
    known = set(rule_ids)
    every_finding = [*report.findings, *(s.finding for s in report.suppressed)]
    for finding in sorted(every_finding, key=lambda f: f.rule_id):
        if finding.rule_id not in known:
            known.add(finding.rule_id)
            rule_ids.append(finding.rule_id)
            descriptors.append(
                {
                    "id": finding.rule_id,
                    "name": finding.rule_name,
                    "shortDescription": {"text": finding.rule_name},
                }
            )
    return rule_ids, descriptors


def _descriptor(rule: Rule) -> JsonObject:
    help_markdown = rule.remediation
    if rule.references:
        help_markdown += "\n\nReferences:\n" + "\n".join(f"- {ref}" for ref in rule.references)
    properties: JsonObject = {
        "tags": ["security", "kubernetes", rule.category],
        "category": rule.category,
        "severity": rule.severity.label,
        "references": json_array(rule.references),
    }
    descriptor: JsonObject = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.remediation, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": properties,
    }
    if rule.references:
        descriptor["helpUri"] = rule.references[0]
    if rule.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    return descriptor


def _result(
    finding: Finding, rule_index: dict[str, int], suppression: str | None = None
) -> JsonObject:
    ref = finding.resource
    location: JsonObject = {
        "logicalLocations": [
            {
                "name": ref.name,
                "fullyQualifiedName": str(ref),
                "kind": "resource",
            }
        ]
    }
    if finding.origin.file:
        region: JsonObject | None = (
            {"startLine": finding.origin.line} if finding.origin.line else None
        )
        location["physicalLocation"] = {
            "artifactLocation": {"uri": artifact_uri(finding.origin.file)},
            **({"region": region} if region else {}),
        }
    properties: JsonObject = {
        "severity": finding.severity.label,
        "resource": {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name},
        "evidence": to_plain(finding.evidence),
        "remediation": finding.remediation,
    }
    result: JsonObject = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index[finding.rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {"kauditFinding/v1": finding.fingerprint},
        "properties": properties,
    }
    if finding.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[finding.severity]
    if suppression is not None:
        result["suppressions"] = [{"kind": "external", "justification": suppression}]
    return result


def artifact_uri(path: str) -> str:
    """A relative path as a relative URI reference (what code scanning resolves against the
    repository root); an absolute path as a file:// URI."""
    if PureWindowsPath(path).drive:
        return PureWindowsPath(path).as_uri()
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return posix.as_uri()
    return quote(str(posix))
