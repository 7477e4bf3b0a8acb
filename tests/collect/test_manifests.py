"""The manifest source: every input shape, workload templates, derived endpoints, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kaudit.collect.manifests import load_manifests
from kaudit.errors import ExitCode, InputError
from kaudit.model import Protocol, Workload

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers:
        - name: api
          image: example/api:1.0
          ports: [{name: http, containerPort: 8080}]
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: http}]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_multi_document_yaml_with_workload_template_and_derived_endpoints(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", DEPLOYMENT + "---\n" + SERVICE + "---\n")
    snap = load_manifests([str(path)])
    assert [p.key for p in snap.pods] == ["shop/api"]
    pod = snap.pods[0]
    assert pod.workload == Workload("Deployment", "api")
    assert pod.from_template and pod.ready
    assert dict(pod.labels) == {"app": "api", "tier": "backend"}
    assert pod.named_port("http", Protocol.TCP) == 8080
    assert pod.origin.file == str(path) and pod.origin.line == 1
    (svc,) = snap.services
    assert svc.origin.line == 14
    (eps,) = snap.endpoint_slices
    assert eps.derived and eps.service_name == "api"
    assert [e.target_pod for e in eps.endpoints] == ["api"]
    assert eps.ports[0].port == 8080  # the named targetPort resolved against the pod
    assert [n.name for n in snap.namespaces] == ["shop"]
    assert snap.namespaces[0].labels["kubernetes.io/metadata.name"] == "shop"


def test_folder_is_read_recursively_and_unrelated_kinds_are_counted(tmp_path: Path) -> None:
    write(tmp_path, "a/deploy.yaml", DEPLOYMENT)
    write(tmp_path, "a/b/svc.yml", SERVICE)
    write(tmp_path, "a/b/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    write(tmp_path, "a/notes.txt", "not a manifest")
    snap = load_manifests([str(tmp_path / "a")])
    assert len(snap.pods) == 1 and len(snap.services) == 1
    assert dict(snap.facts.ignored_kinds) == {"ConfigMap": 1}


def test_kind_list_items_keep_their_own_lines(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: shop, labels: {team: a}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: web-1, namespace: shop, labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
    status:
      phase: Running
      podIP: 10.244.0.5
      conditions: [{type: Ready, status: "True"}]
"""
    snap = load_manifests([str(write(tmp_path, "dump.yaml", text))])
    (pod,) = snap.pods
    assert pod.origin.line == 7
    assert pod.pod_ips == ("10.244.0.5",) and pod.ready and not pod.from_template
    assert snap.namespace("shop").labels == {"team": "a", "kubernetes.io/metadata.name": "shop"}


def test_json_list_as_printed_by_kubectl(tmp_path: Path) -> None:
    data = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s", "namespace": "n"},
                "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
            }
        ],
    }
    snap = load_manifests([str(write(tmp_path, "svc.json", json.dumps(data)))])
    (svc,) = snap.services
    assert svc.type == "NodePort" and svc.ports[0].node_port == 30080 and not svc.has_selector
    assert snap.endpoint_slices == ()  # selector-less: nothing derived


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SERVICE))
    snap = load_manifests(["-"])
    assert snap.services[0].origin.file == "<stdin>"


