"""Service rules: each fires on exactly the expected objects and stays quiet on near misses."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.jsondig import dig, dig_list
from tests.rules.helpers import fired_on, only, run, snapshot_of

WEB_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-server, namespace: shop}
spec:
  selector: {matchLabels: {app: api-server}}
  template:
    metadata: {labels: {app: api-server, version: v3, tier: backend}}
    spec:
      containers:
        - name: api
          image: api:3
          ports: [{containerPort: 8080, name: http}]
"""


def service(
    name: str, selector: str = "{app: api-server}", ports: str = "[{port: 80, targetPort: http}]"
) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {selector}
  ports: {ports}
"""


# --- service-no-endpoints ------------------------------------------------------------------

NO_ENDPOINT_CASES = [
    ("typo in value", "{app: api}", ["Service/shop/broken"]),
    ("letter case of the value", "{app: API-Server}", ["Service/shop/broken"]),
    ("letter case of the key", "{App: api-server}", ["Service/shop/broken"]),
    ("stale version", "{app: api-server, version: v2}", ["Service/shop/broken"]),
    ("label the pods never had", "{app: api-server, team: red}", ["Service/shop/broken"]),
    ("nothing alike", "{name: zzz}", ["Service/shop/broken"]),
    ("matches", "{app: api-server}", []),
    ("matches a subset of the labels", "{tier: backend}", []),
]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [(c[1], c[2]) for c in NO_ENDPOINT_CASES],
    ids=[c[0] for c in NO_ENDPOINT_CASES],
)
def test_service_no_endpoints_fires_on_selectors_matching_nothing(
    selector: str, expected: list[str]
) -> None:
    assert fired_on("service-no-endpoints", WEB_DEPLOYMENT, service("broken", selector)) == expected


DIAGNOSIS_CASES = [
    ("{app: api}", ["typo"], {"app": "api-server"}),
    ("{app: api-servr}", ["typo"], {"app": "api-server"}),
    ("{app: API-Server}", ["case-mismatch"], {"app": "api-server"}),
    ("{App: api-server}", ["case-mismatch"], {"app": "api-server"}),
    ("{ap: api-server}", ["typo"], {"app": "api-server"}),
    # A stale version is dropped from the corrected selector, not bumped.
    ("{app: api-server, version: v2}", ["stale-value"], {"app": "api-server"}),
    ("{app: api-server, team: red}", ["missing-label"], {"app": "api-server"}),
    ("{app: api-srever, version: v2}", ["stale-value", "typo"], {"app": "api-server"}),
]


@pytest.mark.parametrize(("selector", "diagnosis", "corrected"), DIAGNOSIS_CASES)
def test_service_no_endpoints_diagnoses_the_cause_and_corrects_the_selector(
    selector: str, diagnosis: list[str], corrected: dict[str, str]
) -> None:
    finding = only("service-no-endpoints", WEB_DEPLOYMENT, service("broken", selector))
    assert finding.evidence["diagnosis"] == diagnosis
    assert finding.evidence["correctedSelector"] == corrected
    closest = dig(finding.evidence, "closestPods", 0)
    assert dig(closest, "workloads") == ["Deployment/api-server"]
    assert dig(closest, "labels") == {"app": "api-server", "tier": "backend", "version": "v3"}
    for key, value in corrected.items():
        assert f"{key}: {value}" in finding.remediation


def test_service_no_endpoints_message_explains_a_typo() -> None:
    finding = only("service-no-endpoints", WEB_DEPLOYMENT, service("broken", "{app: api}"))
    assert finding.severity is Severity.HIGH
    assert "Service shop/broken selects app=api" in finding.message
    assert "app=api looks like a typo of the pods' app=api-server" in finding.message
    assert "Deployment/api-server" in finding.message


def test_service_no_endpoints_explains_a_stale_version() -> None:
    finding = only(
        "service-no-endpoints", WEB_DEPLOYMENT, service("broken", "{app: api-server, version: v2}")
    )
    assert "version=v2 is stale: the pods now carry version=v3" in finding.message


def test_service_no_endpoints_points_at_pods_in_another_namespace() -> None:
    elsewhere = WEB_DEPLOYMENT.replace("namespace: shop", "namespace: backend")
    finding = only("service-no-endpoints", elsewhere, service("api", "{app: api-server}"))
    assert finding.evidence["matchingPodsInOtherNamespaces"] == ["backend"]
    assert finding.evidence["podsInNamespace"] == 0
    assert "Pods with these labels run in backend" in finding.message


def test_service_no_endpoints_ranks_the_closest_label_sets() -> None:
    other = WEB_DEPLOYMENT.replace("api-server", "worker").replace("tier: backend", "tier: batch")
    finding = only("service-no-endpoints", WEB_DEPLOYMENT, other, service("broken", "{app: api}"))
    workloads = [dig(c, "workloads") for c in dig_list(finding.evidence, "closestPods")]
    assert workloads == [["Deployment/api-server"]]  # worker shares no entry: left out


SELECTORLESS_WITH_ENDPOINTS = """
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: external-db, namespace: shop}
    spec:
      ports: [{port: 5432}]
  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata:
      name: external-db-1
      namespace: shop
      labels: {kubernetes.io/service-name: external-db}
    addressType: IPv4
    endpoints: [{addresses: [10.0.0.5]}]
    ports: [{port: 5432}]
