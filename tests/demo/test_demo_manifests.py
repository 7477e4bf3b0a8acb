"""Structural checks of the demo cluster manifests shipped in kaudit/demo/.

These tests read the YAML with PyYAML only (no kaudit code), so they guard the
demo data itself: every object is well formed, workloads select their own pods,
the hardened variant is wired correctly, and every problem the insecure variant
is meant to show is really there.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

DEMO = Path(__file__).resolve().parents[2] / "kaudit" / "demo"
VARIANTS = ("insecure", "hardened")
SYSTEM_NAMESPACES = {"kube-system"}

Obj = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# apiVersion every kind must use on Kubernetes 1.36.
API_VERSIONS = {
    "Namespace": "v1",
    "Pod": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "IngressClass": "networking.k8s.io/v1",
    # Gateway API (the CRDs of its standard channel)
    "GatewayClass": "gateway.networking.k8s.io/v1",
    "Gateway": "gateway.networking.k8s.io/v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
    "ReferenceGrant": "gateway.networking.k8s.io/v1beta1",
}
CLUSTER_SCOPED = {"Namespace", "IngressClass", "GatewayClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}

# Rule names fixed by the rule catalogue (issue 5).
CATALOGUE = {
    "namespace-without-networkpolicy",
    "namespace-without-default-deny-ingress",
    "namespace-without-default-deny-egress",
    "ingress-only-policies",
    "egress-blocks-dns",
    "policy-peer-or-confusion",
    "policy-allows-all-namespaces",
    "policy-selects-no-pods",
    "cni-without-policy-enforcement",
    "service-no-endpoints",
    "service-no-ready-endpoints",
    "service-target-port-mismatch",
    "service-nodeport",
    "service-loadbalancer",
    "service-externalname",
    "service-external-ips",
    "ingress-without-class",
    "ingress-unknown-class",
    "ingress-backend-missing-service",
    "ingress-backend-port-mismatch",
    "ingress-without-tls",
    "gateway-listener-plain-http",
    "gateway-allows-routes-from-all-namespaces",
    "route-cross-namespace-without-referencegrant",
    "pod-host-network",
    "pod-host-port",
    "pod-metadata-reachable",
    "pod-default-ndots",
    "lateral-movement-open",
    "datastore-reachable-cross-namespace",
}

METADATA_V4 = ipaddress.ip_network("169.254.169.254/32")
METADATA_V6 = ipaddress.ip_network("fd00:ec2::254/128")
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


# --------------------------------------------------------------------------- helpers


def yaml_files(variant: str) -> list[Path]:
    return sorted((DEMO / variant).glob("*.yaml"))


def load(variant: str) -> list[Obj]:
    docs: list[Obj] = []
    for path in yaml_files(variant):
        with path.open(encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if doc is None:
                    continue
                assert isinstance(doc, dict), f"{path.name}: document is not a mapping"
                doc["__file__"] = path.name
                docs.append(doc)
    return docs


@pytest.fixture(scope="module", params=VARIANTS)
def variant_docs(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, load(request.param)


@pytest.fixture(scope="module")
def insecure() -> list[Obj]:
    return load("insecure")


@pytest.fixture(scope="module")
def hardened() -> list[Obj]:
    return load("hardened")


def ref(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']} {meta.get('namespace', '-')}/{meta['name']}"


def of_kind(docs: list[Obj], kind: str) -> list[Obj]:
    return [d for d in docs if d["kind"] == kind]


def get(docs: list[Obj], kind: str, name: str, namespace: str | None = None) -> Obj:
    found = [
        d
        for d in of_kind(docs, kind)
        if d["metadata"]["name"] == name
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"expected exactly one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]


def pod_templates(docs: list[Obj]) -> Iterator[tuple[Obj, str, dict[str, str], Obj]]:
    """(owner object, namespace, pod labels, pod spec) for every pod the demo creates."""
    for d in docs:
        ns = d["metadata"].get("namespace", "")
        if d["kind"] == "Pod":
            yield d, ns, d["metadata"].get("labels") or {}, d["spec"]
        elif d["kind"] in WORKLOADS:
            tpl = d["spec"]["template"]
            yield d, ns, tpl["metadata"].get("labels") or {}, tpl["spec"]


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def service_selects(svc: Obj, labels: dict[str, str]) -> bool:
    sel = svc["spec"].get("selector") or {}
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())


def pods_of_service(docs: list[Obj], svc: Obj) -> list[tuple[Obj, Obj]]:
    ns = svc["metadata"]["namespace"]
    return [
        (owner, spec)
        for owner, pod_ns, labels, spec in pod_templates(docs)
        if pod_ns == ns and service_selects(svc, labels)
    ]


def container_ports(spec: Obj) -> list[Obj]:
    return [p for c in spec.get("containers", []) for p in c.get("ports") or []]


def target_port_exists(target: int | str, spec: Obj) -> bool:
    ports = container_ports(spec)
    if isinstance(target, str):
        return any(p.get("name") == target for p in ports)
    return any(p["containerPort"] == target for p in ports)


def namespaces_declared(docs: list[Obj]) -> set[str]:
    return {d["metadata"]["name"] for d in of_kind(docs, "Namespace")}


def app_namespaces(docs: list[Obj]) -> set[str]:
    return namespaces_declared(docs) - SYSTEM_NAMESPACES


def policies_in(docs: list[Obj], ns: str) -> list[Obj]:
    return [p for p in of_kind(docs, "NetworkPolicy") if p["metadata"]["namespace"] == ns]


def policy_types(policy: Obj) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def peers(rule: Obj, key: str) -> list[Obj]:
    return list(rule.get(key) or [])


def within(inner: Network, outer: Network) -> bool:
    """inner is a subnet of outer (False across address families)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def ingress_backends(ing: Obj) -> Iterator[Obj]:
    spec = ing["spec"]
    if "defaultBackend" in spec:
        yield spec["defaultBackend"]
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            yield path["backend"]


