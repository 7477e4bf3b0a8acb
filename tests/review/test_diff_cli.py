"""`kaudit diff` on manifests: the demo's two revisions, every format, gates and errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kaudit.cli import app
from kaudit.collect.overlay import object_keys

ROOT = Path(__file__).resolve().parents[2]
INSECURE = str(ROOT / "kaudit" / "demo" / "insecure")
HARDENED = str(ROOT / "kaudit" / "demo" / "hardened")

# What hardening the demo opens, by workload: DNS for the pods whose egress it now
# allows, and the explicit allow rules it adds (see kaudit/demo/README.md).
HARDENING_OPENS = [
    ("dns", "data/StatefulSet/postgres", "cluster-dns", ["TCP", "UDP"], "53", 1),
    ("dns", "payments/Deployment/payments", "cluster-dns", ["TCP", "UDP"], "53", 2),
    (
        "pods",
        "data/StatefulSet/postgres",
        "kube-system/Deployment/coredns",
        ["TCP", "UDP"],
        "53",
        2,
    ),
    (
        "pods",
        "monitoring/Deployment/prometheus",
        "payments/Deployment/payments",
        ["TCP"],
        "9090",
        2,
    ),
    ("pods", "monitoring/Deployment/prometheus", "shop/Deployment/api-server", ["TCP"], "9090", 2),
    (
        "pods",
        "payments/Deployment/payments",
        "kube-system/Deployment/coredns",
        ["TCP", "UDP"],
        "53",
        4,
    ),
    ("pods", "shop/Deployment/api-server", "shop/Deployment/cart", ["TCP"], "8080", 2),
]
SUMMARY = "opens 7 paths, closes 100, 2 new outside paths, 6 removed, 0 new findings, 44 fixed"


def kaudit(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def rows(entries: list[dict[str, Any]]) -> list[tuple[str, str, str, list[str], str, int]]:
    return [
        (
            e["scope"],
            e["from"],
            e["to"],
            e["protocols"],
            ",".join(
                str(p["port"]) if p["port"] == p["endPort"] else f"{p['port']}-{p['endPort']}"
                for p in e["ports"]
            ),
            e["connections"],
        )
        for e in entries
    ]


@pytest.fixture(scope="module")
def hardening() -> dict[str, Any]:
    result = kaudit("diff", INSECURE, HARDENED, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_hardening_the_demo_opens_and_closes_these_paths(hardening: dict[str, Any]) -> None:
    connectivity = hardening["connectivity"]
    assert rows(connectivity["byWorkload"]["opened"]) == HARDENING_OPENS
    closed = rows(connectivity["byWorkload"]["closed"])
    assert len(closed) == 100
    # The metadata endpoint is closed to every workload of the insecure demo's app namespaces.
    assert {r[1] for r in closed if r[2] == "169.254.169.254"} == {
        "data/Deployment/redis",
        "data/StatefulSet/postgres",
        "monitoring/DaemonSet/node-exporter",
        "monitoring/DaemonSet/statsd-exporter",
        "monitoring/Deployment/prometheus",
        "shop/Deployment/api-server",
        "shop/Deployment/cart",
        "shop/Deployment/frontend",
        "shop/Deployment/worker",
        "shop/Pod/debug-shell",
    }
    assert (
        "pods",
        "shop/Deployment/frontend",
        "data/StatefulSet/postgres",
        ["TCP"],
        "5432",
        2,
    ) in closed
    assert connectivity["removedPods"] == [
        "monitoring/node-exporter",
        "monitoring/statsd-exporter",
        "shop/debug-shell",
    ]
    assert hardening["summary"]["text"] == SUMMARY
    # The exposure inventories: a TLS Ingress (and an HTTPS Gateway route) replace the
    # NodePorts, the LoadBalancer, the externalIP and the host ports; the shop's Gateway
    # listener moves from plain HTTP on 80 to HTTPS on 443.
    exposure = hardening["exposure"]
    assert [(e["via"], e["namespace"], e["workload"], e["tls"]) for e in exposure["added"]] == [
        ("Gateway", "payments", "Deployment/payments", True),
        ("Ingress", "shop", "Deployment/frontend", True),
    ]
    assert [(e["via"], e["workload"], e["entry"]) for e in exposure["removed"]] == [
        ("HostNetwork", "DaemonSet/node-exporter", "node network"),
        ("HostPort", "DaemonSet/statsd-exporter", "9125"),
        ("ExternalIP", "Deployment/api-server", "203.0.113.10"),
        ("LoadBalancer", "Deployment/frontend", "pending"),
        ("NodePort", "Deployment/frontend", "30080"),
        ("NodePort", "Deployment/frontend", "auto"),
    ]
    (moved,) = exposure["changed"]
    before, after = moved["before"], moved["after"]
    assert (before["via"], before["ports"][0]["port"], before["tls"]) == ("Gateway", 80, False)
    assert (after["ports"][0]["port"], after["tls"]) == (443, True)
    assert (hardening["summary"]["new"], hardening["summary"]["fixed"]) == (0, 44)
    fixed = {f["ruleId"] for f in hardening["fixed"]}
    assert {"KA101", "KA105", "KA108", "KA204", "KA301", "KA401", "KA403", "KA501"} <= fixed


def test_json_blocks_expand_to_their_connection_counts(hardening: dict[str, Any]) -> None:
    for entry in hardening["connectivity"]["opened"] + hardening["connectivity"]["closed"]:
        pods = entry["scope"] == "pods"
        block = [(s, t) for s in entry["from"] for t in entry["to"] if s != t or not pods]
        assert len(block) == entry["connections"] > 0


def test_the_other_way_round_the_findings_are_new_and_the_gates_close(tmp_path: Path) -> None:
    sarif = tmp_path / "new.sarif"
    result = kaudit("diff", HARDENED, INSECURE, "--format", "sarif", "--output", str(sarif))
    assert result.exit_code == 1
    data = json.loads(sarif.read_text())
    assert len(data["runs"][0]["results"]) == 44
    opened_outside = kaudit(
        "diff", HARDENED, INSECURE, "--fail-on", "never", "--fail-on-opened", "outside"
    )
    assert opened_outside.exit_code == 1
    assert "--fail-on-opened outside: opens ingress 8.8.8.8 -> " in opened_outside.output
    assert (
        "--fail-on-opened outside: opens NodePort 30080 30080→8080/TCP -> "
        "shop/Deployment/frontend (TLS unknown, admitted by policy)" in opened_outside.output
    )
    nothing = kaudit(
        "diff", HARDENED, INSECURE, "--fail-on", "never", "--fail-on-opened", "team=none"
    )
    assert nothing.exit_code == 0, nothing.output
    data_ns = kaudit(
        "diff", HARDENED, INSECURE, "--fail-on", "never", "--fail-on-opened", "team in (platform)"
    )
    assert data_ns.exit_code == 1


def test_markdown_is_a_pull_request_comment() -> None:
    result = kaudit("diff", INSECURE, HARDENED, "--format", "md")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:3] == ["# kaudit diff", "", f"**This change {SUMMARY}.**"]
    assert "<summary>Opened paths (7)</summary>" in result.output
    assert (
        "| monitoring/Deployment/prometheus | payments/Deployment/payments | TCP | 9090 | 2 | 1 → 2 |"
        in lines
    )


def test_values_are_escaped_in_markdown_and_html(tmp_path: Path) -> None:
    hostile = tmp_path / "<img src=x onerror=alert(1)> @team"
    hostile.mkdir()
    (hostile / "m.yaml").write_text(Path(HARDENED, "shop.yaml").read_text())
    md = kaudit("diff", str(hostile), str(hostile), "--format", "md").output
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt; @&#8203;team" in md
    html = kaudit("diff", str(hostile), str(hostile), "--format", "html").output
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; @team" in html
    assert "default-src 'none'" in html and "<script" not in html


def test_the_table_names_both_sides_and_ends_with_the_summary() -> None:
    result = kaudit("diff", INSECURE, HARDENED)
    assert result.exit_code == 0
    assert result.output.startswith(f"Before: manifests {INSECURE}\nAfter:  manifests {HARDENED}\n")
    assert result.output.rstrip().endswith(SUMMARY)


def test_applying_the_hardened_folder_on_the_insecure_one_is_the_hardened_one() -> None:
    removed = sorted(object_keys([INSECURE]) - object_keys([HARDENED]))
    deletes = [
        arg
        for kind, ns, name in removed
        for arg in ("--delete", f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}")
    ]
    applied = kaudit("diff", INSECURE, "--apply", HARDENED, *deletes, "--format", "json")
    direct = kaudit("diff", INSECURE, HARDENED, "--format", "json")
    assert applied.exit_code == direct.exit_code == 0, applied.output
    a, d = json.loads(applied.output), json.loads(direct.output)
    assert a["connectivity"]["opened"] == d["connectivity"]["opened"]
    assert a["connectivity"]["closed"] == d["connectivity"]["closed"]
    assert a["summary"]["fixed"] == d["summary"]["fixed"] == 44
    assert a["after"]["source"].startswith(f"manifests {INSECURE} with {HARDENED} applied")


def test_a_saved_audit_on_one_side_compares_findings_only(tmp_path: Path) -> None:
    saved = tmp_path / "insecure.json"
    audit = kaudit(
        "audit", "--manifests", INSECURE, "--format", f"json={saved}", "--fail-on", "never"
    )
    assert audit.exit_code == 0, audit.output
    result = kaudit("diff", str(saved), HARDENED, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["connectivity"] is None and data["summary"]["fixed"] == 44
    assert "a saved audit holds findings" in kaudit("diff", str(saved), HARDENED).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((INSECURE,), "expected 2 BEFORE/AFTER argument(s), got 1"),
        ((INSECURE, HARDENED, "--port", "0"), "--port: '0': ports are 1 to 65535"),
        ((INSECURE, HARDENED, "--protocol", "ICMP"), "--protocol:"),
        ((INSECURE, HARDENED, "--fail-on-opened", "a b"), "--fail-on-opened: 'a b' is not"),
        (
            (INSECURE, "--apply", HARDENED, "--before-context", "x"),
            "give the cluster with --context",
        ),
        ((INSECURE, "--delete", "Pod/x"), "--delete: 'Pod/x' is not KIND/NAMESPACE/NAME"),
        ((INSECURE, HARDENED, "--format", "yaml"), "--format: unknown format 'yaml'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kaudit", "diff", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _recipe() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- kaudit-review-script -->\n```sh\n", 1)[1].split("```", 1)[0]
    # The demo keeps plain manifests: rendering a revision is reading its folder.
    rendered, count = re.subn(
        r"^render\(\) \{.*$",
        'render() { for f in "$1"/app/*.yaml; do echo ---; cat "$f"; done; }',
        block,
        flags=re.M,
    )
    assert count == 1
    return rendered


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()


def test_the_ci_recipe_reviews_two_revisions_of_the_demo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    _git(repo, "init", "-q")
    for file in Path(INSECURE).glob("*.yaml"):
        (repo / "app" / file.name).write_text(file.read_text())
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    for file in Path(INSECURE).glob("*.yaml"):
        (repo / "app" / file.name).unlink()
    for file in Path(HARDENED).glob("*.yaml"):
        (repo / "app" / file.name).write_text(file.read_text())
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "head")
    script = repo / "review.sh"
    script.write_text(_recipe())
    env = {
        **os.environ,
        "BASE_SHA": base,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["sh", str(script)], cwd=repo, capture_output=True, text=True, env=env, check=False
    )
    # Hardening opens prometheus -> payments on 9090: the team=payments gate fails the job.
    assert result.returncode == 1, result.stderr
    assert (
        "--fail-on-opened team=payments: opens pods monitoring/prometheus -> payments/payments"
        in result.stderr
    )
    review = (repo / "review.md").read_text()
    assert review.splitlines()[2] == f"**This change {SUMMARY}.**"
    assert "<summary>Fixed findings (44)</summary>" in review


def test_two_saved_audits_render_as_html_and_sarif_too(tmp_path: Path) -> None:
    paths = {}
    for name, folder in (("old", HARDENED), ("new", INSECURE)):
        paths[name] = tmp_path / f"{name}.json"
        saved = kaudit("audit", "--manifests", folder, "--format", f"json={paths[name]}")
        assert saved.exit_code in (0, 1), saved.output
    sarif = kaudit("diff", str(paths["old"]), str(paths["new"]), "--format", "sarif")
    assert sarif.exit_code == 1  # new high findings
    assert len(json.loads(sarif.output)["runs"][0]["results"]) == 44
    html = kaudit("diff", str(paths["old"]), str(paths["new"]), "--format", "html")
    assert "Connectivity was not compared" in html.output
    assert "<summary>New findings (44)</summary>" in html.output


def test_a_large_review_still_fits_in_a_pull_request_comment(tmp_path: Path) -> None:
    def pod(ns: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"workload-with-a-long-name-{ns}", "namespace": ns},
            "spec": {"containers": [{"name": "c"}]},
        }

    namespaces = [f"team-{i:03d}" for i in range(120)]
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    before.write_text(yaml.safe_dump_all([pod(ns) for ns in namespaces]))
    deny = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
        for ns in namespaces
    ]
    after.write_text(yaml.safe_dump_all([pod(ns) for ns in namespaces] + deny))
    result = kaudit("diff", str(before), str(after), "--format", "md", "--fail-on", "never")
    assert result.exit_code == 0, result.output
    assert len(result.output) <= 65_536
    assert "<summary>Closed paths (14400)</summary>" in result.output
    assert "… and 14" in result.output and "more (see `--format json`)." in result.output
