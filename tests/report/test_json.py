"""The JSON report: schema-valid, stable, and read back without loss."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.model import Resource
from kaudit.netpol.summary import PairCount
from kaudit.report.jsonio import (
    SCHEMA_VERSION,
    report_from_json,
    report_schema,
    report_to_json,
    validate_report_dict,
)
from kaudit.report.model import Report
from kaudit.report.render import Format, render


def saved(report: Report) -> Any:
    """The report as a saved audit holds it: parsed from the JSON text."""
    return json.loads(report_to_json(report))


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(report_schema())


def test_output_validates_against_the_shipped_schema(sample_report: Report) -> None:
    data = json.loads(render(sample_report, Format.JSON))
    validate_report_dict(data)
    assert data["schemaVersion"] == SCHEMA_VERSION == 2


def test_schema_lists_every_kind_the_collector_knows() -> None:
    assert report_schema()["$defs"]["kind"]["enum"] == [k.value for k in Resource]


def test_content(sample_report: Report) -> None:
    data = saved(sample_report)
    assert data["generatedAt"] == "2026-01-15T09:30:00Z"
    assert data["summary"] == {
        "total": 9,
        "bySeverity": {"critical": 1, "high": 3, "medium": 3, "low": 1, "info": 1},
        "suppressed": 1,
    }
    first = data["findings"][0]
    assert first["ruleId"] == "KA110"
    assert first["resource"] == {
        "kind": "NetworkPolicy",
        "namespace": "data",
        "name": "postgres-allow-api",
    }
    assert first["origin"] == {"file": "kaudit/demo/insecure/data.yaml", "line": 97, "document": 0}
    assert (
        first["fingerprint"]
        == "peer-selector-or-instead-of-and|NetworkPolicy/data/postgres-allow-api"
    )
    assert [n["name"] for n in data["namespaces"]] == [
        "data",
        "kube-system",
        "monitoring",
        "payments",
        "shop",
    ]
    assert data["suppressed"][0]["reason"].startswith("annotation kaudit.io/ignore")
    assert data["warnings"] == [
        {"message": "ingressclasses: not found in the manifests", "kind": "ingressclasses"}
    ]
    assert data["incompleteRules"] == {"KA230": ["ingressclasses"]}
    assert data["complete"] is False
    assert data["reachability"]["namespace_matrix"]["payments"]["data"] == {
        "allowed": 2,
        "total": 4,
    }


def test_findings_are_sorted_whatever_the_input_order(sample_report: Report) -> None:
    shuffled = dataclasses.replace(sample_report, findings=tuple(reversed(sample_report.findings)))
    assert report_to_json(shuffled) == report_to_json(sample_report)
    severities = [f["severity"] for f in saved(sample_report)["findings"]]
    ranks = [Severity.parse(s) for s in severities]
    assert ranks == sorted(ranks, reverse=True)


def test_round_trip_is_lossless(sample_report: Report) -> None:
    text = report_to_json(sample_report)
    again = report_from_json(text, "saved.json")
    assert report_to_json(again) == text
    assert {f.fingerprint for f in again.findings} == {
        f.fingerprint for f in sample_report.findings
    }
    assert again.generated_at == sample_report.generated_at
    assert again.reachability == sample_report.reachability  # the same typed summary


def test_the_demo_audit_reads_back_into_the_same_summary() -> None:
    text = (Path(__file__).parent / "golden" / "demo.json").read_text(encoding="utf-8")
    again = report_from_json(text, "demo.json")
    assert again.reachability is not None
    assert (again.reachability.pods, again.reachability.classes) == (17, 13)
    assert again.reachability.namespace_matrix["shop"]["data"] == PairCount(allowed=14, total=14)
    assert json.loads(report_to_json(again))["reachability"] == json.loads(text)["reachability"]


def test_min_severity_is_recorded_and_filters(sample_report: Report) -> None:
    data = json.loads(render(sample_report, Format.JSON, min_severity=Severity.HIGH))
    assert data["minSeverity"] == "high"
    assert {f["severity"] for f in data["findings"]} == {"critical", "high"}
    assert data["summary"]["bySeverity"]["medium"] == 0
    assert {n["name"]: n["findings"]["medium"] for n in data["namespaces"]}["kube-system"] == 0
    assert data["suppressed"] == []  # the one suppressed finding is low


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "old.json:1: invalid JSON: Expecting property name"),
        ("[1, 2]", "old.json: not a kaudit JSON report (no schemaVersion)"),
        ('{"schemaVersion": 99}', "old.json: report schema version 99 is not supported"),
        (
            '{"schemaVersion": 1, "findings": []}',
            "old.json: not a valid kaudit report at top level",
        ),
    ],
)
def test_bad_files_raise_one_line_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        report_from_json(text, "old.json")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_summary_of_another_shape_is_refused(sample_report: Report) -> None:
    data = saved(sample_report)
    data["reachability"]["namespace_matrix"]["shop"]["data"] = 0.5
    with pytest.raises(InputError, match=r"at reachability: .* is not valid under any"):
        report_from_json(json.dumps(data), "old.json")


def test_bad_field_is_named(sample_report: Report) -> None:
    data = saved(sample_report)
    data["findings"][1]["severity"] = "urgent"
    with pytest.raises(InputError, match=r"at findings/1/severity: 'urgent' is not one of"):
        report_from_json(json.dumps(data), "old.json")