def service_port_matches(svc: Obj, port: Obj) -> bool:
    for sp in svc["spec"].get("ports") or []:
        if "number" in port and sp["port"] == port["number"]:
            return True
        if "name" in port and sp.get("name") == port["name"]:
            return True
    return False


# --------------------------------------------------------------------------- both variants


@pytest.mark.parametrize("variant", VARIANTS)
def test_expected_files_exist(variant: str) -> None:
    names = {p.name for p in yaml_files(variant)}
    for required in (
        "00-namespaces.yaml",
        "shop.yaml",
        "data.yaml",
        "payments.yaml",
        "monitoring.yaml",
        "ingress.yaml",
        "kube-system.yaml",
    ):
        assert required in names, f"{variant}/{required} is missing"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_file_starts_with_a_header_comment(variant: str) -> None:
    for path in yaml_files(variant):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), f"{variant}/{path.name} has no header comment"


def test_documents_are_well_formed(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    assert len(docs) > 20, f"{variant}: suspiciously few documents ({len(docs)})"
    seen: set[tuple[str, str, str]] = set()
    for d in docs:
        where = f"{variant}/{d['__file__']}"
        for field in ("apiVersion", "kind", "metadata"):
            assert field in d, f"{where}: document without {field}"
        assert d["metadata"].get("name"), f"{where}: {d['kind']} without metadata.name"
        expected = API_VERSIONS.get(d["kind"])
        assert expected is not None, f"{where}: unexpected kind {d['kind']}"
        assert d["apiVersion"] == expected, f"{where}: {ref(d)} uses {d['apiVersion']}"
        key = (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])
        assert key not in seen, f"{where}: duplicate {ref(d)}"
        seen.add(key)