"""

EXTERNAL_NAME = """
apiVersion: v1
kind: Service
metadata: {name: mail, namespace: shop}
spec:
  type: ExternalName
  externalName: smtp.example.com
  selector: {app: nothing}
"""

HEADLESS_WITH_PODS = """
apiVersion: v1
kind: Service
metadata: {name: api-headless, namespace: shop}
spec:
  clusterIP: None
  selector: {app: api-server}
  ports: [{port: 8080}]
"""

SELECTOR_WITH_MANUAL_SLICE = """
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: legacy, namespace: shop}
    spec:
      selector: {app: gone}
      ports: [{port: 80}]
  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata:
      name: legacy-manual
      namespace: shop
      labels:
        kubernetes.io/service-name: legacy
        endpointslice.kubernetes.io/managed-by: team.example.com/sync
    addressType: IPv4
    endpoints: [{addresses: [10.1.2.3]}]
    ports: [{port: 80}]
"""


@pytest.mark.parametrize(
    "document",
    [SELECTORLESS_WITH_ENDPOINTS, EXTERNAL_NAME, HEADLESS_WITH_PODS, SELECTOR_WITH_MANUAL_SLICE],
    ids=["selector-less with manual endpoints", "ExternalName", "headless", "managed slice"],
)
def test_service_no_endpoints_near_misses(document: str) -> None:
    assert fired_on("service-no-endpoints", WEB_DEPLOYMENT, document) == []


# --- service-no-ready-endpoints --------------------------------------------------------------


def pod(name: str, ready: bool | None, labels: str = "{app: api-server}") -> str:
    status = ""
    if ready is not None:
        flag = "True" if ready else "False"
        phase = "Running"
        status = (
            f"status: {{phase: {phase}, podIP: 10.0.0.9, "
            f"conditions: [{{type: Ready, status: '{flag}'}}]}}"
        )
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop, labels: {labels}}}
spec: {{containers: [{{name: c, image: i, ports: [{{containerPort: 8080, name: http}}]}}]}}
{status}
"""


READY_CASES = [
    ("none ready", [pod("a", False), pod("b", False)], ["Service/shop/api"]),
    ("one ready", [pod("a", False), pod("b", True)], []),
    ("status unknown in manifests", [pod("a", None)], []),
    ("template pods count as ready", [WEB_DEPLOYMENT], []),
]


@pytest.mark.parametrize(
    ("pods", "expected"), [(c[1], c[2]) for c in READY_CASES], ids=[c[0] for c in READY_CASES]
)
def test_service_no_ready_endpoints(pods: list[str], expected: list[str]) -> None:
    assert fired_on("service-no-ready-endpoints", *pods, service("api")) == expected


def test_service_no_ready_endpoints_lists_the_pods() -> None:
    finding = only("service-no-ready-endpoints", pod("a", False), service("api"))
    assert finding.evidence["pods"] == [{"name": "a", "phase": "Running", "ready": False}]
    assert "selects 1 pod, but none is ready" in finding.message


# --- service-target-port-mismatch ---------------------------------------------------------------

TARGET_CASES = [
    ("named port exists", "[{port: 80, targetPort: http}]", [], None),
    ("numeric port declared", "[{port: 80, targetPort: 8080}]", [], None),
    ("targetPort defaults to port", "[{port: 8080}]", [], None),
    ("misspelt name", "[{port: 80, targetPort: htp}]", ["Service/shop/api"], Severity.HIGH),
    ("wrong number", "[{port: 80, targetPort: 80}]", ["Service/shop/api"], Severity.MEDIUM),
    ("port defaulted wrongly", "[{port: 80}]", ["Service/shop/api"], Severity.MEDIUM),
    (
        "named port, wrong protocol",
        "[{port: 80, targetPort: http, protocol: UDP}]",
        ["Service/shop/api"],
        Severity.HIGH,
    ),
]


@pytest.mark.parametrize(
    ("ports", "expected", "severity"),
    [c[1:] for c in TARGET_CASES],
    ids=[c[0] for c in TARGET_CASES],
)
def test_service_target_port_mismatch(
    ports: str, expected: list[str], severity: Severity | None
) -> None:
    findings = run(
        "service-target-port-mismatch",
        snapshot_of(WEB_DEPLOYMENT, service("api", ports=ports)),
    )
    assert [str(f.resource) for f in findings] == expected
    if severity is not None:
        assert findings[0].severity is severity


def test_service_target_port_mismatch_proposes_the_container_port() -> None:
    finding = only(
        "service-target-port-mismatch",
        WEB_DEPLOYMENT,
        service("api", ports="[{port: 80, targetPort: 80}]"),
    )
    assert finding.evidence["containerPorts"] == [
        {"containerPort": 8080, "protocol": "TCP", "name": "http"}
    ]
    assert "targetPort: http" in finding.remediation
    assert "the pods declare 8080/TCP (http)" in finding.message


