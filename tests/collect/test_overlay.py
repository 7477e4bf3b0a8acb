"""Manifests applied on top of a snapshot, as `kubectl apply` would leave the cluster."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaudit.collect.manifests import load_manifests
from kaudit.collect.overlay import (
    MERGED_FIELDS,
    load_changes,
    object_keys,
    overlay,
    parse_object_key,
)
from kaudit.errors import InputError
from kaudit.model import ClusterFacts, Namespace, NetworkPolicy, Pod, Service, Snapshot


def live_pod(name: str, owner: tuple[str, str] | None, labels: dict[str, str], **extra: Any) -> Pod:
    metadata: dict[str, Any] = {"name": name, "namespace": "shop", "labels": labels}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    return Pod.from_raw(
        {
            "metadata": metadata,
            "spec": {"nodeName": extra.get("node", "n1"), "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIP": extra.get("ip", "10.0.0.1")},
        }
    )


def live_snapshot() -> Snapshot:
    web = [
        live_pod(
            f"web-7d9f8-{suffix}",
            ("ReplicaSet", "web-7d9f8"),
            {"app": "web", "pod-template-hash": "7d9f8"},
            ip=f"10.0.0.{i + 1}",
            node=f"n{i + 1}",
        )
        for i, suffix in enumerate(("abcde", "fghij"))
    ]
    job = live_pod("report-28000000-xyz", ("Job", "report-28000000"), {"app": "report"})
    loner = live_pod("debug", None, {"app": "debug"})
    return Snapshot(
        facts=ClusterFacts(source="live", context="prod"),
        namespaces=(
            Namespace.from_raw({"metadata": {"name": "shop", "labels": {"team": "shop"}}}),
            Namespace.from_raw({"metadata": {"name": "old"}}),
        ),
        pods=(
            *web,
            job,
            loner,
            Pod.from_raw(
                {
                    "metadata": {"name": "x", "namespace": "old"},
                    "spec": {},
                    "status": {"phase": "Running"},
                }
            ),
        ),
        services=(
            Service.from_raw(
                {
                    "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
                }
            ),
        ),
        network_policies=(
            NetworkPolicy.from_raw(
                {"metadata": {"name": "deny", "namespace": "shop"}, "spec": {"podSelector": {}}}
            ),
            NetworkPolicy.from_raw(
                {"metadata": {"name": "keep", "namespace": "shop"}, "spec": {"podSelector": {}}}
            ),
        ),
    )


def write(path: Path, *objects: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return str(path)


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web", "version": "v2"}},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
        },
    },
}
CRONJOB = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "report", "namespace": "shop"},
    "spec": {
        "schedule": "* * * * *",
        "jobTemplate": {
            "spec": {"parallelism": 0, "template": {"spec": {"containers": [{"name": "c"}]}}}
        },
    },
}
POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "keep", "namespace": "shop"},
    "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]},
}


def test_a_workload_replaces_its_pods_in_place(tmp_path: Path) -> None:
    changes = load_changes([write(tmp_path / "pr.yaml", DEPLOYMENT, CRONJOB, POLICY)])
    after = overlay(live_snapshot(), changes)
    pods = {p.key: p for p in after.pods}
    # The Deployment's two pods (found through their ReplicaSet) take the new template;
    # the third replica keeps the manifests' name; the CronJob's Job pod is gone.
    assert sorted(pods) == [
        "old/x",
        "shop/debug",
        "shop/web-2",
        "shop/web-7d9f8-abcde",
        "shop/web-7d9f8-fghij",
    ]
    moved = pods["shop/web-7d9f8-fghij"]
    assert moved.labels["version"] == "v2"
    assert (moved.node_name, moved.pod_ips) == ("n2", ("10.0.0.2",))
    assert pods["shop/web-2"].pod_ips == ()
    assert [p.name for p in after.network_policies] == ["deny", "keep"]
    assert after.network_policies[1].policy_types == frozenset({"Egress"})
    # The namespace named implicitly by the manifests keeps its live labels.
    assert after.namespace("shop").labels["team"] == "shop"
    # The Service's endpoints are derived again from the new pods.
    (web_slice,) = after.endpoint_slices
    assert sorted(str(e.target_pod) for e in web_slice.endpoints) == [
        "web-2",
        "web-7d9f8-abcde",
        "web-7d9f8-fghij",
    ]
    assert after.facts.context == "prod"
    assert after.facts.notes[-1].endswith("(3 objects applied, 0 deleted)")


def test_deletions_by_name_and_by_manifest(tmp_path: Path) -> None:
    removed = write(
        tmp_path / "removed.yaml", {**POLICY, "metadata": {"name": "deny", "namespace": "shop"}}
    )
    changes = load_changes([], ["Pod/shop/debug", "Namespace/old"], [removed])
    after = overlay(live_snapshot(), changes)
    assert [p.name for p in after.network_policies] == ["keep"]
    assert {p.key for p in after.pods} == {
        "shop/web-7d9f8-abcde",
        "shop/web-7d9f8-fghij",
        "shop/report-28000000-xyz",
    }
    assert [n.name for n in after.namespaces] == ["shop"]


@pytest.mark.parametrize("text", ["Pod/debug", "Namespace/a/b", "NetworkPolicy//x", "x"])
def test_a_malformed_delete_is_one_line(text: str) -> None:
    with pytest.raises(InputError, match=r"--delete: .* is not KIND/NAMESPACE/NAME"):
        parse_object_key(text)


def test_object_keys_name_every_object_read(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml",
        DEPLOYMENT,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        {**POLICY, "metadata": {"name": "p"}},
    )
    assert object_keys([path]) == {
        ("Deployment", "shop", "web"),
        ("Namespace", "", "x"),
        ("NetworkPolicy", "default", "p"),
    }


def test_applying_the_whole_folder_of_a_snapshot_changes_nothing() -> None:
    base = load_manifests(["kaudit/demo/hardened"])
    after = overlay(base, load_changes(["kaudit/demo/hardened"]))
    assert sorted(p.key for p in after.pods) == sorted(p.key for p in base.pods)
    assert sorted((p.namespace, p.name) for p in after.network_policies) == sorted(
        (p.namespace, p.name) for p in base.network_policies
    )
    assert sorted(s.name for s in after.services) == sorted(s.name for s in base.services)


def test_the_overlay_merges_every_kind_of_the_snapshot() -> None:
    assert {f.name for f in dataclasses.fields(Snapshot)} == MERGED_FIELDS


def test_gateway_objects_are_replaced_by_kind_namespace_and_name(tmp_path: Path) -> None:
    def route(name: str, host: str) -> dict[str, Any]:
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"hostnames": [host]},
        }

    base = load_manifests(
        [write(tmp_path / "base.yaml", route("web", "a.example"), route("api", "b.example"))]
    )
    changes = load_changes(
        [write(tmp_path / "pr.yaml", route("web", "c.example"))], ["HTTPRoute/shop/api"]
    )
    after = overlay(base, changes)
    assert [(r.name, r.hostnames) for r in after.routes] == [("web", ("c.example",))]


def test_stateful_pods_keep_their_own_places(tmp_path: Path) -> None:
    live = Snapshot(
        facts=ClusterFacts(source="live"),
        pods=tuple(
            Pod.from_raw(
                {
                    "metadata": {
                        "name": f"db-{i}",
                        "namespace": "shop",
                        "labels": {"app": "db"},
                        "ownerReferences": [
                            {"kind": "StatefulSet", "name": "db", "controller": True}
                        ],
                    },
                    "spec": {"nodeName": f"n{i}"},
                    "status": {"phase": "Running", "podIP": f"10.0.0.{i + 1}"},
                }
            )
            for i in range(12)
        ),
    )
    stateful = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {
            "replicas": 12,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db", "v": "2"}}, "spec": {}},
        },
    }
    after = overlay(live, load_changes([write(tmp_path / "db.yaml", stateful)]))
    pods = {p.name: p for p in after.pods}
    assert sorted(pods) == sorted(f"db-{i}" for i in range(12))
    assert (pods["db-2"].node_name, pods["db-2"].pod_ips) == ("n2", ("10.0.0.3",))
    assert pods["db-10"].labels["statefulset.kubernetes.io/pod-name"] == "db-10"
    assert pods["db-10"].node_name == "n10"


def test_a_calico_policy_never_replaces_a_kubernetes_one_of_the_same_name(tmp_path: Path) -> None:
    calico = {
        "apiVersion": "projectcalico.org/v3",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"selector": "all()", "types": ["Ingress"]},
    }
    path = write(tmp_path / "calico.yaml", calico)
    assert object_keys([path]) == {("NetworkPolicy.projectcalico.org", "shop", "p")}
    base = load_manifests(
        [write(tmp_path / "k8s.yaml", {**POLICY, "metadata": {"name": "p", "namespace": "shop"}})]
    )
    after = overlay(base, load_changes([path]))
    assert [(p.namespace, p.name) for p in after.network_policies] == [("shop", "p")]
    assert [p.ref.kind for p in after.calico_policies] == ["NetworkPolicy.projectcalico.org"]
