"""The Gateway API read live: the v1.7.0 CRDs installed for this module (and removed
after it, so the other live tests see a cluster without them), objects created
through the API, read back by the collector in the version the server serves, and a
route's status conditions shown in the findings' evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
from kaudit.collect.live import OPTIONAL_RESOURCES
from kaudit.collect.live.credentials import connect
from kaudit.collect.live.discovery import discover
from kaudit.model import Resource
from tests.cluster.gateway_crds import GROUP, gateway_api_installed
from tests.jsondig import dig
from tests.plugins.clusterkit import Cluster


@pytest.fixture(scope="module")
def gateway_api(cluster: Cluster) -> Iterator[Cluster]:
    with gateway_api_installed(cluster, "experimental"):
        yield cluster


def test_every_kind_is_read_in_the_version_served(gateway_api: Cluster) -> None:
    client = connect(None, str(gateway_api.kubeconfig), False, 10, 5).client
    found = discover(client, OPTIONAL_RESOURCES)
    assert found.refused == ()
    served = {r.kind: r.group_path for r in found.listed}
    gateway_kinds = {r.kind for r in OPTIONAL_RESOURCES if r.group == GROUP}
    # v1.7.0 serves every kind at v1 (TLS, TCP and UDP routes also at v1alpha2, the
    # experimental channel's older version): v1 is preferred.
    assert {kind: served.get(kind) for kind in gateway_kinds} == dict.fromkeys(
        gateway_kinds, f"/apis/{GROUP}/v1"
    )
    # The experimental group's XListenerSet is not served by v1.7.0: left out, no error.
    assert Resource.X_LISTENER_SETS not in served


def manifests(namespace: str, class_name: str) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: {GROUP}/v1
kind: GatewayClass
metadata: {{name: {class_name}}}
spec: {{controllerName: example.com/gateway}}
---
apiVersion: {GROUP}/v1
kind: Gateway
metadata: {{name: edge, namespace: {namespace}}}
spec:
  gatewayClassName: {class_name}
  listeners:
    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes: {{namespaces: {{from: All}}}}
    - name: db
      port: 5432
      protocol: TCP
---
apiVersion: {GROUP}/v1
kind: HTTPRoute
metadata: {{name: web, namespace: {namespace}}}
spec:
  parentRefs: [{{name: edge, sectionName: http}}]
  rules: [{{backendRefs: [{{name: web, port: 80}}]}}]
---
apiVersion: {GROUP}/v1
kind: HTTPRoute
metadata: {{name: lost, namespace: {namespace}}}
spec:
  parentRefs: [{{name: nowhere}}]
  rules: [{{backendRefs: [{{name: web, port: 8080}}]}}]
---
apiVersion: {GROUP}/v1alpha2
kind: TCPRoute
metadata: {{name: db, namespace: {namespace}}}
spec:
  parentRefs: [{{name: edge, sectionName: db}}]
  rules: [{{backendRefs: [{{name: db, namespace: other, port: 5432}}]}}]
---
apiVersion: {GROUP}/v1beta1
kind: ReferenceGrant
metadata: {{name: from-other, namespace: {namespace}}}
spec:
  from: [{{group: {GROUP}, kind: HTTPRoute, namespace: other}}]
  to: [{{group: "", kind: Service, name: web}}]
"""


STATUS = {
    "status": {
        "parents": [
            {
                "parentRef": {"name": "nowhere"},
                "controllerName": "example.com/gateway",
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "False",
                        "reason": "NoMatchingParent",
                        "message": "no Gateway nowhere",
                        "lastTransitionTime": "2026-01-15T09:30:00Z",
                        "observedGeneration": 1,
                    },
                    {
                        "type": "ResolvedRefs",
                        "status": "True",
                        "reason": "ResolvedRefs",
                        "message": "",
                        "lastTransitionTime": "2026-01-15T09:30:00Z",
                        "observedGeneration": 1,
                    },
                ],
            }
        ]
    }
}


