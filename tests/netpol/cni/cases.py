"""Truth tables from the Cilium and Calico documentation: each case is a cluster (data
files and inline manifests), and the connections the documentation says are allowed
or denied. Every case names the page (and example file) it comes from; where the page
states the outcome in words, the expectation follows them; the rest follows the
evaluation rules quoted in tests/netpol/cni/reference.py.

The Cilium example files are copied unchanged from github.com/cilium/cilium v1.20.2
(data/cilium/SOURCE.md). The Calico examples are transcribed from the pages cited.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data"
CILIUM_DOCS = "https://docs.cilium.io/en/stable/security/policy"
CALICO_DOCS = "https://docs.tigera.io/calico/latest"


@dataclass(frozen=True)
class Expect:
    src: str  # namespace/pod
    dst: str
    port: int
    allowed: bool
    protocol: str = "TCP"


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # the documentation page (and example file)
    files: tuple[str, ...]  # under data/
    manifests: str  # inline YAML documents
    expect: tuple[Expect, ...]


def pod(
    key: str, labels: dict[str, str], *, ports: tuple[int, ...] = (80,), account: str = ""
) -> str:
    namespace, name = key.split("/")
    spec: dict[str, Any] = {
        "containers": [
            {"name": "c", "ports": [{"containerPort": p, "name": f"p{p}"} for p in ports]}
        ]
    }
    if account:
        spec["serviceAccountName"] = account
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }
    return "---\n" + yaml.safe_dump(body)


def namespace(name: str, labels: dict[str, str] | None = None) -> str:
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}},
    }
    return "---\n" + yaml.safe_dump(body)


def allow(src: str, dst: str, port: int = 80, protocol: str = "TCP") -> Expect:
    return Expect(src, dst, port, True, protocol)


def deny(src: str, dst: str, port: int = 80, protocol: str = "TCP") -> Expect:
    return Expect(src, dst, port, False, protocol)


STARWARS = ("cilium/starwars/http-sw-app.yaml",)
TIE, XWING, DEATHSTAR = "default/tiefighter", "default/xwing", "default/deathstar-0"
ROLES = "".join(
    pod(f"default/{role}", {"role": role})
    for role in ("frontend", "backend", "victim", "restricted", "other")
)

CILIUM_CASES: tuple[Case, ...] = (
    Case(
        "starwars-l3-l4",
        "https://docs.cilium.io/en/stable/gettingstarted/demo/ (Apply an L3/L4 Policy: "
        "sw_l3_l4_policy.yaml: only org=empire may reach the deathstar, on port 80/TCP)",
        (*STARWARS, "cilium/starwars/sw_l3_l4_policy.yaml"),
        "",
        (
            allow(TIE, DEATHSTAR),
            deny(XWING, DEATHSTAR),  # "the xwing ... will be denied"
            deny(TIE, DEATHSTAR, 443),
            deny(TIE, DEATHSTAR, 80, "UDP"),
            allow(DEATHSTAR, XWING),  # the xwing is selected by no policy
            allow(XWING, TIE),  # the tiefighter is not a deathstar
        ),
    ),
    Case(
        "starwars-l7-admits-at-l4",
        "https://docs.cilium.io/en/stable/gettingstarted/demo/ (Apply and Test HTTP-aware L7 "
        "Policy: sw_l3_l4_l7_policy.yaml); layer7 rules are enforced after the L4 part admits",
        (*STARWARS, "cilium/starwars/sw_l3_l4_l7_policy.yaml"),
        "",
        (allow(TIE, DEATHSTAR), deny(XWING, DEATHSTAR), deny(TIE, DEATHSTAR, 8080)),
    ),
    Case(
        "starwars-empire-default-deny",
        "sw_deny_policy.yaml (empire-default-deny: `ingress: [{}]` makes org=empire "
        f"default-deny at ingress, {CILIUM_DOCS}/intro/ Endpoint default policy)",
        (*STARWARS, "cilium/starwars/sw_deny_policy.yaml"),
        "",
        (deny(TIE, DEATHSTAR), deny(XWING, TIE), allow(DEATHSTAR, XWING), allow(TIE, XWING)),
    ),
    Case(
        "simple-ingress-allow",
        f"{CILIUM_DOCS}/language/ Simple Ingress Allow (l3/simple/l3.yaml)",
        ("cilium/policies/l3.yaml",),
        ROLES,
        (
            allow("default/frontend", "default/backend"),
            deny("default/other", "default/backend"),
            allow("default/backend", "default/frontend"),
        ),
    ),
    Case(
        "ingress-allow-all-is-the-own-namespace",
        f"{CILIUM_DOCS}/language/ Ingress Allow All Endpoints (ingress-allow-all.yaml); an "
        "empty selector is limited to the policy's namespace (Egress Allow All Endpoints; "
        f"{CILIUM_DOCS}/kubernetes/ Policies Only Apply Within The Namespace)",
        ("cilium/policies/l3_ingress-allow-all_ingress-allow-all.yaml",),
        ROLES + pod("elsewhere/intruder", {"role": "frontend"}),
        (
            allow("default/other", "default/victim"),
            deny("elsewhere/intruder", "default/victim"),
        ),
    ),
    Case(
        "egress-allow-all-in-namespace",
        f"{CILIUM_DOCS}/language/ Egress Allow All Endpoints (egress-allow-all.yaml: "
        '"to all other endpoints in the same namespace")',
        ("cilium/policies/l3_egress-allow-all_egress-allow-all.yaml",),
        ROLES + pod("elsewhere/db", {"role": "backend"}),
        (allow("default/frontend", "default/backend"), deny("default/frontend", "elsewhere/db")),
    ),
    Case(
        "simple-egress-deny",
        f"{CILIUM_DOCS}/language/ Simple Egress Deny (egress-deny.yaml: egressDeny wins "
        "over the egress allow of `all`)",
        ("cilium/policies/l3_egress-deny_egress-deny.yaml",),
        ROLES + pod("elsewhere/db", {"role": "backend"}),
        (
            deny("default/frontend", "default/backend"),
            allow("default/frontend", "default/other"),
            allow("default/frontend", "elsewhere/db"),  # toEntities all; the deny is own-namespace
        ),
    ),
    Case(
        "egress-default-deny",
        f"{CILIUM_DOCS}/language/ Ingress/Egress Default Deny (egress-default-deny.yaml)",
        ("cilium/policies/l3_egress-default-deny_egress-default-deny.yaml",),
        ROLES,
        (
            deny("default/restricted", "default/backend"),
            allow("default/backend", "default/restricted"),
        ),
    ),
    Case(
        "entities-world-deny-keeps-cluster",
        f"{CILIUM_DOCS}/deny/ (from_world_deny.yaml: deny from world, allow from all: "
        "in-cluster traffic stays allowed)",
        ("cilium/policies/l3_entities_from_world_deny.yaml",),
        ROLES + pod("elsewhere/db", {"role": "backend"}),
        (allow("default/frontend", "default/backend"), allow("elsewhere/db", "default/victim")),
    ),
    Case(
        "l4-egress-port",
        f"{CILIUM_DOCS}/layer4/ Limit ingress/egress ports (l4.yaml: only 80/TCP out)",
        ("cilium/policies/l4_l4.yaml",),
        pod("default/svc", {"app": "myService"})
        + pod("default/web", {"app": "web"}, ports=(80, 443)),
        (
            allow("default/svc", "default/web"),
            deny("default/svc", "default/web", 443),
            deny("default/svc", "default/web", 80, "UDP"),
        ),
    ),
    Case(
        "l4-port-range",
        f"{CILIUM_DOCS}/layer4/ Example Port Ranges (l4_port_range.yaml: 80-444/TCP)",
        ("cilium/policies/l4_l4_port_range.yaml",),
        pod("default/svc", {"app": "myService"})
        + pod("default/web", {"app": "web"}, ports=(80, 443, 445)),
        (allow("default/svc", "default/web", 443), deny("default/svc", "default/web", 445)),
    ),
    Case(
        "l3-l4-combined",
        f"{CILIUM_DOCS}/layer4/ Labels-dependent Layer 4 rule (l3_l4_combined.yaml)",
        ("cilium/policies/l4_l3_l4_combined.yaml",),
        ROLES,
        (
            allow("default/frontend", "default/backend"),
            deny("default/frontend", "default/backend", 81),
            deny("default/other", "default/backend"),
        ),
    ),
    Case(
        "isolate-namespaces",
        f"{CILIUM_DOCS}/kubernetes/ Considerations Of Namespace Boundaries "
        "(isolate-namespaces.yaml: pods of ns1 and ns2 reach only their own namespace)",
        ("cilium/policies/kubernetes_namespace_isolate-namespaces.yaml",),
        pod("ns1/a", {"app": "a"})
        + pod("ns1/b", {"app": "b"})
        + pod("ns2/c", {"app": "c"})
        + pod("ns3/d", {"app": "d"}),
        (
            allow("ns1/a", "ns1/b"),
            deny("ns2/c", "ns1/a"),
            deny("ns3/d", "ns2/c"),
            allow("ns1/a", "ns3/d"),
        ),
    ),
    Case(
        "expose-across-namespace",
        f"{CILIUM_DOCS}/kubernetes/ Policies Only Apply Within The Namespace "
        "(namespace-policy.yaml: name=leia in ns1 exposed to name=luke in ns2)",
        ("cilium/policies/kubernetes_namespace_namespace-policy.yaml",),
        pod("ns1/leia", {"name": "leia"})
        + pod("ns2/luke", {"name": "luke"})
        + pod("ns1/luke", {"name": "luke"})
        + pod("ns2/vader", {"name": "vader"}),
        (
            allow("ns2/luke", "ns1/leia"),
            deny("ns1/luke", "ns1/leia"),
            deny("ns2/vader", "ns1/leia"),
        ),
    ),
    Case(
        "kubedns-egress",
        f"{CILIUM_DOCS}/kubernetes/ Specifying Namespace In EndpointSelector (kubedns-policy.yaml)",
        ("cilium/policies/kubernetes_namespace_kubedns-policy.yaml",),
        pod("public/app", {"app": "app"})
        + pod("kube-system/coredns", {"k8s-app": "kube-dns"}, ports=(53,))
        + pod("public/web", {"app": "web"}),
        (
            allow("public/app", "kube-system/coredns", 53, "UDP"),
            deny("public/app", "kube-system/coredns", 53),
            deny("public/app", "public/web"),
        ),
    ),
    Case(
        "namespace-labels",
        f"{CILIUM_DOCS}/kubernetes/ Namespace Specific Information (namespace-labels-policy.yaml: "
        "rebel-base talks only with namespaces labelled faction=alliance)",
        ("cilium/policies/kubernetes_namespace_namespace-labels-policy.yaml",),
        namespace("default")
        + namespace("rebels", {"faction": "alliance"})
        + namespace("empire", {"faction": "empire"})
        + pod("default/base", {"name": "rebel-base"})
        + pod("rebels/xwing", {"name": "xwing"})
        + pod("empire/tie", {"name": "tie"}),
        (
            allow("rebels/xwing", "default/base"),
            deny("empire/tie", "default/base"),
            allow("default/base", "rebels/xwing"),
            deny("default/base", "empire/tie"),
        ),
    ),
    Case(
        "to-services",
        f"{CILIUM_DOCS}/language/ Services based (service.yaml: the Service's selector is "
        "used as an endpoint selector)",
        ("cilium/policies/l3_service_service.yaml",),
        pod("default/app2", {"id": "app2"})
        + pod("default/backend", {"app": "backend"})
        + pod("default/stray", {"app": "stray"})
        + pod("another-namespace/stage", {"app": "stage"})
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: myservice, namespace: default}\nspec: {selector: {app: backend}, ports: [{port: 80}]}\n"
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: another-namespace, labels: {env: staging}}\nspec: {selector: {app: stage}, ports: [{port: 80}]}\n",
        (
            allow("default/app2", "default/backend"),
            allow("default/app2", "another-namespace/stage"),
            deny("default/app2", "default/stray"),
        ),
    ),
    Case(
        "kubernetes-and-cilium-allows-unite",
        f"{CILIUM_DOCS}/intro/ (Kubernetes NetworkPolicy and Cilium policies are both "
        "enforced; an endpoint selected by either is default-deny, and either's allow admits)",
        ("cilium/policies/l3.yaml",),
        ROLES
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-other, namespace: default}\n"
        "spec: {podSelector: {matchLabels: {role: backend}}, ingress: [{from: [{podSelector: {matchLabels: {role: other}}}]}]}\n",
        (
            allow("default/frontend", "default/backend"),
            allow("default/other", "default/backend"),
            deny("default/victim", "default/backend"),
        ),
    ),
    Case(
        "cilium-deny-beats-kubernetes-allow",
        f'{CILIUM_DOCS}/deny/ ("Deny policies take precedence over allow policies, regardless '
        "of whether they are a Cilium Network Policy, a Clusterwide Cilium Network Policy or "
        'even a Kubernetes Network Policy")',
        (),
        ROLES
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: default}\n"
        "spec: {podSelector: {matchLabels: {role: backend}}, ingress: [{}]}\n"
        + "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: no-frontend, namespace: default}\n"
        "spec: {endpointSelector: {matchLabels: {role: backend}}, ingressDeny: [{fromEndpoints: [{matchLabels: {role: frontend}}], toPorts: [{ports: [{port: '80', protocol: TCP}]}]}]}\n",
        (
            deny("default/frontend", "default/backend"),
            allow("default/frontend", "default/backend", 81),
            allow("default/other", "default/backend"),
        ),
    ),
    Case(
        "enable-default-deny-off",
        f"{CILIUM_DOCS}/intro/ Endpoint default policy (intercept-all-dns: enableDefaultDeny "
        "off, so the policy blocks nothing)",
        (),
        pod("shop/web", {"app": "web"})
        + pod("kube-system/coredns", {"k8s-app": "kube-dns"}, ports=(53,))
        + "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: intercept-all-dns}\n"
        "spec:\n  endpointSelector: {matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}, {key: k8s-app, operator: NotIn, values: [kube-dns]}]}\n"
        "  enableDefaultDeny: {egress: false, ingress: false}\n"
        "  egress: [{toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}], toPorts: [{ports: [{port: '53', protocol: UDP}], rules: {dns: [{matchPattern: '*'}]}}]}]\n",
        (
            allow("shop/web", "kube-system/coredns", 53, "UDP"),
            allow("shop/web", "kube-system/coredns", 53),
            allow("kube-system/coredns", "shop/web"),
        ),
    ),
)

# --- Calico ---------------------------------------------------------------------------------

SHOP = "".join(
    pod(f"production/{role}", {"role": role}, ports=(80, 6379))
    for role in ("database", "frontend", "other")
)
KNP_DB_FROM_OTHER = (
    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: production}\n"
    "spec: {podSelector: {matchLabels: {role: database}}, ingress: [{from: [{podSelector: {matchLabels: {role: other}}}]}]}\n"
)

CALICO_CASES: tuple[Case, ...] = (
    Case(
        "calico-networkpolicy-sample",
        f"{CALICO_DOCS}/reference/resources/networkpolicy (Sample YAML allow-tcp-6379: TCP "
        "from frontend to port 6379 on database)",
        (),
        SHOP
        + """---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-tcp-6379, namespace: production}
