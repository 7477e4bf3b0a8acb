"""kind-configs/ and the kind make targets, validated as far as this machine allows.

kind itself cannot run here (no container engine), so each config is checked
against the fields of kind's v1alpha4 Cluster API (kind decodes configs
strictly: an unknown field is an error), and the node images must be pinned by
digest to the Kubernetes minor of the local control plane.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.controlplane.settings import KUBERNETES_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
KIND_CONFIGS = REPO_ROOT / "kind-configs"

# Fields of sigs.k8s.io/kind/pkg/apis/config/v1alpha4 (types.go), by type.
CLUSTER_FIELDS = {
    "kind",
    "apiVersion",
    "name",
    "nodes",
    "networking",
    "featureGates",
    "runtimeConfig",
    "kubeadmConfigPatches",
    "kubeadmConfigPatchesJSON6902",
    "containerdConfigPatches",
    "containerdConfigPatchesJSON6902",
}
NODE_FIELDS = {
    "role",
    "image",
    "labels",
    "extraMounts",
    "extraPortMappings",
    "gpus",
    "kubeadmConfigPatches",
    "kubeadmConfigPatchesJSON6902",
}
NETWORKING_FIELDS = {
    "ipFamily",
    "apiServerPort",
    "apiServerAddress",
    "podSubnet",
    "serviceSubnet",
    "disableDefaultCNI",
    "kubeProxyMode",
    "dnsSearch",
}
MOUNT_FIELDS = {"containerPath", "hostPath", "readOnly", "selinuxRelabel", "propagation"}
PORT_MAPPING_FIELDS = {"containerPort", "hostPort", "listenAddress", "protocol"}
ROLES = {"control-plane", "worker"}
IP_FAMILIES = {"ipv4", "ipv6", "dual"}
PROXY_MODES = {"iptables", "ipvs", "nftables", "none"}

PINNED_NODE_IMAGE = re.compile(
    r"kindest/node:v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)@sha256:[0-9a-f]{64}"
)


def kind_config_errors(config: Any) -> list[str]:
    """What kind's strict decoder and validation would reject in `config`."""
    errors: list[str] = []

    def unknown(where: str, value: Any, allowed: set[str]) -> None:
        if not isinstance(value, dict):
            errors.append(f"{where}: not a mapping")
            return
        errors.extend(f"{where}.{key}: unknown field" for key in sorted(set(value) - allowed))

    unknown("Cluster", config, CLUSTER_FIELDS)
    if not isinstance(config, dict):
        return errors
    if config.get("kind") != "Cluster" or config.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        errors.append("Cluster: kind/apiVersion must be Cluster / kind.x-k8s.io/v1alpha4")
    nodes = config.get("nodes") or []
    for index, node in enumerate(nodes):
        where = f"nodes[{index}]"
        unknown(where, node, NODE_FIELDS)
        if not isinstance(node, dict):
            continue
        if node.get("role", "control-plane") not in ROLES:
            errors.append(f"{where}.role: {node.get('role')!r} is not one of {sorted(ROLES)}")
        labels = node.get("labels") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            errors.append(f"{where}.labels: keys and values must be strings")
        for mount in node.get("extraMounts") or []:
            unknown(f"{where}.extraMounts[]", mount, MOUNT_FIELDS)
        for mapping in node.get("extraPortMappings") or []:
            unknown(f"{where}.extraPortMappings[]", mapping, PORT_MAPPING_FIELDS)
    if nodes and not any(
        isinstance(n, dict) and n.get("role", "control-plane") == "control-plane" for n in nodes
    ):
        errors.append("nodes: at least one control-plane node")
    networking = config.get("networking")
    if networking is not None:
        unknown("networking", networking, NETWORKING_FIELDS)
        if isinstance(networking, dict):
            if networking.get("ipFamily", "ipv4") not in IP_FAMILIES:
                errors.append("networking.ipFamily: not ipv4, ipv6 or dual")
            if networking.get("kubeProxyMode", "iptables") not in PROXY_MODES:
                errors.append("networking.kubeProxyMode: unknown mode")
            if not isinstance(networking.get("disableDefaultCNI", False), bool):
                errors.append("networking.disableDefaultCNI: must be a boolean")
            for key in ("podSubnet", "serviceSubnet"):
                if key in networking:
                    try:
                        ipaddress.ip_network(str(networking[key]))
                    except ValueError:
                        errors.append(f"networking.{key}: not a CIDR")
    return errors


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((KIND_CONFIGS / name).read_text())
    return loaded


def control_plane_minor() -> str:
    major, minor = KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
    return f"{major}.{minor}"


CONFIG_FILES = sorted(p.name for p in KIND_CONFIGS.glob("*.yaml"))


