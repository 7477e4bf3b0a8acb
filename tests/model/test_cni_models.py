"""The CNI policy kinds as the model reads them: Cilium's (cilium.io/v2) and Calico's
(projectcalico.org/v3), with the defaults, scopes and validation their CRDs and
documentation define (see kaudit.model.cni.cilium and kaudit.model.cni.calico)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from kaudit.model import Pod
from kaudit.model.accounts import ServiceAccount
from kaudit.model.cni.calico import (
    DEFAULT_TIER,
    DEFAULT_TIER_ORDER,
    GLOBAL_NETWORK_POLICY,
    STAGED_NETWORK_POLICY,
    Action,
    CalicoPolicy,
    NetworkSet,
    PortMatch,
    Tier,
)
from kaudit.model.cni.cilium import (
    CLUSTERWIDE_KIND,
    POD_NAMESPACE_LABEL,
    CiliumPolicy,
    Entity,
    PortProtocol,
    endpoint_labels,
)


def doc(text: str) -> dict[str, Any]:
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def cnp(spec: str, namespace: str = "shop", *, clusterwide: bool = False) -> CiliumPolicy:
    raw = doc(f"metadata: {{name: p, namespace: {namespace}}}\nspec:\n{spec}")
    return CiliumPolicy.from_raw(raw, clusterwide=clusterwide)


# --- Cilium ------------------------------------------------------------------------------


def labels_of(app: str, namespace: str, ns_labels: dict[str, str] | None = None) -> Any:
    return endpoint_labels({"app": app}, namespace, ns_labels or {}, "default")


def test_subject_is_limited_to_the_policy_namespace() -> None:
    (spec,) = cnp("  endpointSelector: {matchLabels: {app: web}}\n").specs
    assert spec.subject is not None
    assert spec.subject.matches_pod(labels_of("web", "shop"), "shop")
    assert not spec.subject.matches_pod(labels_of("web", "other"), "other")
    # A namespace match in the endpointSelector is replaced by the policy's own.
    (spec,) = cnp(
        "  endpointSelector: {matchLabels: {app: web, k8s:io.kubernetes.pod.namespace: other}}\n"
    ).specs
    assert spec.subject is not None
    assert spec.subject.matches_pod(labels_of("web", "shop"), "shop")


def test_clusterwide_subject_selects_in_every_namespace() -> None:
    policy = cnp("  endpointSelector: {matchLabels: {app: web}}\n", clusterwide=True)
    assert policy.kind == CLUSTERWIDE_KIND and policy.namespace == ""
    (spec,) = policy.specs
    assert spec.subject is not None
    assert spec.subject.matches_pod(labels_of("web", "other"), "other")


@pytest.mark.parametrize(
    ("peer", "same_ns", "other_ns"),
    [
        ("{matchLabels: {app: db}}", True, False),  # own namespace only
        ("{}", True, False),  # every pod of the own namespace
        ("{matchLabels: {app: db, io.kubernetes.pod.namespace: other}}", False, True),
        ("{matchLabels: {app: db, k8s:io.kubernetes.pod.namespace: other}}", False, True),
        ("{matchLabels: {app: db, any:io.kubernetes.pod.namespace: other}}", False, True),
        # A namespace label lifts the implicit namespace (kubernetes.rst, namespace labels).
        ("{matchLabels: {io.cilium.k8s.namespace.labels.team: data}}", False, True),
        ("{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: Exists}]}", True, True),
    ],
)
def test_peer_namespace_scope(peer: str, same_ns: bool, other_ns: bool) -> None:
    (spec,) = cnp(f"  endpointSelector: {{}}\n  ingress:\n  - fromEndpoints: [{peer}]\n").specs
    (rule,) = spec.ingress
    assert rule.endpoints is not None
    (selector,) = rule.endpoints
    assert selector.matches_pod(labels_of("db", "shop"), "shop") is same_ns
    assert selector.matches_pod(labels_of("db", "other", {"team": "data"}), "other") is other_ns


def test_reserved_selectors_select_no_pod() -> None:
    (spec,) = cnp(
        "  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{matchLabels: {reserved:host: ''}}]\n"
    ).specs
    assert spec.ingress[0].endpoints is not None
    selector = spec.ingress[0].endpoints[0]
    assert selector.reserved == ("host",)
    assert not selector.matches_pod(labels_of("db", "shop"), "shop")


def test_endpoint_labels_carry_namespace_labels_and_service_account() -> None:
    labels = endpoint_labels({"app": "a"}, "shop", {"team": "x"}, "builder")
    assert labels[POD_NAMESPACE_LABEL] == "shop"
    assert labels["io.cilium.k8s.namespace.labels.team"] == "x"
    assert labels["io.cilium.k8s.policy.serviceaccount"] == "builder"


@pytest.mark.parametrize(
    ("spec", "ingress", "egress"),
    [
        ("  endpointSelector: {}\n  ingress: [{}]\n", True, False),
        ("  endpointSelector: {}\n  egressDeny: [{toEntities: [world]}]\n", False, True),
        ("  endpointSelector: {}\n", False, False),
        (
            "  endpointSelector: {}\n  enableDefaultDeny: {ingress: false}\n  ingress: [{}]\n",
            False,
            False,
        ),
        ("  endpointSelector: {}\n  enableDefaultDeny: {egress: true}\n", False, True),
    ],
)
def test_default_deny_per_direction(spec: str, ingress: bool, egress: bool) -> None:
    (parsed,) = cnp(spec).specs
    assert (parsed.default_deny_ingress, parsed.default_deny_egress) == (ingress, egress)


def test_rules_peers_ports_and_deny_order() -> None:
    (spec,) = cnp(
        """  endpointSelector: {}
  ingress:
  - toPorts: [{ports: [{port: "80"}, {port: "8000", endPort: 8080, protocol: UDP}, {port: http}]}]
  - {}
  ingressDeny:
  - fromEntities: [world, cluster]
  egress:
  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
    toServices: [{k8sService: {serviceName: db}}]
