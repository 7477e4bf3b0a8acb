"""Faults on the real control plane, not a mock: the API server paused, killed and
restarted, throttled by API Priority and Fairness, and an identity that may read
only two namespaces. Each test is bounded in time and leaves a working API server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hack import controlplane
from kaudit.errors import ExitCode
from tests.cluster.request_set import check_request_set
from tests.cluster.test_live import ADMIN, MISMATCH, run_cli, token_kubeconfig
from tests.plugins.clusterkit import (
    REPO_ROOT,
    AuditEvent,
    AuditLog,
    Cluster,
    delete_namespaces,
    kubectl,
    wait_for_default_service_account,
)

SERVICES = 80  # listed one per page: the collection lasts long enough to be interrupted
# Audits run at once by the throttled identity: each pages through every kind, so
# more requests are in flight than its priority level has seats.
CONCURRENT_AUDITS = 4


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kaudit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )


def services_manifest(count: int) -> str:
    return "\n---\n".join(
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\n"
        f"spec: {{selector: {{app: a{i}}}, ports: [{{port: 80}}]}}"
        for i in range(count)
    )


@pytest.fixture
def many_services(cluster: Cluster, namespace: str) -> str:
    cluster.apply(services_manifest(SERVICES), namespace)
    return namespace


def paging_services(namespace: str) -> Callable[[AuditEvent], bool]:
    def match(event: AuditEvent) -> bool:
        return (
            event.user == ADMIN
            and event.resource == "services"
            and event.namespace == namespace
            and "continue=" in event.uri
        )

    return match


def require_harness_cluster() -> None:
    if not controlplane.is_live():
        pytest.skip("needs the harness's own control plane (hack/controlplane) to pause it")


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "--format", "json", "--quiet"),
        ("reach", "--group", "namespace", "--format", "json"),
        ("exposure", "--format", "json"),
    ],
    ids=["audit", "reach", "exposure"],
)
def test_a_paused_api_server_ends_at_the_deadline(
    cluster: Cluster, many_services: str, command: tuple[str, ...]
) -> None:
    require_harness_cluster()
    log = AuditLog.start()
    proc = start_cli(
        *command,
        "--kubeconfig",
        str(cluster.kubeconfig),
        "-n",
        many_services,
        "--page-size",
        "1",
        "--timeout",
        "6",
    )
    try:
        log.wait_for("kaudit paging through the Services", paging_services(many_services))
        with controlplane.apiserver_paused():
            paused = time.monotonic()
            stdout, stderr = proc.communicate(timeout=30)
            waited = time.monotonic() - paused
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.CLUSTER, stderr
    assert stderr.strip().count("\n") == 0, stderr
    assert "within --timeout 6s" in stderr
    assert stdout == ""  # no report, not a partial one
    assert waited < 6 + 3  # the deadline, and the interpreter's exit
    cluster.wait_for("the API server to answer again", controlplane.is_live, timeout=30)


# --- API Priority and Fairness --------------------------------------------------------------

THROTTLING = """
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: NAME}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1   # a few seats out of the server's 600
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}  # no queue: a request beyond the seats gets 429
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: NAME}
spec:
  priorityLevelConfiguration: {name: NAME}
  matchingPrecedence: 200
  distinguisherMethod: {type: ByUser}
  rules:
    - subjects: [{kind: ServiceAccount, serviceAccount: {name: throttled, namespace: NAMESPACE}}]
      resourceRules:
        - {verbs: ["*"], apiGroups: ["*"], resources: ["*"], clusterScope: true, namespaces: ["*"]}
      nonResourceRules: [{verbs: ["*"], nonResourceURLs: ["*"]}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: throttled, namespace: NAMESPACE}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NAME}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: throttled, namespace: NAMESPACE}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NAME-classes}
rules:
  - {apiGroups: [networking.k8s.io], resources: [ingressclasses], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NAME-classes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: NAME-classes}
