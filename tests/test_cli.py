"""The command line as users run it: real processes, real exit codes, one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kaudit import __version__, cli
from kaudit.cli import audit_exit_code
from kaudit.findings import Finding, Severity
from kaudit.model import ClusterFacts, CollectionWarning, ObjectRef, Resource
from kaudit.report.model import Report

DEMO = Path(__file__).resolve().parents[1] / "kaudit" / "demo"


def kaudit(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaudit", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "KUBECONFIG": "/nonexistent/kubeconfig"},
    )


def test_version() -> None:
    result = kaudit("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"kaudit {__version__}"


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (
            ["audit", "--manifests", "/nonexistent.yaml"],
            None,
            "kaudit: error: /nonexistent.yaml: no such file or folder",
        ),
        (
            ["audit", "--manifests", "-"],
            "kind: Service\nspec: [\n",
            "kaudit: error: <stdin>:3: invalid YAML",
        ),
        (
            ["audit", "--manifests", "-"],
            "metadata: {name: x}\n",
            "kaudit: error: <stdin>:1: document has no kind",
        ),
        (
            ["audit", "--manifests", str(DEMO / "insecure"), "--format", "pdf"],
            None,
            "kaudit: error: --format: unknown format 'pdf'",
        ),
        (
            ["audit", "--manifests", str(DEMO / "insecure"), "--fail-on", "urgent"],
            None,
            "kaudit: error: --fail-on: unknown severity 'urgent'",
        ),
        (
            ["audit", "--manifests", "x.yaml", "--context", "prod"],
            None,
            "kaudit: error: --manifests cannot be combined",
        ),
        (
            ["audit", "--manifests", str(DEMO / "insecure"), "--format", "json", "--format", "md"],
            None,
            "kaudit: error: --format: only one format can go to stdout",
        ),
        (
            ["reach", "--manifests", str(DEMO / "insecure"), "--to", "shop/frontend"],
            None,
            "kaudit: error: --to and --to-ip need --from",
        ),
        (
            ["audit", "-n", "kube-system/secre%74s?"],
            None,
            "kaudit: error: --namespace: 'kube-system/secre%74s?' is not a valid namespace name",
        ),
        (
            ["audit", "-n", "x/../../../api/v1/secrets#"],
            None,
            "kaudit: error: --namespace: 'x/../../../api/v1/secrets#' is not a valid namespace",
        ),
        (
            ["reach", "--exclude-namespace", "Shop", "--from", "a/b"],
            None,
            "kaudit: error: --exclude-namespace: 'Shop' is not a valid namespace name",
        ),
        (["explain", "no-such-rule"], None, "kaudit: error: unknown rule 'no-such-rule'"),
        (["report", "/nonexistent.json"], None, "kaudit: error: /nonexistent.json: cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], stdin: str | None, expected: str
) -> None:
    result = kaudit(*args, stdin=stdin)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(expected), result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_internal_error_has_its_own_exit_code_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: list[str], prog_name: str, standalone_mode: bool) -> None:
        raise ValueError("cannot convert float infinity\nto integer")

    # main() runs the app it finds in its own module, kaudit.cli.app.
    monkeypatch.setattr(sys.modules["kaudit.cli.app"], "app", broken)
    monkeypatch.delenv("KAUDIT_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["kaudit", "audit", "--fail-on", "never"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 70
    err = capsys.readouterr().err
    assert err.startswith("kaudit: internal error (a bug in kaudit")
    assert err.endswith("ValueError: cannot convert float infinity to integer\n")
    assert err.count("\n") == 1

    monkeypatch.setattr(sys, "argv", ["kaudit", "audit", "--debug"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("kaudit: internal error")


def test_debug_is_accepted_after_the_command() -> None:
    result = kaudit("explain", "KA101", "--debug")
    assert result.returncode == 0, result.stderr
    assert "KA101" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["audit", "--no-such-flag"], "No such option: --no-such-flag; see 'kaudit audit -h'"),
        (
            ["audit", "--page-size", "abc"],
            "Invalid value for '--page-size': Input should be a valid integer",
        ),
        (["reach", "--port", "99999999"], "Invalid value for '--port': Input should be less"),
        (["nosuch"], "No such command 'nosuch'; see 'kaudit -h'"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], expected: str) -> None:
    result = kaudit(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("kaudit: error: " + expected), result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_no_arguments_shows_the_help() -> None:
    result = kaudit()
    assert result.returncode == 0
    assert "Usage: kaudit [OPTIONS] COMMAND [ARGS]..." in result.stdout


def findings_of(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    data = json.loads(result.stdout)
    return {
        (f["ruleName"], "{kind}/{namespace}/{name}".format(**f["resource"]).replace("//", "/"))
        for f in data["findings"]
    }


FIRST_SLICE = {
    ("service-nodeport", "Service/shop/frontend"),
    ("service-loadbalancer", "Service/shop/frontend-public"),
    ("service-no-endpoints", "Service/shop/api"),
    ("service-no-endpoints", "Service/shop/cart"),
    ("service-no-endpoints", "Service/payments/payments"),
    ("namespace-without-networkpolicy", "Namespace/monitoring"),
    ("pod-host-network", "DaemonSet/monitoring/node-exporter"),
}


def test_insecure_demo_reports_the_first_slice_and_fails() -> None:
    result = kaudit("audit", "--manifests", str(DEMO / "insecure"), "--format", "json")
    assert result.returncode == 1, result.stderr
    assert findings_of(result) >= FIRST_SLICE


def test_hardened_demo_is_clean_of_the_first_slice() -> None:
    result = kaudit("audit", "--manifests", str(DEMO / "hardened"), "--format", "json")
    assert result.returncode == 0, result.stderr
    first_slice_rules = {rule for rule, _ in FIRST_SLICE}
    application = {(r, o) for r, o in findings_of(result) if "kube-system" not in o}
    assert not {(r, o) for r, o in application if r in first_slice_rules}


def test_system_namespaces_fail_the_run_only_with_include_system() -> None:
    args = ("audit", "--manifests", str(DEMO / "hardened"), "--fail-on", "high", "--format", "json")
    assert kaudit(*args).returncode == 0
    assert kaudit(*args, "--include-system").returncode == 1


def test_fail_on_never_and_multiple_formats(tmp_path: Path) -> None:
    html, md = tmp_path / "r.html", tmp_path / "sub" / "r.md"
    result = kaudit(
        "audit",
        "--manifests",
        str(DEMO / "insecure"),
        "--fail-on",
        "never",
        "--format",
        "table",
        "--format",
        f"html={html}",
        "--format",
        f"md={md}",
    )
    assert result.returncode == 0, result.stderr
    # The table names rules by ID.
    assert any(
        "KA204" in line and "Service/shop/frontend" in line for line in result.stdout.splitlines()
    ), result.stdout
    assert html.read_text().lstrip().lower().startswith("<!doctype html>")
    assert "service-nodeport" in md.read_text()


@pytest.mark.parametrize(
    ("warnings", "allow_incomplete", "expected"),
    [
        ((), False, 0),
        ((CollectionWarning("namespace 'typo' does not exist"),), False, 0),
        (
            (CollectionWarning("cannot list NetworkPolicies (403)", Resource.NETWORK_POLICIES),),
            False,
            4,
        ),
        (
            (CollectionWarning("cannot list NetworkPolicies (403)", Resource.NETWORK_POLICIES),),
            True,
            0,
        ),
    ],
)
def test_exit_code_for_incomplete_collections(
    warnings: tuple[CollectionWarning, ...], allow_incomplete: bool, expected: int
) -> None:
    report = Report(
        facts=ClusterFacts(source="live"),
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        findings=(),
        warnings=warnings,
    )
    assert audit_exit_code(report, Severity.HIGH, allow_incomplete) == expected


def test_findings_win_over_an_incomplete_collection() -> None:
    finding = Finding(
        "KA204", "service-nodeport", Severity.HIGH, ObjectRef("Service", "shop", "web"), "open"
    )
    report = Report(
        facts=ClusterFacts(source="live"),
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        findings=(finding,),
        warnings=(CollectionWarning("cannot list pods (403)", Resource.PODS),),
    )
    assert audit_exit_code(report, Severity.HIGH, allow_incomplete=False) == 1
    assert audit_exit_code(report, Severity.CRITICAL, allow_incomplete=False) == 4
    assert audit_exit_code(report, None, allow_incomplete=True) == 0


def test_report_and_diff_work_from_saved_json(tmp_path: Path) -> None:
    insecure, hardened = tmp_path / "insecure.json", tmp_path / "hardened.json"
    for variant, path in (("insecure", insecure), ("hardened", hardened)):
        saved = kaudit(
            "audit",
            "--manifests",
            str(DEMO / variant),
            "--format",
            f"json={path}",
            "--fail-on",
            "never",
        )
        assert saved.returncode == 0, saved.stderr
    rendered = kaudit("report", str(insecure), "--format", "md")
    assert rendered.returncode == 0
    assert "service-no-endpoints" in rendered.stdout
    fixed = kaudit("diff", str(insecure), str(hardened), "--format", "json")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["new"] == []
    regressed = kaudit("diff", str(hardened), str(insecure), "--fail-on", "critical")
    assert regressed.returncode == 1  # the internet-facing LoadBalancer is new
    assert "KA205" in regressed.stdout


HOSTILE = """\
apiVersion: v1
kind: Service
metadata:
  name: "web\\e[2J\\e]0;owned\\a\\e]8;;http://evil\\e\\\\"
  namespace: shop
  annotations:
    kaudit.io/ignore: service-loadbalancer
    kaudit.io/ignore-reason: "@platform-team said so\\rnext row"