spec:
  selector: role == 'database'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    metadata: {annotations: {from: frontend, to: database}}
    protocol: TCP
    source: {selector: role == 'frontend'}
    destination: {ports: [6379]}
  egress:
  - action: Allow
""",
        (
            allow("production/frontend", "production/database", 6379),
            deny("production/frontend", "production/database", 80),  # end-of-tier deny
            deny("production/other", "production/database", 6379),
            deny("production/frontend", "production/database", 6379, "UDP"),
            allow("production/database", "production/other"),  # egress: Allow
            allow("production/other", "production/frontend"),  # no policy: profile allows
        ),
    ),
    Case(
        "calico-global-sample",
        f"{CALICO_DOCS}/reference/resources/globalnetworkpolicy (Sample YAML allow-tcp-6379, "
        "global: frontend endpoints of any namespace)",
        (),
        SHOP
        + pod("staging/frontend", {"role": "frontend"})
        + """---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-tcp-6379}
spec:
  selector: role == 'database'
  types: [Ingress, Egress]
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: role == 'frontend'}, destination: {ports: [6379]}}
  egress:
  - action: Allow
""",
        (
            allow("staging/frontend", "production/database", 6379),
            deny("production/other", "production/database", 6379),
        ),
    ),
    Case(
        "calico-automatic-labels",
        f"{CALICO_DOCS}/network-policy/get-started/calico-policy/calico-labels (foo-and-bar: "
        "color=red pods of namespaces foo and bar take port 8080 from namespace baz)",
        (),
        "".join(pod(f"{ns}/red", {"color": "red"}, ports=(8080,)) for ns in ("foo", "bar", "qux"))
        + pod("baz/client", {"app": "c"})
        + pod("qux/client", {"app": "c"})
        + """---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: foo-and-bar}
