"""The live collector against the real control plane: objects go in through the
API (kubectl), the audit reads them back with `collect_live`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack import controlplane
from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
from kaudit.errors import ClusterError, ExitCode
from kaudit.findings import Finding
from kaudit.model import Resource, Snapshot
from tests.cluster.request_set import check_request_set
from tests.plugins.clusterkit import (
    REPO_ROOT,
    AuditLog,
    Cluster,
    delete_namespaces,
    kubectl,
    kubectl_json,
    slices_settled,
    wait_namespaces_gone,
)

DEMO = REPO_ROOT / "kaudit" / "demo" / "insecure"
# Without the Gateway API file (it needs CRDs; see demo_applied).
DEMO_FILES = tuple(sorted(p for p in DEMO.glob("*.yaml") if p.name != "gateway.yaml"))
ADMIN = "kaudit-admin"  # the harness kubeconfig's user


def live(cluster: Cluster, **changes: Any) -> Snapshot:
    fields: dict[str, Any] = {"kubeconfig": str(cluster.kubeconfig), **changes}
    return load_snapshot(Source(**fields))


def finding_keys(findings: tuple[Finding, ...]) -> set[tuple[str, str, str]]:
    """What a finding is about. Messages are left out: they count pods, and a live
    Deployment has its replicas where the manifest has one template."""
    return {(f.rule_id, f.severity.label, str(f.resource)) for f in findings}


# Known divergence, owned by the policy engine: live pods have IPs, template pods
# from manifests do not, so an egress ipBlock (0.0.0.0/0 in data/postgres-backup-egress)
# matches the DNS pods' IPs live but cannot offline, and KA105 "egress blocks DNS"
# fires only offline. What an ipBlock means for pod IPs is implementation-defined;
# the engine should decide it the same way for both sources. Listed here so that any
# other divergence, or this one going away, fails the test.
KNOWN_OFFLINE_ONLY = {("KA105", "medium", "StatefulSet/data/postgres")}


# --- selector mismatch ------------------------------------------------------------------

MISMATCH = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-server}
spec:
  replicas: 2
  selector: {matchLabels: {app: api-server}}
  template:
    metadata: {labels: {app: api-server}}
    spec:
      containers: [{name: api, image: nginx:1.27, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_selector_mismatch_has_zero_endpoints_and_is_reported(
    cluster: Cluster, namespace: str
) -> None:
    cluster.apply(MISMATCH, namespace)
    cluster.wait_for("the Deployment's pods", lambda: cluster.pods_ready(namespace, 2))

    def controller_slice() -> dict[str, Any] | None:
        items = kubectl_json(
            "get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=api"
        )["items"]
        return items[0] if items else None

    # The real endpointslice controller publishes an empty slice for the Service.
    cluster.wait_for("the controller's EndpointSlice", lambda: controller_slice() is not None)

    snapshot = live(cluster, namespaces=(namespace,))
    slices = [s for s in snapshot.endpoint_slices if s.service_name == "api"]
    assert slices
    assert all(s.endpoints == () for s in slices)
    assert slices[0].managed_by == "endpointslice-controller.k8s.io"
    assert len(snapshot.pods) == 2
    assert all(p.ready and p.pod_ips for p in snapshot.pods)

    report = audit(snapshot)
    ka201 = [f for f in report.findings if f.rule_id == "KA201"]
    assert [str(f.resource) for f in ka201] == [f"Service/{namespace}/api"]
    assert "app=api" in ka201[0].message or "app: api" in ka201[0].message


# --- parity -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_applied(cluster: Cluster) -> Iterator[list[str]]:
    """The insecure demo applied unchanged with kubectl; its namespaces removed after.

    Its Gateway API file needs the CRDs, which the other tests of this module must not
    see: tests/cluster/test_gateway_live.py covers that part live."""
    namespaces = sorted(
        doc["metadata"]["name"]
        for path in DEMO_FILES
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "Namespace" and doc["metadata"]["name"] != "kube-system"
    )
    wait_namespaces_gone(*namespaces)
    for path in DEMO_FILES:
        cluster.apply(path)
    yield namespaces
    delete_namespaces(*namespaces)
    kubectl("delete", "daemonset", "kindnet", "-n", "kube-system", check=False)


def _expected_pods(namespaces: list[str]) -> int:
    """Pods the demo's workloads should produce (replicas, one per node for DaemonSets)."""
    total = 0
    for path in DEMO.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("metadata", {}).get("namespace") not in namespaces:
                continue
            kind = doc.get("kind")
            if kind in ("Deployment", "StatefulSet"):
                total += int(doc["spec"].get("replicas", 1))
            elif kind == "DaemonSet":
                total += len(controlplane.FAKE_NODES)
            elif kind == "Pod":
                total += 1
    return total