spec:
  type: NodePort
  ports: [{port: 80, nodePort: 30080}]
"""


def test_object_strings_never_reach_the_terminal_as_controls(tmp_path: Path) -> None:
    manifest = tmp_path / "hostile.yaml"
    manifest.write_text(HOSTILE)
    table = kaudit("audit", "-f", str(manifest), "--fail-on", "never")
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout
    assert "\x07" not in table.stdout
    assert "Service/shop/web\\x1b[2J" in table.stdout
    reach = kaudit("reach", "-f", str(manifest), "--port", "80")
    assert reach.returncode == 0, reach.stderr
    assert "\x1b" not in reach.stdout
    missing = kaudit("reach", "-f", str(manifest), "--from", "shop/\x1b[2Jx", "--to", "shop/y")
    assert missing.returncode == 2
    assert "\x1b" not in missing.stderr
    assert "shop/\\x1b[2Jx" in missing.stderr


def test_markdown_pings_nobody(tmp_path: Path) -> None:
    manifest = tmp_path / "hostile.yaml"
    manifest.write_text(HOSTILE.replace("type: NodePort", "type: LoadBalancer"))
    md = kaudit("audit", "-f", str(manifest), "--fail-on", "never", "--format", "md")
    assert md.returncode == 0, md.stderr
    assert "@platform-team" not in md.stdout
    assert "@&#8203;platform-team said so next row" in md.stdout
    assert "\r" not in md.stdout


CILIUM_INPUT = """\
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: x}
spec: {endpointSelector: {}}
"""


def test_reach_says_when_policies_of_another_engine_were_left_out(tmp_path: Path) -> None:
    manifest = tmp_path / "cilium.yaml"
    manifest.write_text(CILIUM_INPUT)
    result = kaudit("reach", "-f", str(manifest), "--port", "80", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pods"] == ["x/a"]
    assert result.stderr == (
        "kaudit: warning: Not evaluated: CiliumNetworkPolicy.cilium.io is in the input and "
        "changes what may reach what, but kaudit evaluates only Kubernetes NetworkPolicy and "
        "the network-policy-api's ClusterNetworkPolicy, AdminNetworkPolicy and "
        "BaselineAdminNetworkPolicy: reachability here leaves it out.\n"
    )
    plain = manifest.with_name("plain.yaml")
    plain.write_text(CILIUM_INPUT.split("---")[0])
    assert kaudit("reach", "-f", str(plain), "--port", "80").stderr == ""


def test_markdown_is_an_alias_of_md_everywhere(tmp_path: Path) -> None:
    assert kaudit("rules", "--format", "markdown").stdout.startswith("# kaudit rules")
    saved = tmp_path / "a.json"
    saved.write_text(
        kaudit(
            "audit", "-f", str(DEMO / "insecure"), "--format", "json", "--fail-on", "never"
        ).stdout
    )
    diff = kaudit("diff", str(saved), str(saved), "--format", "markdown")
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout == kaudit("diff", str(saved), str(saved), "--format", "md").stdout
