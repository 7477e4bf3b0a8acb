"""The bootstrap objects and component configuration the harness reads from its YAML files."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from hack.controlplane import bootstrap, components
from hack.controlplane.settings import (
    DNS_SERVICE_IP,
    FAKE_NODES,
    KUBERNETES_VERSION,
    POD_CIDR,
    SERVICE_CIDR,
)


def as_json(manifests: list[bootstrap.Manifest]) -> Any:
    """The manifests as plain JSON data, to index freely."""
    return json.loads(json.dumps(manifests))


def test_one_node_per_fake_node_with_a_pod_cidr_inside_the_pod_range() -> None:
    nodes = as_json(bootstrap.node_objects())
    assert [node["metadata"]["name"] for node in nodes] == list(FAKE_NODES)
    pod_range = ipaddress.IPv4Network(POD_CIDR)
    for index, node in enumerate(nodes):
        spec, status = node["spec"], node["status"]
        assert ipaddress.IPv4Network(spec["podCIDR"]).subnet_of(pod_range)
        assert spec["podCIDRs"] == [spec["podCIDR"]]
        assert {"type": "InternalIP", "address": f"172.18.0.{index + 2}"} in status["addresses"]
        assert status["nodeInfo"]["kubeletVersion"] == KUBERNETES_VERSION
        assert status["capacity"] == {"cpu": "64", "memory": "256Gi", "pods": "5000"}


def test_kube_system_is_shaped_like_kind() -> None:
    objects = {
        (o["kind"], o["metadata"]["name"]): o for o in as_json(bootstrap.kube_system_objects())
    }
    assert set(objects) == {
        ("ServiceAccount", "coredns"),
        ("ServiceAccount", "kindnet"),
        ("ConfigMap", "coredns"),
        ("Deployment", "coredns"),
        ("Service", "kube-dns"),
    }
    service = objects["Service", "kube-dns"]
    assert service["spec"]["clusterIP"] == DNS_SERVICE_IP
    assert ipaddress.ip_address(DNS_SERVICE_IP) in ipaddress.ip_network(SERVICE_CIDR)
    assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} >= {
        (53, "UDP"),
        (53, "TCP"),
    }
    deployment = objects["Deployment", "coredns"]
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    corefile = objects["ConfigMap", "coredns"]["data"]["Corefile"]
    assert corefile.startswith(".:53 {\n")
    assert corefile.endswith("}\n")


def test_collection_paths() -> None:
    paths = [bootstrap.collection_path(o) for o in bootstrap.kube_system_objects()]
    assert paths == [
        "/api/v1/namespaces/kube-system/serviceaccounts",
        "/api/v1/namespaces/kube-system/serviceaccounts",
        "/api/v1/namespaces/kube-system/configmaps",
        "/apis/apps/v1/namespaces/kube-system/deployments",
        "/api/v1/namespaces/kube-system/services",
    ]
    assert {bootstrap.collection_path(o) for o in bootstrap.node_objects()} == {"/api/v1/nodes"}


def test_scheduler_config_names_its_kubeconfig_and_drops_the_volume_plugins() -> None:
    config = json.loads(components.scheduler_config_text(Path("/state/scheduler.kubeconfig")))
    assert config["kind"] == "KubeSchedulerConfiguration"
    assert config["clientConnection"]["kubeconfig"] == "/state/scheduler.kubeconfig"
    disabled = config["profiles"][0]["plugins"]["multiPoint"]["disabled"]
    assert {p["name"] for p in disabled} == {
        "VolumeBinding",
        "VolumeRestrictions",
        "VolumeZone",
        "NodeVolumeLimits",
    }


def test_token_file_gives_admin_and_kwok_system_masters_only() -> None:
    tokens = {role: f"{role}-token" for role, *_ in components.TOKEN_USERS}
    lines = components.token_file_text(tokens).splitlines()
    assert lines == [
        'admin-token,kaudit-admin,kaudit-admin,"system:masters"',
        "kcm-token,system:kube-controller-manager,kcm",
        "scheduler-token,system:kube-scheduler,scheduler",
        'kwok-token,kwok-controller,kwok,"system:masters"',
    ]