def test_real_pods_stand_for_their_workload(tmp_path: Path) -> None:
    """A `kubectl get all -o yaml` dump holds the Deployment, its ReplicaSet and its pods."""
    text = (
        DEPLOYMENT
        + """---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-5d8f7
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, controller: true, uid: u1}]
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: example/api:1.0}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-5d8f7-x2x9z
  namespace: shop
  labels: {app: api, pod-template-hash: 5d8f7}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-5d8f7, controller: true, uid: u2}]
spec: {containers: [{name: api, image: example/api:1.0}]}
"""
    )
    snap = load_manifests([str(write(tmp_path, "dump.yaml", text))])
    assert [(p.name, p.owner) for p in snap.pods] == [
        ("api-5d8f7-x2x9z", Workload("Deployment", "api"))
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.yaml", "kind: Service\nmetadata: {name: [\n", "broken.yaml:3: invalid YAML"),
        (
            "nokind.yaml",
            "apiVersion: v1\nmetadata: {name: x}\n",
            "nokind.yaml:1: document has no kind",
        ),
        (
            "scalar.yaml",
            "just a string\n",
            "scalar.yaml:1: expected a Kubernetes object, found a string",
        ),
        ("bad.json", '{"kind": "Service",\n "metadata": }', "bad.json:2: invalid JSON"),
        (
            "port.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: eighty}]}\n",
            "port.yaml:1: invalid Service s: spec.ports[0].port: 'eighty' is not a port number (1-65535)",
        ),
        (
            "op.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
            "spec: {podSelector: {matchExpressions: [{key: a, operator: Equals}]}}\n",
            "op.yaml:1: invalid NetworkPolicy p: unknown label selector operator 'Equals'",
        ),
    ],
)
def test_bad_input_names_the_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        load_manifests([str(write(tmp_path, name, text))])
    assert str(caught.value).startswith(str(tmp_path / message))
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: no such file or folder"):
        load_manifests([str(tmp_path / "nope.yaml")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"folder holds no \.yaml"):
        load_manifests([str(tmp_path / "empty")])


def test_namespace_filter_keeps_cluster_scoped_objects(tmp_path: Path) -> None:
    other = DEPLOYMENT.replace("namespace: shop", "namespace: other")
    ic = "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\nspec: {controller: k8s.io/ingress-nginx}\n"
    snap = load_manifests([str(write(tmp_path, "all.yaml", "---\n".join([DEPLOYMENT, other, ic])))])
    only_shop = snap.filtered(include=["shop"])
    assert [p.key for p in only_shop.pods] == ["shop/api"]
    assert [c.name for c in only_shop.ingress_classes] == ["nginx"]
    assert [p.key for p in snap.filtered(exclude=["shop"]).pods] == ["other/api"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "hostnet.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {hostNetwork: 'false'}\n",
            "hostnet.yaml:1: invalid Pod a: Expected `bool | null`, got `str` - at "
            "`$.spec.hostNetwork`",
        ),
        (
            "selector.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: garbage}\n",
            "selector.yaml:1: invalid NetworkPolicy p: Expected `object | null`, got `str` - at "
            "`$.spec.podSelector`",
        ),
        (
            "label.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: null}}\n",
            "label.yaml:1: invalid Pod a: Expected `str`, got `null` - at `$.metadata.labels[...]`",
        ),
        (
            "operator.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}\nspec:\n"
            "  selector: {matchExpressions: [{key: app, operator: Bogus, values: [a]}]}\n",
            "operator.yaml:1: invalid Deployment d: unknown label selector operator 'Bogus'",
        ),
        (
            "template.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}\nspec: {template: nope}\n",
            "template.yaml:1: invalid Deployment d: spec.template: expected an object, found str",
        ),
        (
            "portname.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n  containers:\n"
            "  - {name: c, ports: [{containerPort: 80, name: 'bad name!'}]}\n",
            "portname.yaml:1: invalid Pod a: container c ports[0].name: 'bad name!' is not a "
            "valid port name",
        ),
    ],
)
def test_fields_are_validated_as_the_api_server_does(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_manifests([str(path)])
    assert str(error.value) == f"{tmp_path}/{expected}"


def test_a_folder_nested_1900_deep_is_read_without_recursion(tmp_path: Path) -> None:
    folders = [tmp_path / "d"]
    for _ in range(1899):
        folders.append(folders[-1] / "d")
    for folder in folders:
        folder.mkdir()
    (folders[-1] / "svc.yaml").write_text(SERVICE)
    try:
        snap = load_manifests([str(tmp_path)])
        assert [s.name for s in snap.services] == ["api"]
    finally:
        # shutil.rmtree (pytest's clean-up) recurses once per level: remove bottom-up.
        (folders[-1] / "svc.yaml").unlink()
        for folder in reversed(folders):
            folder.rmdir()