def test_service_target_port_mismatch_skips_pods_that_declare_no_ports() -> None:
    bare = WEB_DEPLOYMENT.replace("ports: [{containerPort: 8080, name: http}]", "args: [serve]")
    assert (
        fired_on("service-target-port-mismatch", bare, service("api", ports="[{port: 80}]")) == []
    )


# --- exposure: NodePort, LoadBalancer, ExternalName, externalIPs ----------------------------------


def exposed(name: str, spec: str, annotations: str = "{}") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop, annotations: {annotations}}}
spec: {spec}
"""


EXPOSURE = [
    exposed(
        "np", "{type: NodePort, selector: {app: api-server}, ports: [{port: 80, nodePort: 30080}]}"
    ),
    exposed("lb", "{type: LoadBalancer, selector: {app: api-server}, ports: [{port: 443}]}"),
    exposed(
        "lb-aws-internal",
        "{type: LoadBalancer, ports: [{port: 443}]}",
        "{service.beta.kubernetes.io/aws-load-balancer-internal: 'true'}",
    ),
    exposed(
        "lb-gke-internal",
        "{type: LoadBalancer, ports: [{port: 443}]}",
        "{networking.gke.io/load-balancer-type: Internal}",
    ),
    exposed(
        "lb-azure-internal",
        "{type: LoadBalancer, ports: [{port: 443}]}",
        "{service.beta.kubernetes.io/azure-load-balancer-internal: 'true'}",
    ),
    exposed(
        "lb-ranges",
        "{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/8], ports: [{port: 443}]}",
    ),
    exposed(
        "lb-open-ranges",
        "{type: LoadBalancer, loadBalancerSourceRanges: [0.0.0.0/0], ports: [{port: 443}]}",
    ),
    exposed("plain", "{selector: {app: api-server}, ports: [{port: 80}]}"),
    exposed("ext", "{type: ExternalName, externalName: api.example.com}"),
    exposed("ext-ip", "{type: ExternalName, externalName: 169.254.169.254}"),
    exposed("ext-internal", "{type: ExternalName, externalName: db.prod.svc.cluster.local}"),
    exposed("eips", "{selector: {app: api-server}, ports: [{port: 80}], externalIPs: [1.2.3.4]}"),
]

EXPOSURE_EXPECTED = {
    "service-nodeport": {"np": Severity.HIGH},
    "service-loadbalancer": {
        "lb": Severity.CRITICAL,
        "lb-open-ranges": Severity.CRITICAL,
        "lb-ranges": Severity.MEDIUM,
        "lb-aws-internal": Severity.LOW,
        "lb-gke-internal": Severity.LOW,
        "lb-azure-internal": Severity.LOW,
    },
    "service-externalname": {
        "ext": Severity.LOW,
        "ext-ip": Severity.HIGH,
        "ext-internal": Severity.MEDIUM,
    },
    "service-external-ips": {"eips": Severity.HIGH},
}


@pytest.mark.parametrize("rule_name", sorted(EXPOSURE_EXPECTED))
def test_exposure_rules_fire_with_the_right_severity(rule_name: str) -> None:
    findings = run(rule_name, snapshot_of(WEB_DEPLOYMENT, *EXPOSURE))
    assert {f.resource.name: f.severity for f in findings} == EXPOSURE_EXPECTED[rule_name]


def test_loadbalancer_mentions_node_ports_unless_disabled() -> None:
    with_node_ports = only(
        "service-loadbalancer", exposed("lb", "{type: LoadBalancer, ports: [{port: 443}]}")
    )
    without = only(
        "service-loadbalancer",
        exposed(
            "lb", "{type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 443}]}"
        ),
    )
    assert "opens a NodePort on every node" in with_node_ports.message
    assert "NodePort" not in without.message
    assert with_node_ports.evidence["nodePortsAllocated"] is True
    assert without.evidence["nodePortsAllocated"] is False


def test_internal_loadbalancer_is_not_reported_as_internet_facing() -> None:
    finding = only(
        "service-loadbalancer",
        exposed(
            "lb",
            "{type: LoadBalancer, ports: [{port: 443}]}",
            "{service.beta.kubernetes.io/aws-load-balancer-scheme: internal}",
        ),
    )
    assert finding.severity is Severity.LOW
    assert "internet" not in finding.message.replace("not from the internet", "")
    assert finding.evidence["internalAnnotation"] == (
        "service.beta.kubernetes.io/aws-load-balancer-scheme: internal"
    )


def test_nodeport_remediation_is_clusterip_with_tls_ingress() -> None:
    finding = only(
        "service-nodeport",
        exposed("np", "{type: NodePort, ports: [{port: 80, name: web, nodePort: 30080}]}"),
    )
    assert "type: ClusterIP" in finding.remediation
    assert "secretName: np-tls" in finding.remediation
    assert "name: web" in finding.remediation
    assert finding.evidence["ports"] == [
        {"port": 80, "targetPort": 80, "protocol": "TCP", "name": "web", "nodePort": 30080}
    ]
