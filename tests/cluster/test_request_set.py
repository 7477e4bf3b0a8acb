"""The read-only promise on the real API server: its audit log records every
request, and kaudit's, as its own identity, are only the documented ones."""

from __future__ import annotations

import pytest

from kaudit.errors import ExitCode
from tests.cluster.request_set import EVERY_KIND, check_request_set, kinds_listed
from tests.cluster.test_live import ADMIN, MISMATCH, run_cli
from tests.plugins.clusterkit import AuditLog, Cluster


def test_a_whole_cluster_audit_only_gets_and_lists_the_documented_kinds(
    cluster: Cluster, namespace: str
) -> None:
    cluster.apply(MISMATCH, namespace)
    log = AuditLog.start()
    proc = run_cli("audit", "--kubeconfig", str(cluster.kubeconfig), "--format", "json", "--quiet")
    assert proc.returncode in (ExitCode.OK, ExitCode.FINDINGS), proc.stderr
    events = log.events(ADMIN)
    check_request_set(events)
    assert kinds_listed(events) == EVERY_KIND
    assert all(e.code == 200 for e in events), [e for e in events if e.code != 200]


def test_a_namespaced_audit_stays_in_its_namespaces(cluster: Cluster, namespace: str) -> None:
    cluster.apply(MISMATCH, namespace)
    log = AuditLog.start()
    proc = run_cli("audit", "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "--quiet")
    assert proc.returncode in (ExitCode.OK, ExitCode.FINDINGS), proc.stderr
    events = log.events(ADMIN)
    check_request_set(events, namespaces=(namespace,))
    assert {(e.verb, e.resource, e.name) for e in events if e.resource == "namespaces"} == {
        ("get", "namespaces", namespace)
    }
    assert {e.namespace for e in events if e.resource == "services"} == {namespace}


@pytest.mark.parametrize(
    "hostile",
    ["kube-system/secre%74s?", "x/../../../api/v1/secrets#", "secrets/..", "a" * 64, "Default"],
)
def test_a_hostile_namespace_makes_no_request(cluster: Cluster, hostile: str) -> None:
    log = AuditLog.start()
    proc = run_cli("audit", "--kubeconfig", str(cluster.kubeconfig), "-n", hostile, "--quiet")
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert log.events(ADMIN) == []