def test_the_expected_configs_exist() -> None:
    assert CONFIG_FILES == ["calico.yaml", "cilium.yaml", "default.yaml", "multi-node.yaml"]


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_config_uses_only_kind_v1alpha4_fields(name: str) -> None:
    assert kind_config_errors(load(name)) == []


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha3"}, "kind/apiVersion"),
        (
            {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "node": []},
            "Cluster.node: unknown field",
        ),
        (
            {
                "kind": "Cluster",
                "apiVersion": "kind.x-k8s.io/v1alpha4",
                "networking": {"disableDefaultCni": True},
            },
            "networking.disableDefaultCni: unknown field",
        ),
        (
            {
                "kind": "Cluster",
                "apiVersion": "kind.x-k8s.io/v1alpha4",
                "networking": {"podSubnet": "192.168.0.0/33"},
            },
            "networking.podSubnet: not a CIDR",
        ),
        (
            {
                "kind": "Cluster",
                "apiVersion": "kind.x-k8s.io/v1alpha4",
                "nodes": [{"role": "master"}],
            },
            "nodes[0].role",
        ),
        (
            {
                "kind": "Cluster",
                "apiVersion": "kind.x-k8s.io/v1alpha4",
                "nodes": [{"role": "worker", "imag": "x"}],
            },
            "nodes[0].imag: unknown field",
        ),
        (
            {
                "kind": "Cluster",
                "apiVersion": "kind.x-k8s.io/v1alpha4",
                "nodes": [{"role": "worker"}],
            },
            "at least one control-plane",
        ),
    ],
)
def test_the_validator_rejects_what_kind_rejects(config: dict[str, Any], error: str) -> None:
    assert any(error in e for e in kind_config_errors(config)), kind_config_errors(config)


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_node_images_pinned_by_digest_to_the_control_plane_minor(name: str) -> None:
    images = [node["image"] for node in load(name)["nodes"]]
    assert images, "every node names its image"
    for image in images:
        match = PINNED_NODE_IMAGE.fullmatch(image)
        assert match, f"{image} is not kindest/node:vX.Y.Z@sha256:<digest>"
        assert f"{match['major']}.{match['minor']}" == control_plane_minor()
    assert len(set(images)) == 1  # one Kubernetes version per cluster


def test_all_configs_pin_the_same_image() -> None:
    images = {node["image"] for name in CONFIG_FILES for node in load(name)["nodes"]}
    assert len(images) == 1


@pytest.mark.parametrize(
    ("name", "disable_default_cni", "pod_subnet", "workers"),
    [
        ("default.yaml", False, None, 1),
        ("calico.yaml", True, "192.168.0.0/16", 1),  # Calico's default IP pool
        ("cilium.yaml", True, "10.244.0.0/16", 1),
        ("multi-node.yaml", False, None, 3),
    ],
)
def test_cni_settings(
    name: str, disable_default_cni: bool, pod_subnet: str | None, workers: int
) -> None:
    config = load(name)
    networking = config.get("networking", {})
    assert networking.get("disableDefaultCNI", False) is disable_default_cni
    assert networking.get("podSubnet") == pod_subnet
    roles = [node.get("role") for node in config["nodes"]]
    assert roles.count("control-plane") == 1
    assert roles.count("worker") == workers


# --- make targets ---------------------------------------------------------------------


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


pytestmark_make = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def test_makefile_includes_the_kind_targets() -> None:
    assert "-include hack/kind.mk" in (REPO_ROOT / "Makefile").read_text().splitlines()


@pytestmark_make
def test_e2e_kind_skips_cleanly_without_a_context() -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAUDIT_KIND_CONTEXT"}
    proc = make("e2e-kind", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("e2e-kind: skipped: KAUDIT_KIND_CONTEXT is not set")


@pytestmark_make
def test_kind_up_rejects_an_unknown_cni_before_calling_kind() -> None:
    proc = make("kind-up", "CNI=flannel")
    assert proc.returncode != 0
    assert "CNI must be default, calico or cilium (got 'flannel')" in proc.stderr


@pytestmark_make
@pytest.mark.parametrize("cni", ["default", "calico", "cilium"])
def test_kind_up_uses_the_config_of_its_cni(cni: str) -> None:
    proc = make("-n", "kind-up", f"CNI={cni}")
    assert proc.returncode == 0, proc.stderr
    assert f"create cluster --name kaudit-{cni} --config kind-configs/{cni}.yaml" in proc.stdout
    assert ("calico.yaml" in proc.stdout.split("create cluster", 1)[1]) is (cni == "calico")
    assert ("cilium install" in proc.stdout) is (cni == "cilium")


@pytestmark_make
def test_kind_demo_leaves_out_the_kube_system_file() -> None:
    proc = make("-n", "kind-demo")
    assert proc.returncode == 0, proc.stderr
    applied = re.findall(r"-f (\S+\.yaml)", proc.stdout)
    assert applied
    assert not [path for path in applied if path.endswith("kube-system.yaml")]
    assert not [path for path in applied if path.endswith("gateway.yaml")]
    assert "kaudit/demo/insecure/shop.yaml" in applied