subjects: [{kind: ServiceAccount, name: throttled, namespace: NAMESPACE}]
"""


@pytest.fixture
def throttled_kubeconfig(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[Path]:
    """A ServiceAccount whose requests go to a priority level of a few seats."""
    name = f"kaudit-throttled-{uuid.uuid4().hex[:6]}"
    cluster.apply(THROTTLING.replace("NAMESPACE", namespace).replace("NAME", name))

    def flow_schema_active() -> bool:
        proc = kubectl("get", "flowschema", name, "-o", "json", check=False)
        conditions = json.loads(proc.stdout).get("status", {}).get("conditions", [])
        return any(c["type"] == "Dangling" and c["status"] == "False" for c in conditions)

    cluster.wait_for("the FlowSchema to be in force", flow_schema_active, timeout=30)
    token = kubectl("create", "token", "throttled", "-n", namespace).stdout.strip()
    yield token_kubeconfig(cluster, token, tmp_path / "throttled.kubeconfig")
    kubectl(
        "delete",
        f"flowschema/{name}",
        f"prioritylevelconfiguration/{name}",
        f"clusterrolebinding/{name}",
        f"clusterrolebinding/{name}-classes",
        f"clusterrole/{name}-classes",
        "--ignore-not-found",
        check=False,
    )


def test_throttled_by_priority_and_fairness_the_audit_retries_and_completes(
    cluster: Cluster, many_services: str, throttled_kubeconfig: Path
) -> None:
    """Several audits at once as one throttled identity: real 429s, retried, complete."""
    namespace = many_services
    user = f"system:serviceaccount:{namespace}:throttled"
    args = ("audit", "--kubeconfig", str(throttled_kubeconfig), "--page-size", "1")
    rejected: list[AuditEvent] = []
    # Whether requests overlap beyond the seats depends on the machine's load: a
    # round without any 429 proves nothing, so another one runs (at most three).
    for _ in range(3):
        log = AuditLog.start()
        started = time.monotonic()
        runs = [
            start_cli(*args, "--format", "json", "--fail-on", "never", "--quiet")
            for _ in range(CONCURRENT_AUDITS)
        ]
        try:
            outputs = [run.communicate(timeout=150) for run in runs]
        finally:
            for run in runs:
                run.kill()
        assert time.monotonic() - started < 150
        events = log.events(user)
        for run, (stdout, stderr) in zip(runs, outputs, strict=True):
            assert run.returncode == ExitCode.OK, stderr
            report = json.loads(stdout)
            assert report["complete"] is True
            (summary,) = [n for n in report["namespaces"] if n["name"] == namespace]
            assert summary["services"] == SERVICES
        check_request_set(events)
        rejected += [e for e in events if e.code == 429]
        if rejected:
            break
    assert rejected, "no request was throttled: the priority level did not bite"


# --- namespaced Roles only -------------------------------------------------------------------

NAMESPACE_READER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: kaudit-reader, namespace: TARGET}
rules:
  - {apiGroups: [""], resources: [namespaces], resourceNames: [TARGET], verbs: [get]}
  - {apiGroups: [""], resources: [pods, services], verbs: [list]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list]}
  - {apiGroups: [networking.k8s.io], resources: [networkpolicies, ingresses], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: kaudit-reader, namespace: TARGET}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: kaudit-reader}
subjects: [{kind: ServiceAccount, name: narrow, namespace: HOME}]
"""


def test_an_identity_with_two_namespaced_roles_audits_them_completely(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    other = f"t-second-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", other)
    try:
        wait_for_default_service_account(other)
        kubectl("create", "serviceaccount", "narrow", "-n", namespace)
        for target in (namespace, other):
            cluster.apply(NAMESPACE_READER.replace("TARGET", target).replace("HOME", namespace))
            cluster.apply(MISMATCH, target)
        token = kubectl("create", "token", "narrow", "-n", namespace).stdout.strip()
        kubeconfig = token_kubeconfig(cluster, token, tmp_path / "narrow.kubeconfig")
        proc = run_cli(
            "audit",
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            namespace,
            "-n",
            other,
            "--format",
            "json",
            "--fail-on",
            "never",
            "--quiet",
        )
    finally:
        delete_namespaces(other)
    assert proc.returncode == ExitCode.OK, proc.stderr
    report = json.loads(proc.stdout)
    assert report["complete"] is True
    assert report["incompleteRules"] == {}
    assert {n["name"] for n in report["namespaces"]} == {namespace, other}
    assert {f["resource"]["namespace"] for f in report["findings"] if f["ruleId"] == "KA201"} == {
        namespace,
        other,
    }
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"kaudit: warning: this identity may read only {namespace}, {other}:")
    assert "IngressClasses" in line and "kube-system" in line and "cluster-wide" in line


# --- killed and restarted (last: it replaces the API server process) ---------------------------


def test_an_api_server_killed_and_restarted_mid_collection_never_gives_a_partial_report(
    cluster: Cluster, many_services: str
) -> None:
    require_harness_cluster()
    log = AuditLog.start()
    proc = start_cli(
        "audit",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "-n",
        many_services,
        "--page-size",
        "1",
        "--timeout",
        "90",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--quiet",
    )
    try:
        log.wait_for("kaudit paging through the Services", paging_services(many_services))
        controlplane.restart_apiserver()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
        if not controlplane.is_live():
            controlplane.start_apiserver()
    if proc.returncode == ExitCode.CLUSTER:
        assert stderr.strip().count("\n") == 0, stderr
        assert stdout == ""
    else:
        # Retried through the restart: then the report is whole.
        assert proc.returncode == ExitCode.OK, stderr
        report = json.loads(stdout)
        assert report["complete"] is True
        (summary,) = report["namespaces"]
        assert summary["services"] == SERVICES