"""
    ).specs
    deny, ports_only, empty = spec.ingress
    assert deny.deny and deny.entities == (Entity.WORLD, Entity.CLUSTER)
    assert ports_only.all_peers and not ports_only.matches_nothing
    assert ports_only.ports[0].ports == (
        PortProtocol(80, None, "ANY"),
        PortProtocol(8000, 8080, "UDP"),
        PortProtocol("http", None, "ANY"),
    )
    assert empty.matches_nothing and not empty.all_peers
    (egress,) = spec.egress
    assert egress.cidrs[0].cidr == "10.0.0.0/8" and egress.cidrs[0].except_ == ("10.1.0.0/16",)
    assert egress.services[0].namespace == "shop" and egress.services[0].name == "db"


def test_specs_list_and_approximations() -> None:
    raw = doc(
        """
metadata: {name: p, namespace: shop}
specs:
- endpointSelector: {}
  egress:
  - toFQDNs: [{matchName: api.example.com}]
    toPorts: [{ports: [{port: "443"}]}]
  - toEndpoints: [{}]
    toPorts: [{ports: [{port: "80"}], rules: {http: [{method: GET}]}}]
- nodeSelector: {}
  ingress: [{fromEntities: [all]}]
"""
    )
    policy = CiliumPolicy.from_raw(raw)
    assert [s.field for s in policy.specs] == ["specs[0]", "specs[1]"]
    assert policy.specs[1].subject is None
    assert policy.approximations == (
        "specs[0].egress[0].toFQDNs: DNS names (api.example.com) cannot be resolved offline; "
        "the rule matches no address here",
        "specs[0].egress[1].toPorts[0]: L7 parts (http) are approximated: the rule admits "
        "at L4 every request its ports allow",
        "specs[1].nodeSelector: a host (node) policy, not evaluated",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("  ingress: [{}]\n", "spec: one of endpointSelector and nodeSelector is required"),
        (
            "  endpointSelector: {}\n  ingress: [{fromEntities: [moon]}]\n",
            "spec.ingress[0].fromEntities[0]: unknown entity 'moon'",
        ),
        (
            "  endpointSelector: {}\n  ingress: [{toEndpoints: [{}]}]\n",
            "spec.ingress[0]: toEndpoints is not a field of ingress rules",
        ),
        (
            "  endpointSelector: {}\n  egress: [{toCIDR: [300.0.0.0/8]}]\n",
            "spec.egress[0].toCIDR[0]: '300.0.0.0/8' is not a CIDR",
        ),
        (
            "  endpointSelector: {}\n  egress: [{toPorts: [{ports: [{port: '70000'}]}]}]\n",
            "spec.egress[0].toPorts[0].ports[0].port: '70000' is not a port number",
        ),
        (
            "  endpointSelector: {}\n  egress: [{toPorts: [{ports: [{port: '80', protocol: ICMP}]}]}]\n",
            "spec.egress[0].toPorts[0].ports[0].protocol: 'ICMP' is not one of",
        ),
        (
            "  endpointSelector: {}\n  egress: [{toPorts: [{ports: [{port: '90', endPort: 80}]}]}]\n",
            "spec.egress[0].toPorts[0].ports[0].endPort: 80 is below port 90",
        ),
    ],
)
def test_cilium_validation(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        cnp(spec)


def test_cilium_port_is_a_string_as_in_the_crd() -> None:
    with pytest.raises(ValueError, match="port"):
        cnp("  endpointSelector: {}\n  egress: [{toPorts: [{ports: [{port: 80}]}]}]\n")


# --- Calico ------------------------------------------------------------------------------


def calico(text: str, kind: str = "NetworkPolicy") -> CalicoPolicy:
    return CalicoPolicy.from_raw(doc(text), kind=kind)


def test_calico_defaults() -> None:
    policy = calico("metadata: {name: p, namespace: shop}\nspec: {}\n")
    assert (policy.tier, policy.order, policy.types) == (DEFAULT_TIER, None, frozenset({"Ingress"}))
    assert policy.selector.selects_all and policy.service_account_selector.selects_all
    assert policy.enforced and policy.approximations == ()


@pytest.mark.parametrize(
    ("rules", "types"),
    [
        ("ingress: [{action: Allow}]", {"Ingress"}),
        ("egress: [{action: Allow}]", {"Egress"}),
        ("ingress: [{action: Allow}], egress: [{action: Deny}]", {"Ingress", "Egress"}),
        ("types: [Egress], ingress: [{action: Allow}]", {"Egress"}),
    ],
)
def test_calico_types_default_from_the_rules(rules: str, types: set[str]) -> None:
    policy = calico(f"metadata: {{name: p}}\nspec: {{{rules}}}\n")
    assert policy.types == frozenset(types)


def test_calico_rules_ports_and_selectors() -> None:
    policy = calico(
        """
