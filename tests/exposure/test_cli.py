"""`kaudit exposure` as users run it: the demo in every format, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kaudit.report.jsonio import SCHEMA_VERSION, report_schema
from tests.test_cli import DEMO, kaudit


def exposure_validator() -> jsonschema.Draft202012Validator:
    schema = {**report_schema(), "$ref": "#/$defs/exposure"}
    for key in ("required", "properties", "type"):
        schema.pop(key, None)
    return jsonschema.Draft202012Validator(schema)


def test_json_lists_the_demo_paths_and_validates() -> None:
    result = kaudit("exposure", "-f", str(DEMO / "insecure"), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["schemaVersion"], data["kind"]) == (SCHEMA_VERSION, "kaudit-exposure")
    exposure_validator().validate(data["exposure"])
    found = {(e["workload"], e["via"], e["entry"]) for e in data["exposure"]["entries"]}
    assert ("Deployment/frontend", "LoadBalancer", "pending") in found
    assert ("Deployment/api-server", "ExternalIP", "203.0.113.10") in found
    assert ("Deployment/frontend", "Gateway", "shop.example.com") in found
    assert len(data["exposure"]["entries"]) == 8
    assert len(data["exposure"]["deadEnds"]) == 6


def test_table_is_the_default() -> None:
    result = kaudit("exposure", "-f", str(DEMO / "hardened"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "NAMESPACE", "WORKLOAD", "VIA", "ENTRY", "PORTS", "TLS", "POLICY", "PATH"
    ]  # fmt: skip
    assert "Deployment/frontend" in result.stdout and "Ingress" in result.stdout
    assert lines[-2].startswith(
        "4 outside paths to 3 workloads (HostNetwork 1, Ingress 1, Gateway 2)"
    )


def test_markdown_and_html_to_files(tmp_path: Path) -> None:
    md, html = tmp_path / "x.md", tmp_path / "x.html"
    result = kaudit(
        "exposure", "-f", str(DEMO / "insecure"), "--format", f"md={md}", "--format", f"html={html}"
    )
    assert result.returncode == 0, result.stderr
    assert md.read_text().startswith("# kaudit exposure\n\n8 outside paths to 5 workloads")
    page = html.read_text()
    assert "<h2>Exposed to the outside</h2>" in page and "<svg" in page
    assert "<script" not in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "sarif"), "--format"),
        (("-f", "/nonexistent/folder"), "/nonexistent/folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = kaudit("exposure", *(args if "-f" in args else ("-f", str(DEMO), *args)))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