def test_demo_live_gives_the_same_findings_as_its_manifests(
    cluster: Cluster, demo_applied: list[str]
) -> None:
    expected = _expected_pods(demo_applied)

    def all_ready() -> bool:
        return (
            sum(1 for ns in demo_applied if cluster.pods_ready(ns, 0)) == len(demo_applied)
            and sum(_ready_count(ns) for ns in demo_applied) >= expected
        )

    cluster.wait_for(f"{expected} demo pods ready", all_ready, timeout=120)
    # Every selector Service's slice must be settled before comparing endpoints.
    cluster.wait_for("EndpointSlices settled", lambda: slices_settled(demo_applied))

    scope = (*demo_applied, "kube-system")
    demo = tuple(str(p) for p in DEMO_FILES)
    offline = audit(load_snapshot(Source(manifests=demo, namespaces=scope)))
    online = audit(live(cluster, namespaces=scope))

    assert online.facts.source == "live"
    assert online.warnings == ()
    live_keys, offline_keys = finding_keys(online.findings), finding_keys(offline.findings)
    assert live_keys - offline_keys == set()
    assert offline_keys - live_keys == KNOWN_OFFLINE_ONLY
    assert {f.rule_id for f in online.findings}  # the insecure demo is not clean


def _ready_count(namespace: str) -> int:
    pods = kubectl_json("get", "pods", "-n", namespace)["items"]
    return sum(
        1
        for p in pods
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    )


def test_live_facts_record_version_and_cni(cluster: Cluster, demo_applied: list[str]) -> None:
    # The demo's kube-system.yaml adds kind's kindnet DaemonSet.
    snapshot = live(cluster, namespaces=(demo_applied[0],))
    assert (
        snapshot.facts.server_version
        == cluster.kubectl_json("version")["serverVersion"]["gitVersion"]
    )
    assert snapshot.facts.cni == ("kindnet",)
    assert snapshot.facts.cni_checked
    assert snapshot.facts.context == "kaudit"
    assert snapshot.facts.server == cluster.server


# --- restricted identity -----------------------------------------------------------------

AUDITOR_RBAC = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: auditor}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NAME}
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, services]
    verbs: [get, list]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses, ingressclasses]   # no networkpolicies
    verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NAME}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: NAME}