metadata: {name: security.p, namespace: shop}
spec:
  tier: security
  order: 100
  selector: role == 'db'
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: role == 'web'
      namespaceSelector: projectcalico.org/name == 'shop'
      notNets: [10.0.0.0/8]
    destination:
      ports: [5432, '6000:6010', pg-port]
      notPorts: [6005]
  - action: Pass
  - action: Log
  - action: Deny
    protocol: 17
    source: {serviceAccounts: {names: [robot], selector: "team == 'x'"}}
"""
    )
    assert (policy.tier, policy.order) == ("security", 100.0)
    allow, passing, log, deny = policy.ingress
    assert [r.action for r in policy.ingress] == [
        Action.ALLOW,
        Action.PASS,
        Action.LOG,
        Action.DENY,
    ]
    assert allow.destination.ports == (
        PortMatch(5432, 5432),
        PortMatch(6000, 6010),
        PortMatch(name="pg-port"),
    )
    assert allow.destination.not_ports == (PortMatch(6005, 6005),)
    assert allow.source.selector is not None and allow.source.selector.matches({"role": "web"})
    assert allow.source.not_nets == ("10.0.0.0/8",)
    assert deny.protocol == "UDP" and deny.source.service_account_names == ("robot",)
    assert passing.source.selects_endpoints is False and log.protocol is None


def test_calico_global_staged_and_host_options() -> None:
    policy = calico(
        "metadata: {name: g}\nspec: {namespaceSelector: has(team), preDNAT: true, applyOnForward: true}\n",
        kind=GLOBAL_NETWORK_POLICY,
    )
    assert policy.is_global and policy.namespace == "" and policy.namespace_selector is not None
    assert not policy.enforced and policy.host_only
    assert policy.approximations == ("preDNAT: applies to host endpoints only, not evaluated",)
    staged = calico("metadata: {name: s, namespace: a}\nspec: {}\n", kind=STAGED_NETWORK_POLICY)
    assert staged.staged and not staged.enforced
    assert staged.approximations[0].startswith("staged: reported, not enforced")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{ingress: [{}]}", r"spec\.ingress\[0\]\.action: required"),
        ("{ingress: [{action: Accept}]}", r"spec\.ingress\[0\]\.action: 'Accept' is not Allow"),
        ("{selector: app = 'x'}", r"spec\.selector: invalid selector at character 5"),
        (
            '{ingress: [{action: Allow, source: {selector: "has(a"}}]}',
            r"spec\.ingress\[0\]\.source\.selector: invalid selector at character 6",
        ),
        ("{ingress: [{action: Allow, destination: {ports: [80]}}]}", r"ports need protocol"),
        (
            "{ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]}",
            "starts above",
        ),
        (
            "{ingress: [{action: Allow, protocol: TCP, destination: {ports: [70000]}}]}",
            "not a port number",
        ),
        ("{ingress: [{action: Allow, protocol: IPX}]}", r"protocol: 'IPX' is not"),
        (
            "{ingress: [{action: Allow, source: {nets: [nope]}}]}",
            r"nets\[0\]: 'nope' is not a CIDR",
        ),
        ("{namespaceSelector: all()}", "only global policies"),
        ("{types: [Sideways]}", "'Sideways' is not Ingress or Egress"),
        ("{order: '10'}", "Expected `float | null`"),
    ],
)
def test_calico_validation(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calico(f"metadata: {{name: p, namespace: a}}\nspec: {spec}\n")


def test_calico_tiers_and_network_sets() -> None:
    tier = Tier.from_raw(
        doc("metadata: {name: security}\nspec: {order: 300, defaultAction: Pass}\n")
    )
    assert (tier.order, tier.default_action) == (300.0, Action.PASS)
    unordered = Tier.from_raw(doc("metadata: {name: late}\nspec: {}\n"))
    assert unordered.default_action is Action.DENY and unordered.sort_key > tier.sort_key
    default = Tier.from_raw(doc("metadata: {name: default}\nspec: {order: 5}\n"))
    assert default.order == DEFAULT_TIER_ORDER  # fixed
    with pytest.raises(ValueError, match="defaultAction"):
        Tier.from_raw(doc("metadata: {name: t}\nspec: {defaultAction: Allow}\n"))
    sets = NetworkSet.from_raw(
        doc("metadata: {name: n, labels: {a: b}}\nspec: {nets: [1.2.3.4/32, 10.0.0.1]}\n"),
        is_global=True,
    )
    assert sets.is_global and sets.nets == ("1.2.3.4/32", "10.0.0.1/32")
    assert sets.ref.kind == "GlobalNetworkSet"


# --- identities --------------------------------------------------------------------------


def test_pods_carry_their_service_account() -> None:
    assert Pod.from_raw({"metadata": {"name": "a"}, "spec": {}}).service_account == "default"
    spec = {"serviceAccountName": "robot"}
    assert Pod.from_raw({"metadata": {"name": "a"}, "spec": spec}).service_account == "robot"
    old = {"serviceAccount": "legacy"}
    assert Pod.from_raw({"metadata": {"name": "a"}, "spec": old}).service_account == "legacy"
    account = ServiceAccount.from_raw(
        {"metadata": {"name": "robot", "namespace": "x", "labels": {"t": "1"}}}
    )
    assert (account.namespace, account.name, dict(account.labels)) == ("x", "robot", {"t": "1"})


def test_a_bad_selector_in_a_manifest_names_file_policy_field_and_position(tmp_path: Path) -> None:
    path = tmp_path / "calico.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: robot, namespace: shop}\n---\n"
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
        'metadata: {name: db-access, namespace: shop}\nspec: {selector: "role == db"}\n'
    )
    with pytest.raises(InputError) as error:
        load_manifests([str(path)])
    assert str(error.value) == (
        f"{path}:5: invalid NetworkPolicy db-access: spec.selector: invalid selector at "
        "character 9: expected a quoted value after '==', found 'db' in 'role == db'"
    )
    path.write_text(path.read_text().replace("role == db", "role == 'db'"))
    snapshot = load_manifests([str(path)])
    assert [a.name for a in snapshot.service_accounts] == ["robot"]
    assert [p.name for p in snapshot.calico_policies] == ["db-access"]