spec:
  namespaceSelector: projectcalico.org/name in {"foo", "bar"}
  selector: color == "red"
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP  # not in the page's example: Calico validation wants a protocol with ports
    source: {namespaceSelector: projectcalico.org/name == "baz"}
    destination: {ports: [8080]}
""",
        (
            allow("baz/client", "foo/red", 8080),
            allow("baz/client", "bar/red", 8080),
            deny("qux/client", "foo/red", 8080),
            allow("qux/client", "qux/red", 8080),  # qux is not selected
        ),
    ),
    Case(
        "calico-tier-pass",
        f"{CALICO_DOCS}/network-policy/policy-tiers/tiered-policy (Pass action rule example "
        "devops.stage-env: Deny from env != stage, then Pass to the next tier)",
        (),
        pod("app/stage-a", {"env": "stage"})
        + pod("app/stage-b", {"env": "stage"})
        + pod("app/prod", {"env": "prod"})
        + "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: devops}\nspec: {order: 300}\n"
        + """---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: devops.stage-env}
spec:
  tier: devops
  order: 255
  selector: env == "stage"
  ingress:
  - action: Deny
    source: {selector: env != "stage"}
  - action: Pass
  egress:
  - action: Deny
    destination: {selector: env != "stage"}
  - action: Pass
  types: [Ingress, Egress]
