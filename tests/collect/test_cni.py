"""Recognising the CNI plugin from system-namespace pods and DaemonSets."""

from __future__ import annotations

from kaudit.collect.cni import detect_cni
from kaudit.model import Pod, Workload


def pod(name: str, namespace: str = "kube-system", **labels: str) -> Pod:
    return Pod.from_raw({"metadata": {"name": name, "namespace": namespace, "labels": labels}})


def test_nothing_seen_is_no_cni() -> None:
    assert detect_cni([]) == ()
    assert detect_cni([pod("coredns-abc", **{"k8s-app": "kube-dns"})]) == ()


def test_by_pod_name() -> None:
    assert detect_cni([pod("calico-node-x7k2p")]) == ("calico",)
    assert detect_cni([pod("kindnet-4xzq9")]) == ("kindnet",)


def test_by_app_or_k8s_app_label() -> None:
    assert detect_cni([pod("agent-1", app="cilium")]) == ("cilium",)
    assert detect_cni([pod("agent-1", **{"k8s-app": "antrea"})]) == ("antrea",)


def test_by_owning_workload() -> None:
    templated = Pod.from_raw(
        {"metadata": {"name": "x", "namespace": "kube-system"}},
        workload=Workload("DaemonSet", "weave-net"),
    )
    assert detect_cni([templated]) == ("weave",)


def test_by_daemonset_name() -> None:
    assert detect_cni([], ["kube-flannel-ds", "kube-proxy"]) == ("flannel",)


def test_pods_outside_system_namespaces_do_not_count() -> None:
    assert (
        detect_cni([pod("calico-node-x", namespace="shop"), pod("cilium-1", namespace="default")])
        == ()
    )


def test_a_cni_namespace_of_its_own_counts() -> None:
    assert detect_cni([pod("cilium-abcde", namespace="cilium")]) == ("cilium",)


def test_several_plugins_are_sorted_and_unique() -> None:
    seen = [pod("cilium-1"), pod("calico-node-1"), pod("calico-node-2")]
    assert detect_cni(seen, ["calico-node", "kube-router"]) == ("calico", "cilium", "kube-router")