def test_gateway_objects_and_route_status_read_live(gateway_api: Cluster, namespace: str) -> None:
    class_name = f"{namespace}-class"
    gateway_api.kubectl("create", "-f", "-", stdin=manifests(namespace, class_name))
    try:
        gateway_api.kubectl(
            "patch",
            "httproute",
            "lost",
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(STATUS),
        )
        snapshot = load_snapshot(
            Source(kubeconfig=str(gateway_api.kubeconfig), namespaces=(namespace,))
        )
    finally:
        gateway_api.kubectl("delete", "gatewayclass", class_name, "--wait=false")
    assert snapshot.warnings == ()
    assert class_name in {c.name for c in snapshot.gateway_classes}
    assert [str(g.ref) for g in snapshot.gateways] == [f"Gateway/{namespace}/edge"]
    assert sorted(str(r.ref) for r in snapshot.routes) == [
        f"HTTPRoute/{namespace}/lost",
        f"HTTPRoute/{namespace}/web",
        f"TCPRoute/{namespace}/db",
    ]
    assert [str(g.ref) for g in snapshot.reference_grants] == [
        f"ReferenceGrant/{namespace}/from-other"
    ]
    lost = next(r for r in snapshot.routes if r.name == "lost")
    (status,) = lost.statuses
    assert (status.controller_name, [(c.type, c.status, c.reason) for c in status.conditions]) == (
        "example.com/gateway",
        [("Accepted", "False", "NoMatchingParent"), ("ResolvedRefs", "True", "ResolvedRefs")],
    )

    findings = {(f.rule_name, str(f.resource)): f for f in audit(snapshot).findings}
    parent = findings[("route-parent-not-found", f"HTTPRoute/{namespace}/lost")]
    assert dig(parent.evidence, "status", 0, "conditions", 0) == {
        "type": "Accepted",
        "status": "False",
        "reason": "NoMatchingParent",
        "message": "no Gateway nowhere",
    }
    assert parent.message.endswith("The controller reports Accepted=False (NoMatchingParent).")
    assert ("route-backend-port-mismatch", f"HTTPRoute/{namespace}/lost") in findings
    assert ("gateway-listener-plain-http", f"Gateway/{namespace}/edge") in findings
    assert ("gateway-allows-routes-from-all-namespaces", f"Gateway/{namespace}/edge") in findings
    assert ("gateway-unknown-class", f"Gateway/{namespace}/edge") not in findings
    # The TCPRoute's backend is in a namespace this audit (-n) did not read: its
    # ReferenceGrants are unknown, so nothing is claimed about them.
    assert ("route-cross-namespace-without-referencegrant", f"TCPRoute/{namespace}/db") not in (
        findings
    )


RBAC = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: auditor, namespace: NAMESPACE}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: auditor, namespace: NAMESPACE}
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, services]
    verbs: [get, list]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses, networkpolicies]
    verbs: [list]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [GATEWAY_RESOURCES]
    verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: auditor, namespace: NAMESPACE}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: auditor}
subjects: [{kind: ServiceAccount, name: auditor, namespace: NAMESPACE}]
"""


def auditor(cluster: Cluster, namespace: str, resources: str, tmp_path: Path) -> Path:
    """A kubeconfig for a ServiceAccount whose Role covers `namespace` only."""
    rbac = RBAC.replace("NAMESPACE", namespace).replace("GATEWAY_RESOURCES", resources)
    cluster.kubectl("create", "-f", "-", stdin=rbac)
    token = cluster.kubectl("create", "token", "auditor", "-n", namespace).stdout.strip()
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["users"] = [{"name": "auditor", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "auditor"
    path = tmp_path / "auditor.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


NAMESPACED = "gateways, listenersets, httproutes, grpcroutes, tlsroutes, tcproutes, udproutes, referencegrants"


def test_namespace_scoped_identity_reads_the_gateway_kinds_of_its_namespace(
    gateway_api: Cluster, namespace: str, tmp_path: Path
) -> None:
    kubeconfig = auditor(gateway_api, namespace, NAMESPACED, tmp_path)
    snapshot = load_snapshot(Source(kubeconfig=str(kubeconfig), namespaces=(namespace,)))
    # GatewayClasses are cluster-wide: without a Gateway here, one informational line.
    assert snapshot.missing_resources == frozenset()
    (warning,) = snapshot.warnings
    assert warning.kind is None
    assert "GatewayClasses (no Gateway here needs them)" in warning.message


def test_identity_without_gateway_permissions_gets_incomplete_gateway_rules(
    gateway_api: Cluster, namespace: str, tmp_path: Path
) -> None:
    kubeconfig = auditor(gateway_api, namespace, "configmaps", tmp_path)
    snapshot = load_snapshot(Source(kubeconfig=str(kubeconfig), namespaces=(namespace,)))
    assert {Resource.GATEWAYS, Resource.HTTP_ROUTES, Resource.REFERENCE_GRANTS} <= (
        snapshot.missing_resources
    )
    report = audit(snapshot)
    assert "route-parent-not-found" in report.incomplete_rules
    assert "gateway-listener-plain-http" in report.incomplete_rules