""",
        (
            allow("app/stage-a", "app/stage-b"),  # passed on; no other tier applies: allowed
            deny("app/prod", "app/stage-a"),
            deny("app/stage-a", "app/prod"),
        ),
    ),
    Case(
        "calico-end-of-tier-deny",
        f"{CALICO_DOCS}/network-policy/policy-tiers/tiered-policy (Implicit default deny: a "
        "tier that applies to the endpoint and decides nothing drops; a tier applying to "
        "no endpoint is skipped)",
        (),
        SHOP
        + "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n"
        + """---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.db}
spec:
  tier: security
  selector: role == 'database'
  ingress:
  - {action: Allow, source: {selector: role == 'frontend'}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: open-db, namespace: production}
spec:
  selector: role == 'database'
  ingress: [{action: Allow}]
""",
        (
            allow("production/frontend", "production/database"),
            deny("production/other", "production/database"),  # dropped at the end of security
            allow("production/other", "production/frontend"),  # security applies to no frontend
        ),
    ),
    Case(
        "calico-tier-default-action-pass",
        f"{CALICO_DOCS}/reference/resources/tier (defaultAction Pass) and tiered-policy "
        "(Pass default action tier example)",
        (),
        SHOP
        + "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: devops}\nspec: {order: 300, defaultAction: Pass}\n"
        + """---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: devops.db}
