"""Objects recognised by API group and kind; older API versions read as the current ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from kaudit.model import Snapshot


def load(tmp_path: Path, text: str) -> Snapshot:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    return load_manifests([str(path)])


POLICY_SPEC = "spec: {podSelector: {}, ingress: [{}]}\n"

# (case, apiVersion, kind, read as a NetworkPolicy?, listed as ignored)
GROUP_CASES = [
    ("kubernetes", "networking.k8s.io/v1", "NetworkPolicy", True, {}),
    ("kubernetes beta", "extensions/v1beta1", "NetworkPolicy", True, {}),
    ("unknown group", "example.com/v1", "NetworkPolicy", False, {"NetworkPolicy.example.com": 1}),
    ("core kind not read", "v1", "ConfigMap", False, {"ConfigMap": 1}),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "read", "ignored"),
    [c[1:] for c in GROUP_CASES],
    ids=[c[0] for c in GROUP_CASES],
)
def test_objects_are_recognised_by_group_and_kind(
    tmp_path: Path, api_version: str, kind: str, read: bool, ignored: dict[str, int]
) -> None:
    text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: p, namespace: x}}\n"
    snap = load(tmp_path, text + POLICY_SPEC)
    assert [p.name for p in snap.network_policies] == (["p"] if read else [])
    assert dict(snap.facts.ignored_kinds) == ignored


# (case, apiVersion, kind, spec): CNI policy kinds, read as their own kinds (kaudit.model.cni).
CNI_GROUP_CASES = [
    ("calico v3", "projectcalico.org/v3", "NetworkPolicy", "spec: {selector: all()}\n"),
    ("calico crd", "crd.projectcalico.org/v1", "NetworkPolicy", "spec: {selector: all()}\n"),
    ("cilium", "cilium.io/v2", "CiliumNetworkPolicy", "spec: {endpointSelector: {}}\n"),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "spec"),
    [c[1:] for c in CNI_GROUP_CASES],
    ids=[c[0] for c in CNI_GROUP_CASES],
)
def test_cni_policy_kinds_are_read_as_their_own_kinds(
    tmp_path: Path, api_version: str, kind: str, spec: str
) -> None:
    text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: p, namespace: x}}\n"
    snap = load(tmp_path, text + spec)
    assert snap.network_policies == ()
    read = [(p.kind, p.namespace, p.name) for p in snap.calico_policies]
    read += [(p.kind, p.namespace, p.name) for p in snap.cilium_policies]
    assert read == [(kind, "x", "p")]
    assert dict(snap.facts.ignored_kinds) == {}  # read and evaluated, not ignored


# (case, apiVersion, kind, read as a pod-creating workload?)
WORKLOAD_GROUP_CASES = [
    ("apps", "apps/v1", "Deployment", True),
    ("apps beta1", "apps/v1beta1", "Deployment", True),
    ("apps beta2", "apps/v1beta2", "StatefulSet", True),
    ("extensions", "extensions/v1beta1", "DaemonSet", True),
    ("batch", "batch/v1", "Job", True),
    ("batch beta", "batch/v1beta1", "CronJob", True),
    ("a custom Deployment", "example.com/v1", "Deployment", False),
    ("StatefulSet is not in extensions", "extensions/v1beta1", "StatefulSet", False),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "read"),
    [c[1:] for c in WORKLOAD_GROUP_CASES],
    ids=[c[0] for c in WORKLOAD_GROUP_CASES],
)
def test_workloads_are_recognised_by_group_and_kind(
    tmp_path: Path, api_version: str, kind: str, read: bool
) -> None:
    template = "template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c}]}}"
    spec = f"jobTemplate: {{spec: {{{template}}}}}" if kind == "CronJob" else template
    text = (
        f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: a, namespace: x}}\n"
        f"spec: {{selector: {{matchLabels: {{app: a}}}}, {spec}}}\n"
    )
    snap = load(tmp_path, text)
    assert bool(snap.pods) == read
    assert bool(snap.facts.ignored_kinds) == (not read)


def test_a_document_without_api_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input.yaml:1: Pod a has no apiVersion$"):
        load(tmp_path, "kind: Pod\nmetadata: {name: a, namespace: x}\n")


def test_typed_list_items_take_the_list_api_version(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: a, namespace: x}\n"
    assert [p.key for p in load(tmp_path, text).pods] == ["x/a"]


BETA_DEPLOYMENT = """\
apiVersion: {version}
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  {selector}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
"""


@pytest.mark.parametrize("version", ["extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"])
@pytest.mark.parametrize(
    "selector", ["", "selector: {matchLabels: {app: web}}"], ids=["defaulted", "given"]
)
def test_beta_workloads_read_like_apps_v1(tmp_path: Path, version: str, selector: str) -> None:
    snap = load(tmp_path, BETA_DEPLOYMENT.format(version=version, selector=selector))
    assert [(p.key, str(p.owner)) for p in snap.pods] == [("shop/web", "Deployment/web")]
    (endpoints,) = snap.endpoint_slices
    assert [e.target_pod for e in endpoints.endpoints] == ["web"]


def test_beta_workload_selector_stands_in_for_real_pods(tmp_path: Path) -> None:
    # The defaulted selector finds the real pod, so no template pod is added beside it.
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}}\n"
    )
    text = BETA_DEPLOYMENT.format(version="extensions/v1beta1", selector="") + "---\n" + pod
    assert [p.name for p in load(tmp_path, text).pods] == ["web-1"]


def test_beta_policy_reads_like_v1(tmp_path: Path) -> None:
    body = (
        "metadata: {name: p, namespace: x}\n"
        "spec:\n  podSelector: {matchLabels: {app: db}}\n"
        "  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 5432}]}]\n"
    )
    beta = load(tmp_path, "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\n" + body)
    current = load(tmp_path, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" + body)
    assert beta.network_policies[0].ingress == current.network_policies[0].ingress
    assert beta.network_policies[0].pod_selector == current.network_policies[0].pod_selector


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("{backend: garbage}", "got `str` - at `$.spec.defaultBackend`"),
        ("{rules: [{http: {paths: garbage}}]}", "got `str` - at `$.spec.rules[0].http.paths`"),
        ("{backend: {serviceName: 5}}", "got `int` - at `$.spec.defaultBackend.service.name`"),
    ],
)
def test_a_bad_beta_ingress_is_one_line_naming_the_conversion(
    tmp_path: Path, spec: str, reason: str
) -> None:
    text = f"apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {{name: i}}\nspec: {spec}\n"
    with pytest.raises(InputError) as error:
        load(tmp_path, text)
    message = str(error.value)
    assert reason in message and "\n" not in message
    assert message.endswith("(read from extensions/v1beta1 as its current version)")
    current = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n"
    with pytest.raises(InputError) as unconverted:
        load(tmp_path, current + "spec: {defaultBackend: garbage}\n")
    assert str(unconverted.value).endswith("got `str` - at `$.spec.defaultBackend`")