def test_namespaced_objects_use_declared_namespaces(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    declared = namespaces_declared(docs)
    assert {"shop", "data", "payments", "monitoring", "kube-system"} <= declared
    for d in docs:
        ns = d["metadata"].get("namespace")
        if d["kind"] in CLUSTER_SCOPED:
            assert ns is None, f"{variant}: cluster-scoped {ref(d)} has a namespace"
        else:
            assert ns, f"{variant}: {ref(d)} has no namespace"
            assert ns in declared | SYSTEM_NAMESPACES, f"{variant}: {ref(d)} in undeclared {ns}"


def test_namespace_name_label_is_consistent(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    for ns in of_kind(docs, "Namespace"):
        labels = ns["metadata"].get("labels") or {}
        name = ns["metadata"]["name"]
        assert labels.get("kubernetes.io/metadata.name") == name, f"{variant}: {ref(ns)}"


def test_workload_selectors_match_their_templates(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    workloads = [d for d in docs if d["kind"] in WORKLOADS]
    assert workloads
    for w in workloads:
        selector = w["spec"].get("selector")
        assert selector and (selector.get("matchLabels") or selector.get("matchExpressions")), (
            f"{variant}: {ref(w)} has no selector"
        )
        labels = w["spec"]["template"]["metadata"].get("labels") or {}
        assert selector_matches(selector, labels), (
            f"{variant}: {ref(w)} selector {selector} does not match template labels {labels}"
        )


def test_statefulsets_name_a_headless_service(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    for sts in of_kind(docs, "StatefulSet"):
        name = sts["spec"].get("serviceName")
        assert name, f"{variant}: {ref(sts)} has no serviceName"
        svc = get(docs, "Service", name, sts["metadata"]["namespace"])
        assert svc["spec"].get("clusterIP") == "None", f"{variant}: {ref(svc)} is not headless"


def test_containers_have_names_and_pinned_images(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    for owner, _ns, _labels, spec in pod_templates(docs):
        containers = spec.get("containers") or []
        assert containers, f"{variant}: {ref(owner)} has no containers"
        names = [c.get("name") for c in containers]
        assert all(names) and len(set(names)) == len(names), f"{variant}: {ref(owner)} {names}"
        for c in containers:
            image = c.get("image", "")
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{variant}: {ref(owner)} image {image!r} not pinned"
            for p in c.get("ports") or []:
                assert 1 <= p["containerPort"] <= 65535
                if "name" in p:
                    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", p["name"])
                    assert len(p["name"]) <= 15, f"{variant}: port name {p['name']} too long"


def test_services_and_policy_ports_are_well_formed(variant_docs: tuple[str, list[Obj]]) -> None:
    variant, docs = variant_docs
    for svc in of_kind(docs, "Service"):
        spec = svc["spec"]
        if spec.get("type") == "ExternalName":
            assert spec.get("externalName"), f"{variant}: {ref(svc)}"
            continue
        ports = spec.get("ports") or []
        assert ports, f"{variant}: {ref(svc)} has no ports"
        if len(ports) > 1:
            assert all(p.get("name") for p in ports), f"{variant}: {ref(svc)} unnamed ports"
    for pol in of_kind(docs, "NetworkPolicy"):
        assert "podSelector" in pol["spec"], f"{variant}: {ref(pol)} has no podSelector"
        for t in policy_types(pol):
            assert t in ("Ingress", "Egress"), f"{variant}: {ref(pol)} policyType {t}"


def test_kube_system_is_identical_in_both_variants() -> None:
    a = (DEMO / "insecure" / "kube-system.yaml").read_text(encoding="utf-8")
    b = (DEMO / "hardened" / "kube-system.yaml").read_text(encoding="utf-8")
    assert a == b


def test_kube_system_has_coredns_kube_dns_and_kindnet(variant_docs: tuple[str, list[Obj]]) -> None:
    _variant, docs = variant_docs
    coredns = get(docs, "Deployment", "coredns", "kube-system")
    tpl = coredns["spec"]["template"]
    assert tpl["metadata"]["labels"]["k8s-app"] == "kube-dns"
    ports = {
        (p["name"], p["containerPort"], p.get("protocol", "TCP"))
        for p in container_ports(tpl["spec"])
    }
    assert {("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")} <= ports
    svc = get(docs, "Service", "kube-dns", "kube-system")
    assert svc["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert "clusterIP" not in svc["spec"], "clusterIP is immutable: leave it to the cluster"
    assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} >= {(53, "UDP"), (53, "TCP")}
    assert pods_of_service(docs, svc), "kube-dns selects no pod"
    kindnet = get(docs, "DaemonSet", "kindnet", "kube-system")
    assert kindnet["spec"]["template"]["metadata"]["labels"]["app"] == "kindnet"
    assert kindnet["spec"]["template"]["spec"]["hostNetwork"] is True
    image = kindnet["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("docker.io/kindest/kindnetd:v")


def readme_rows() -> list[list[str]]:
    """Cells of the planted-problems table in kaudit/demo/README.md."""
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    rows = [
        line.strip().strip("|").split("|")
        for line in text.splitlines()
        if re.match(r"\| \d+ \|", line)
    ]
    return [[cell.strip() for cell in row] for row in rows]


def test_readme_table_uses_catalogue_rule_names() -> None:
    rows = readme_rows()
    assert len(rows) >= 20
    rules = set()
    for row in rows:
        assert len(row) == 4, row
        (rule,) = re.findall(r"`([^`]+)`", row[2])
        assert rule in CATALOGUE, f"README names a rule outside the catalogue: {rule}"
        rules.add(rule)
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    for bullet_rule in re.findall(r"^- `([a-z-]+)`", text, flags=re.MULTILINE):
        assert bullet_rule in CATALOGUE, f"README names a rule outside the catalogue: {bullet_rule}"
    planted = {
        "namespace-without-networkpolicy",
        "ingress-only-policies",
        "egress-blocks-dns",
        "service-no-endpoints",
        "service-nodeport",
        "service-loadbalancer",
        "service-externalname",
        "service-external-ips",
        "service-target-port-mismatch",
        "ingress-without-class",
        "ingress-backend-port-mismatch",
        "ingress-without-tls",
        "ingress-unknown-class",
        "ingress-backend-missing-service",
        "pod-host-network",
        "pod-host-port",
        "policy-peer-or-confusion",
        "policy-allows-all-namespaces",
        "pod-metadata-reachable",
        "policy-selects-no-pods",
        "datastore-reachable-cross-namespace",
        "pod-default-ndots",
        "gateway-listener-plain-http",
        "gateway-allows-routes-from-all-namespaces",
        "route-cross-namespace-without-referencegrant",
    }
    assert planted <= rules, f"README misses {sorted(planted - rules)}"


def test_readme_table_names_real_objects(insecure: list[Obj]) -> None:
    kinds = {d["kind"] for d in insecure}
    for row in readme_rows():
        objects = row[3]
        found = 0
        for kind, name in re.findall(r"(\w+) `([^`]+)`", objects):
            if kind not in kinds:
                continue
            ns, _, short = name.rpartition("/")
            get(insecure, kind, short, ns or None)
            found += 1
        assert found, f"README row {row[0]} names no object: {objects}"


# --------------------------------------------------------------------------- hardened


def test_hardened_ingress_backends_exist(hardened: list[Obj]) -> None:
    ingresses = of_kind(hardened, "Ingress")
    assert len(ingresses) == 1
    for ing in ingresses:
        ns = ing["metadata"]["namespace"]
        for backend in ingress_backends(ing):
            svc = get(hardened, "Service", backend["service"]["name"], ns)
            port = backend["service"]["port"]
            assert service_port_matches(svc, port), (
                f"{ref(ing)}: {port} is not a port of {ref(svc)}"
            )


def test_hardened_ingress_class_tls(hardened: list[Obj]) -> None:
    classes = {c["metadata"]["name"]: c for c in of_kind(hardened, "IngressClass")}
    defaults = [
        n
        for n, c in classes.items()
        if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    assert defaults == ["nginx"]
    for ing in of_kind(hardened, "Ingress"):
        assert ing["spec"].get("ingressClassName") in classes, ref(ing)
        tls = ing["spec"].get("tls") or []
        assert tls and all(t.get("secretName") for t in tls), f"{ref(ing)} without TLS"
        hosts = {r.get("host") for r in ing["spec"]["rules"]}
        assert hosts <= {h for t in tls for h in t.get("hosts", [])}, (
            f"{ref(ing)}: host without TLS"
        )


def test_hardened_service_selectors_match_pods(hardened: list[Obj]) -> None:
    services = of_kind(hardened, "Service")
    assert services
    for svc in services:
        assert svc["spec"].get("selector"), f"{ref(svc)} has no selector"
        pods = pods_of_service(hardened, svc)
        assert pods, f"{ref(svc)} selector {svc['spec']['selector']} matches no pod template"
        for sp in svc["spec"]["ports"]:
            target = sp.get("targetPort", sp["port"])
            for owner, spec in pods:
                assert target_port_exists(target, spec), (
                    f"{ref(svc)} targetPort {target} not in {ref(owner)}"
                )


def test_hardened_services_are_cluster_internal(hardened: list[Obj]) -> None:
    for svc in of_kind(hardened, "Service"):
        spec = svc["spec"]
        assert spec.get("type", "ClusterIP") == "ClusterIP", ref(svc)
        assert not spec.get("externalIPs"), ref(svc)
        for p in spec["ports"]:
            assert "nodePort" not in p, ref(svc)


def test_hardened_pods_are_hardened(hardened: list[Obj]) -> None:
    checked = 0
    for owner, ns, _labels, spec in pod_templates(hardened):
        if ns in SYSTEM_NAMESPACES:
            continue
        checked += 1
        assert not spec.get("hostNetwork"), ref(owner)
        assert not spec.get("hostPID"), ref(owner)
        assert all("hostPort" not in p for p in container_ports(spec)), ref(owner)
        options = {
            o["name"]: o.get("value") for o in (spec.get("dnsConfig") or {}).get("options", [])
        }
        assert options.get("ndots") == "2", f"{ref(owner)} keeps the default ndots"
        assert spec["securityContext"]["runAsNonRoot"] is True, ref(owner)
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", ref(owner)
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, ref(owner)
            assert sc["capabilities"]["drop"] == ["ALL"], ref(owner)
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"], ref(
                owner
            )
        for vol in spec.get("volumes") or []:
            assert "hostPath" not in vol, ref(owner)
    assert checked >= 6


def test_hardened_every_namespace_default_denies_both_directions(hardened: list[Obj]) -> None:
    for ns in app_namespaces(hardened):
        deny = [
            p
            for p in policies_in(hardened, ns)
            if p["spec"]["podSelector"] == {}
            and set(policy_types(p)) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
        ]
        assert deny, f"namespace {ns} has no default-deny ingress+egress policy"


def test_hardened_every_namespace_allows_dns_to_kube_dns(hardened: list[Obj]) -> None:
    coredns = get(hardened, "Deployment", "coredns", "kube-system")
    dns_labels = coredns["spec"]["template"]["metadata"]["labels"]
    kube_system = get(hardened, "Namespace", "kube-system")
    ks_labels = kube_system["metadata"]["labels"]
    for ns in app_namespaces(hardened):
        ok = False
        for pol in policies_in(hardened, ns):
            if pol["spec"]["podSelector"] != {} or "Egress" not in policy_types(pol):
                continue
            for rule in pol["spec"].get("egress") or []:
                to_dns = any(
                    "namespaceSelector" in peer
                    and "podSelector" in peer
                    and peer["namespaceSelector"].get("matchLabels")
                    == {"kubernetes.io/metadata.name": "kube-system"}
                    and selector_matches(peer["namespaceSelector"], ks_labels)
                    and selector_matches(peer["podSelector"], dns_labels)
                    for peer in peers(rule, "to")
                )
                ports = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports") or []}
                if to_dns and {("UDP", 53), ("TCP", 53)} <= ports:
                    ok = True
        assert ok, f"namespace {ns}: no egress to kube-dns on UDP and TCP 53"


def test_hardened_peers_are_anded_and_scoped(hardened: list[Obj]) -> None:
    for pol in of_kind(hardened, "NetworkPolicy"):
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in pol["spec"].get(direction) or []:
                assert peers(rule, key), f"{ref(pol)}: {direction} rule allows every peer"
                assert rule.get("ports"), f"{ref(pol)}: {direction} rule allows every port"
                for peer in peers(rule, key):
                    if "namespaceSelector" in peer:
                        assert peer["namespaceSelector"] != {}, f"{ref(pol)}: every namespace"
                        assert "podSelector" in peer, f"{ref(pol)}: namespace-only peer"
                    if "ipBlock" in peer:
                        assert direction == "egress", f"{ref(pol)}: ipBlock on ingress"


def test_hardened_internet_egress_excludes_metadata(hardened: list[Obj]) -> None:
    open_blocks = 0
    for pol in of_kind(hardened, "NetworkPolicy"):
        for rule in pol["spec"].get("egress") or []:
            for peer in peers(rule, "to"):
                block = peer.get("ipBlock")
                if not block:
                    continue
                cidr = ipaddress.ip_network(block["cidr"])
                excepts = [ipaddress.ip_network(e) for e in block.get("except") or []]
                for e in excepts:
                    assert within(e, cidr), f"{ref(pol)}: except {e} is not inside {cidr}"
                metadata = METADATA_V4 if cidr.version == 4 else METADATA_V6
                if within(metadata, cidr):
                    open_blocks += 1
                    assert any(within(metadata, e) for e in excepts), (
                        f"{ref(pol)}: {cidr} reaches {metadata}"
                    )
                if cidr.version == 4 and cidr.prefixlen == 0:
                    for private in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"):
                        assert ipaddress.ip_network(private) in excepts, (
                            f"{ref(pol)}: {private} not excepted"
                        )
                assert rule.get("ports"), f"{ref(pol)}: internet egress on every port"
    assert open_blocks == 2  # payments: 0.0.0.0/0 and ::/0, HTTPS only


def test_hardened_policies_select_pods(hardened: list[Obj]) -> None:
    for pol in of_kind(hardened, "NetworkPolicy"):
        ns = pol["metadata"]["namespace"]
        selected = [
            o
            for o, pod_ns, labels, _ in pod_templates(hardened)
            if pod_ns == ns and selector_matches(pol["spec"]["podSelector"], labels)
        ]
        assert selected, f"{ref(pol)} selects no pod"


# --------------------------------------------------------------------------- insecure: planted problems


def test_planted_namespace_without_any_policy(insecure: list[Obj]) -> None:
    assert not policies_in(insecure, "monitoring")
    assert [o for o, ns, _, _ in pod_templates(insecure) if ns == "monitoring"]
    for ns in ("shop", "data", "payments"):
        assert policies_in(insecure, ns), f"only monitoring should be unpoliced, not {ns}"


def test_planted_ingress_only_namespace(insecure: list[Obj]) -> None:
    shop = policies_in(insecure, "shop")
    assert len(shop) >= 2
    assert all(policy_types(p) == ["Ingress"] for p in shop)


def test_planted_egress_deny_without_dns(insecure: list[Obj]) -> None:
    deny = get(insecure, "NetworkPolicy", "default-deny-all", "payments")
    assert deny["spec"]["podSelector"] == {} and "Egress" in policy_types(deny)
    for pol in policies_in(insecure, "payments"):
        for rule in pol["spec"].get("egress") or []:
            ports = {p.get("port") for p in rule.get("ports") or []}
            assert ports and 53 not in ports, f"{ref(pol)} allows DNS"


def test_planted_service_selector_mistakes(insecure: list[Obj]) -> None:
    api = get(insecure, "Service", "api", "shop")
    assert api["spec"]["selector"] == {"app": "api"}
    cart = get(insecure, "Service", "cart", "shop")
    assert cart["spec"]["selector"] == {"App": "cart"}
    payments = get(insecure, "Service", "payments", "payments")
    assert payments["spec"]["selector"] == {"app": "payments", "version": "v1"}
    for svc in (api, cart, payments):
        assert not pods_of_service(insecure, svc), f"{ref(svc)} should match no pod"
    labels = {(ns, tuple(sorted(lbl.items()))) for _, ns, lbl, _ in pod_templates(insecure)}
    assert ("shop", (("app", "api-server"), ("tier", "backend"))) in labels
    assert ("shop", (("app", "cart"), ("tier", "backend"))) in labels
    assert ("payments", (("app", "payments"), ("version", "v2"))) in labels


def test_planted_exposed_service_types(insecure: list[Obj]) -> None:
    nodeport = get(insecure, "Service", "frontend", "shop")
    assert nodeport["spec"]["type"] == "NodePort"
    lb = get(insecure, "Service", "frontend-public", "shop")
    assert lb["spec"]["type"] == "LoadBalancer"
    assert not lb["metadata"].get("annotations") and not lb["spec"].get("loadBalancerSourceRanges")
    ext = get(insecure, "Service", "ledger", "payments")
    assert ext["spec"]["type"] == "ExternalName"
    ipaddress.ip_address(ext["spec"]["externalName"])  # an IP literal
    assert ipaddress.ip_address(ext["spec"]["externalName"]).is_private
    eips = get(insecure, "Service", "api-direct", "shop")
    assert eips["spec"]["externalIPs"]
    assert pods_of_service(insecure, eips)


def test_planted_target_port_mismatch(insecure: list[Obj]) -> None:
    svc = get(insecure, "Service", "prometheus", "monitoring")
    pods = pods_of_service(insecure, svc)
    assert pods
    target = svc["spec"]["ports"][0]["targetPort"]
    assert all(not target_port_exists(target, spec) for _, spec in pods)
    # Every other Service with pods has matching target ports: the mismatch is singular.
    for other in of_kind(insecure, "Service"):
        if other is svc:
            continue
        for _, spec in pods_of_service(insecure, other):
            for sp in other["spec"]["ports"]:
                assert target_port_exists(sp.get("targetPort", sp["port"]), spec), ref(other)


def test_planted_ingress_problems(insecure: list[Obj]) -> None:
    classes = {c["metadata"]["name"]: c for c in of_kind(insecure, "IngressClass")}
    assert set(classes) == {"nginx"}
    for c in classes.values():
        assert (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) != "true"

    storefront = get(insecure, "Ingress", "storefront", "shop")
    assert "ingressClassName" not in storefront["spec"]
    assert "kubernetes.io/ingress.class" not in (storefront["metadata"].get("annotations") or {})

    www = get(insecure, "Ingress", "www", "shop")
    (backend,) = ingress_backends(www)
    svc = get(insecure, "Service", backend["service"]["name"], "shop")
    assert not service_port_matches(svc, backend["service"]["port"])
    number = backend["service"]["port"]["number"]
    assert any(target_port_exists(number, spec) for _, spec in pods_of_service(insecure, svc))

    legacy = get(insecure, "Ingress", "legacy-storefront", "shop")
    assert legacy["spec"]["ingressClassName"] not in classes

    webhooks = get(insecure, "Ingress", "payments-webhooks", "payments")
    (backend,) = ingress_backends(webhooks)
    names = {
        s["metadata"]["name"]
        for s in of_kind(insecure, "Service")
        if s["metadata"]["namespace"] == "payments"
    }
    assert backend["service"]["name"] not in names

    prom = get(insecure, "Ingress", "prometheus", "monitoring")
    assert not prom["spec"].get("tls")


def test_planted_host_network_and_host_port(insecure: list[Obj]) -> None:
    node_exporter = get(insecure, "DaemonSet", "node-exporter", "monitoring")
    assert node_exporter["spec"]["template"]["spec"]["hostNetwork"] is True
    statsd = get(insecure, "DaemonSet", "statsd-exporter", "monitoring")
    spec = statsd["spec"]["template"]["spec"]
    assert not spec.get("hostNetwork")
    assert any(p.get("hostPort") for p in container_ports(spec))


def test_planted_misplaced_hyphen(insecure: list[Obj]) -> None:
    pol = get(insecure, "NetworkPolicy", "postgres-allow-api", "data")
    (rule,) = pol["spec"]["ingress"]
    kinds = [sorted(peer) for peer in rule["from"]]
    assert kinds == [["namespaceSelector"], ["podSelector"]]


def test_planted_all_namespaces_and_open_egress(insecure: list[Obj]) -> None:
    redis = get(insecure, "NetworkPolicy", "redis-allow-clients", "data")
    assert {"namespaceSelector": {}} in redis["spec"]["ingress"][0]["from"]
    backup = get(insecure, "NetworkPolicy", "postgres-backup-egress", "data")
    (rule,) = backup["spec"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}] and "ports" not in rule


def test_planted_policy_selecting_no_pods(insecure: list[Obj]) -> None:
    pol = get(insecure, "NetworkPolicy", "allow-api-to-cart", "shop")
    selected = [
        o
        for o, ns, labels, _ in pod_templates(insecure)
        if ns == "shop" and selector_matches(pol["spec"]["podSelector"], labels)
    ]
    assert selected == []
    # every other insecure policy does select pods
    for other in of_kind(insecure, "NetworkPolicy"):
        if other is pol:
            continue
        ns = other["metadata"]["namespace"]
        assert [
            o
            for o, pod_ns, lbl, _ in pod_templates(insecure)
            if pod_ns == ns and selector_matches(other["spec"]["podSelector"], lbl)
        ], ref(other)


def test_planted_datastores(insecure: list[Obj]) -> None:
    postgres = get(insecure, "StatefulSet", "postgres", "data")
    assert any(
        p["containerPort"] == 5432 for p in container_ports(postgres["spec"]["template"]["spec"])
    )
    redis = get(insecure, "Deployment", "redis", "data")
    assert any(
        p["containerPort"] == 6379 for p in container_ports(redis["spec"]["template"]["spec"])
    )


def test_planted_default_ndots(insecure: list[Obj]) -> None:
    for owner, ns, _labels, spec in pod_templates(insecure):
        if ns not in SYSTEM_NAMESPACES:
            assert "dnsConfig" not in spec, ref(owner)