spec:
  tier: devops
  selector: role == 'database'
  ingress:
  - {action: Deny, source: {selector: role == 'other'}}
""",
        (
            deny("production/other", "production/database"),
            allow("production/frontend", "production/database"),
        ),
    ),
    Case(
        "calico-kubernetes-policy-order-1000",
        f"{CALICO_DOCS}/network-policy/policy-tiers/tiered-policy (the default tier holds "
        "the Kubernetes network policies, order 1000; lower orders first, and the first "
        "matching rule decides)",
        (),
        SHOP
        + KNP_DB_FROM_OTHER
        + """---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: before, namespace: production}
spec:
  order: 500
  selector: role == 'database'
  ingress:
  - {action: Deny, protocol: TCP, source: {selector: role == 'other'}, destination: {ports: [6379]}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: after, namespace: production}
spec:
  order: 2000
  selector: role == 'database'
  ingress:
  - {action: Allow, source: {selector: role == 'frontend'}}
""",
        (
            deny("production/other", "production/database", 6379),  # order 500 decides first
            allow("production/other", "production/database", 80),  # the NetworkPolicy allows
            allow("production/frontend", "production/database", 80),  # order 2000 allows
        ),
    ),
    Case(
        "calico-kubernetes-policy-alone",
        f"{CALICO_DOCS}/network-policy/policy-tiers/tiered-policy (Kubernetes policy in the "
        "default tier; the end-of-tier deny isolates what it selects)",
        (),
        SHOP
        + KNP_DB_FROM_OTHER
        + "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: empty}\nspec: {order: 10}\n",
        (
            allow("production/other", "production/database"),
            deny("production/frontend", "production/database"),
        ),
    ),
    Case(
        "calico-service-accounts",
        f"{CALICO_DOCS}/reference/resources/networkpolicy (ServiceAccountMatch and "
        "serviceAccountSelector, projectcalico.org/name on ServiceAccounts)",
        (),
        pod("shop/db", {"app": "db"}, account="db")
        + pod("shop/api", {"app": "api"}, account="api-sa")
        + pod("shop/batch", {"app": "batch"}, account="batch")
        + pod("shop/web", {"app": "web"}, account="web")
        + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: batch, namespace: shop, labels: {team: data}}\n"
        + """---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  serviceAccountSelector: projectcalico.org/name == 'db'
  ingress:
  - {action: Allow, source: {serviceAccounts: {names: [api-sa]}}}
  - {action: Allow, source: {serviceAccounts: {selector: team == 'data'}}}