subjects: [{kind: ServiceAccount, name: auditor, namespace: NAMESPACE}]
"""


def token_kubeconfig(cluster: Cluster, token: str, path: Path) -> Path:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["users"] = [{"name": "auditor", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "auditor"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def auditor_kubeconfig(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[Path]:
    """A ServiceAccount token that may list everything kaudit reads except NetworkPolicies."""
    role = f"kaudit-auditor-{namespace}"
    cluster.apply(AUDITOR_RBAC.replace("NAMESPACE", namespace).replace("NAME", role), namespace)
    token = kubectl("create", "token", "auditor", "-n", namespace).stdout.strip()
    yield token_kubeconfig(cluster, token, tmp_path / "auditor.kubeconfig")
    kubectl("delete", "clusterrolebinding,clusterrole", role, check=False)


def test_restricted_identity_gets_a_partial_report(
    cluster: Cluster, namespace: str, auditor_kubeconfig: Path
) -> None:
    cluster.apply(MISMATCH, namespace)
    cluster.wait_for("pods", lambda: cluster.pods_ready(namespace, 2))

    snapshot = load_snapshot(Source(kubeconfig=str(auditor_kubeconfig), namespaces=(namespace,)))

    assert snapshot.missing_resources == {Resource.NETWORK_POLICIES}
    (warning,) = snapshot.warnings
    assert "NetworkPolicies" in warning.message
    assert "forbidden" in warning.message
    assert "incomplete" in warning.message
    assert len(snapshot.pods) == 2  # everything else was read
    report = audit(snapshot)
    assert report.incomplete_rules
    assert all("networkpolicies" in kinds for kinds in report.incomplete_rules.values())
    # Rules that need no NetworkPolicy still run.
    assert any(f.rule_id == "KA201" for f in report.findings)


def test_restricted_identity_cli_warns_and_exits_incomplete(
    cluster: Cluster, namespace: str, auditor_kubeconfig: Path
) -> None:
    proc = run_cli(
        "audit",
        "--kubeconfig",
        str(auditor_kubeconfig),
        "-n",
        namespace,
        "--fail-on",
        "never",
        "--format",
        "json",
        "--quiet",
    )
    assert proc.returncode == ExitCode.INCOMPLETE, proc.stderr
    assert "cannot list NetworkPolicies" in proc.stderr
    report = json.loads(proc.stdout)
    assert report  # a report was still produced


# --- pagination and namespace filters ------------------------------------------------------


def query_of(uri: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))


def test_pagination_reads_every_page(cluster: Cluster, namespace: str) -> None:
    count = 23
    services = "\n---\n".join(
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\n"
        f"spec: {{selector: {{app: a{i}}}, ports: [{{port: 80}}]}}"
        for i in range(count)
    )
    cluster.apply(services, namespace)

    # The requests as the API server saw them, from its audit log.
    log = AuditLog.start()
    snapshot = live(cluster, namespaces=(namespace,), page_size=5)
    events = log.events(ADMIN)

    assert sorted(s.name for s in snapshot.services) == sorted(f"svc-{i}" for i in range(count))
    service_pages = [
        query_of(e.uri) for e in events if e.resource == "services" and e.namespace == namespace
    ]
    assert len(service_pages) == 5  # 23 objects in pages of 5
    assert all(q["limit"] == "5" for q in service_pages)
    assert sum(1 for q in service_pages if "continue" in q) == 4
    check_request_set(events, namespaces=(namespace,))


def test_namespace_filters_apply_at_the_api(cluster: Cluster, namespace: str) -> None:
    cluster.apply(MISMATCH, namespace)
    log = AuditLog.start()

    only = live(cluster, namespaces=(namespace,))
    assert {n.name for n in only.namespaces} == {namespace}
    assert {s.namespace for s in only.services} == {namespace}
    events = log.events(ADMIN)
    # The namespace's list, plus kube-system's for the CNI (not part of the snapshot).
    assert {(e.verb, e.namespace) for e in events if e.resource == "pods"} == {
        ("list", namespace),
        ("list", "kube-system"),
    }

    log = AuditLog.start()
    without = live(cluster, exclude_namespaces=(namespace, "kube-system"))
    assert namespace not in {s.namespace for s in without.services}
    assert "kube-system" not in {n.name for n in without.namespaces}
    (service_list,) = [e for e in log.events(ADMIN) if e.resource == "services"]
    assert service_list.namespace is None  # one cluster-wide list, filtered at the server
    assert query_of(service_list.uri)["fieldSelector"] == (
        f"metadata.namespace!={namespace},metadata.namespace!=kube-system"
    )


# --- errors ----------------------------------------------------------------------------------


def test_unreachable_server_is_a_cluster_error(cluster: Cluster, tmp_path: Path) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    port = controlplane.free_port()  # nothing listens there
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path = tmp_path / "unreachable.kubeconfig"
    path.write_text(yaml.safe_dump(config))

    with pytest.raises(
        ClusterError, match=rf"^cannot reach https://127.0.0.1:{port}: Connection refused$"
    ):
        load_snapshot(Source(kubeconfig=str(path), request_timeout=2))

    proc = run_cli("audit", "--kubeconfig", str(path), "--request-timeout", "2", "--quiet")
    assert proc.returncode == ExitCode.CLUSTER
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one clear line
    assert f"127.0.0.1:{port}" in proc.stderr


def test_bad_token_is_a_cluster_error(cluster: Cluster, tmp_path: Path) -> None:
    path = token_kubeconfig(cluster, "not-a-valid-token", tmp_path / "bad.kubeconfig")
    with pytest.raises(ClusterError, match="401 Unauthorized"):
        load_snapshot(Source(kubeconfig=str(path)))
    proc = run_cli("audit", "--kubeconfig", str(path), "--quiet")
    assert proc.returncode == ExitCode.CLUSTER


def test_unknown_context_is_a_cluster_error(cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match=r"context 'nope' not found .*available: kaudit"):
        live(cluster, context="nope")
    proc = run_cli("audit", "--kubeconfig", str(cluster.kubeconfig), "--context", "nope")
    assert proc.returncode == ExitCode.CLUSTER
    assert "context 'nope' not found" in proc.stderr


def test_cli_audits_the_documented_kubeconfig(cluster: Cluster, namespace: str) -> None:
    cluster.apply(MISMATCH, namespace)
    cluster.wait_for("pods", lambda: cluster.pods_ready(namespace, 2))
    proc = run_cli(
        "audit",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "-n",
        namespace,
        "--format",
        "json",
        "--fail-on",
        "high",
        "--quiet",
    )
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr  # KA201 is high
    assert "KA201" in proc.stdout


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaudit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=REPO_ROOT,
    )


# --- in-cluster ------------------------------------------------------------------------------


def test_in_cluster_service_account(
    cluster: Cluster,
    namespace: str,
    auditor_kubeconfig: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--in-cluster reads the pod's service-account token and CA, and the API
    server's address from the KUBERNETES_SERVICE_* variables, as inside a pod."""
    import base64

    auditor = yaml.safe_load(auditor_kubeconfig.read_text())
    account = tmp_path / "serviceaccount"  # the pod's service-account mount, moved
    account.mkdir()
    (account / "token").write_text(auditor["users"][0]["user"]["token"])
    ca_data = auditor["clusters"][0]["cluster"]["certificate-authority-data"]
    (account / "ca.crt").write_bytes(base64.b64decode(ca_data))
    host, port = cluster.server.removeprefix("https://").rsplit(":", 1)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    monkeypatch.setenv("KAUDIT_SERVICEACCOUNT_DIR", str(account))
    cluster.apply(MISMATCH, namespace)

    snapshot = load_snapshot(Source(in_cluster=True, namespaces=(namespace,)))

    assert snapshot.facts.context == "in-cluster"
    assert {s.name for s in snapshot.services} == {"api"}
    assert snapshot.missing_resources == {Resource.NETWORK_POLICIES}  # the auditor's RBAC


def test_in_cluster_outside_a_pod_is_a_cluster_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterError, match="in-cluster service account"):
        load_snapshot(Source(in_cluster=True))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "1")
    monkeypatch.setenv("KAUDIT_SERVICEACCOUNT_DIR", str(tmp_path / "missing"))
    with pytest.raises(ClusterError, match="in-cluster service account"):
        load_snapshot(Source(in_cluster=True))
