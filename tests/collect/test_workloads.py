"""Workloads in manifests expanded into the pods their controllers would create."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.collect import manifests
from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from kaudit.model import Snapshot
from tests.rules.helpers import fired_on, only

DATA = Path(__file__).parent / "data"
PER_POD_SERVICES = DATA / "statefulset-per-pod-services.yaml"


def load(tmp_path: Path, text: str) -> Snapshot:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    return load_manifests([str(path)])


TEMPLATE = "template: {metadata: {labels: {app: w}}, spec: {containers: [{name: c}]}}"


def workload(kind: str, count_line: str = "", api_version: str = "apps/v1") -> str:
    spec = f"jobTemplate: {{spec: {{{count_line} {TEMPLATE}}}}}" if kind == "CronJob" else TEMPLATE
    count = "" if kind == "CronJob" else count_line
    return (
        f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: w, namespace: x}}\n"
        f"spec: {{{count} selector: {{matchLabels: {{app: w}}}}, {spec}}}\n"
    )


def node(name: str) -> str:
    return f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n"


# (case, manifest, expected pod names)
COUNT_CASES = [
    ("deployment default", workload("Deployment"), ["w"]),
    ("deployment 1", workload("Deployment", "replicas: 1,"), ["w"]),
    ("deployment 3", workload("Deployment", "replicas: 3,"), ["w-0", "w-1", "w-2"]),
    ("deployment 0", workload("Deployment", "replicas: 0,"), []),
    ("replicaset 2", workload("ReplicaSet", "replicas: 2,"), ["w-0", "w-1"]),
    (
        "replicationcontroller 2",
        workload("ReplicationController", "replicas: 2,", "v1"),
        ["w-0", "w-1"],
    ),
    ("statefulset default", workload("StatefulSet"), ["w-0"]),
    ("statefulset 3", workload("StatefulSet", "replicas: 3,"), ["w-0", "w-1", "w-2"]),
    ("statefulset 0", workload("StatefulSet", "replicas: 0,"), []),
    ("daemonset without nodes", workload("DaemonSet"), ["w"]),
    (
        "daemonset on 3 nodes",
        workload("DaemonSet") + node("a") + node("b") + node("c"),
        ["w-0", "w-1", "w-2"],
    ),
    ("job default", workload("Job", api_version="batch/v1"), ["w"]),
    ("job parallelism 2", workload("Job", "parallelism: 2,", "batch/v1"), ["w-0", "w-1"]),
    ("job parallelism 0", workload("Job", "parallelism: 0,", "batch/v1"), []),
    ("cronjob default", workload("CronJob", api_version="batch/v1"), ["w"]),
    ("cronjob parallelism 2", workload("CronJob", "parallelism: 2,", "batch/v1"), ["w-0", "w-1"]),
]


@pytest.mark.parametrize(
    ("text", "names"), [c[1:] for c in COUNT_CASES], ids=[c[0] for c in COUNT_CASES]
)
def test_each_controller_runs_its_number_of_pods(
    tmp_path: Path, text: str, names: list[str]
) -> None:
    snap = load(tmp_path, text)
    assert sorted(p.name for p in snap.pods) == names
    assert all(p.from_template and p.owner.name == "w" for p in snap.pods)


@pytest.mark.parametrize("value", ["'3'", "-1", "true", "1.5", "2147483648"])
def test_a_bad_replica_count_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(InputError, match=r"invalid Deployment w: spec.replicas: .* number of pods"):
        load(tmp_path, workload("Deployment", f"replicas: {value},"))


def test_replica_counts_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = workload("Deployment", "replicas: 2147483647,")
    with pytest.raises(InputError, match=r"would run more than 150,000 pods"):
        load(tmp_path, huge)
    monkeypatch.setattr(manifests, "MAX_TEMPLATE_PODS", 5)
    three = workload("Deployment", "replicas: 2,")
    many = "---\n".join(three.replace("name: w", f"name: w{i}") for i in range(3))
    with pytest.raises(InputError, match=r"Deployment w2: the workloads in the input would run"):
        load(tmp_path, many)
    assert len(load(tmp_path, "---\n".join(many.split("---\n")[:2])).pods) == 4


def test_daemonset_without_nodes_is_noted(tmp_path: Path) -> None:
    assert load(tmp_path, workload("DaemonSet")).facts.notes == (
        "the input has no Node objects: each DaemonSet stands for one pod (one node)",
    )
    assert load(tmp_path, workload("DaemonSet") + node("a")).facts.notes == ()
    assert load(tmp_path, workload("Deployment")).facts.notes == ()


def test_nodes_are_read_not_ignored(tmp_path: Path) -> None:
    assert dict(load(tmp_path, workload("DaemonSet") + node("a")).facts.ignored_kinds) == {}


def test_replicas_of_one_template_share_their_labels(tmp_path: Path) -> None:
    pods = load(tmp_path, workload("Deployment", "replicas: 50,")).pods
    assert len(pods) == 50
    assert len({p.labels for p in pods}) == 1  # one class for the policy engine


def test_statefulset_pods_carry_the_controller_labels() -> None:
    snap = load_manifests([str(PER_POD_SERVICES)])
    assert [(p.name, dict(p.labels)) for p in snap.pods] == [
        (
            f"cache-server-{i}",
            {
                "app": "cache",
                "statefulset.kubernetes.io/pod-name": f"cache-server-{i}",
                "apps.kubernetes.io/pod-index": str(i),
            },
        )
        for i in range(3)
    ]
    endpoints = {s.service_name: [e.target_pod for e in s.endpoints] for s in snap.endpoint_slices}
    assert endpoints == {
        "cache": ["cache-server-0", "cache-server-1", "cache-server-2"],
        "cache-announce-0": ["cache-server-0"],
        "cache-announce-1": ["cache-server-1"],
        "cache-announce-2": ["cache-server-2"],
    }


def test_per_pod_services_have_endpoints_unless_the_pod_is_missing() -> None:
    text = PER_POD_SERVICES.read_text()
    assert fired_on("service-no-endpoints", text) == []
    # Two replicas: the third announce Service names a pod the controller never creates.
    fewer = text.replace("replicas: 3", "replicas: 2")
    assert fired_on("service-no-endpoints", fewer) == ["Service/cache/cache-announce-2"]


def test_findings_count_the_replicas_of_one_workload() -> None:
    text = PER_POD_SERVICES.read_text()
    finding = only("namespace-without-networkpolicy", text)
    assert "3 pods (1 workload)" in finding.message