""",
        (
            allow("shop/api", "shop/db"),
            allow("shop/batch", "shop/db"),
            deny("shop/web", "shop/db"),
            allow("shop/db", "shop/web"),
        ),
    ),
    Case(
        "calico-ports-ranges-names-not-ports",
        f"{CALICO_DOCS}/reference/resources/networkpolicy (Ports: numbers, start:end ranges, "
        "named ports; notPorts; notProtocol)",
        (),
        pod("p/server", {"app": "server"}, ports=(80, 443, 6040, 6045, 6050, 9000))
        + pod("p/client", {"app": "client"})
        + """---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: server, namespace: p}
spec:
  selector: app == 'server'
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: ['6040:6050', p443], notPorts: [6045]}}
  - {action: Allow, notProtocol: TCP, destination: {}}
""",
        (
            allow("p/client", "p/server", 6040),
            deny("p/client", "p/server", 6045),
            allow("p/client", "p/server", 443),
            deny("p/client", "p/server", 80),
            allow("p/client", "p/server", 9000, "UDP"),
        ),
    ),
    Case(
        "calico-staged-not-enforced",
        f"{CALICO_DOCS}/reference/resources/stagednetworkpolicy (staged policies are not enforced)",
        (),
        SHOP
        + """---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: lockdown, namespace: production}
spec:
  selector: all()
  ingress: [{action: Deny}]
""",
        (allow("production/other", "production/database"),),
    ),
)

ALL_CASES = CILIUM_CASES + CALICO_CASES
