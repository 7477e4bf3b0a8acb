"""Hand-built reports shaped like the insecure demo's, with hostile strings in names and labels."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

from kaudit.findings import Finding, Severity, frozen_evidence
from kaudit.jsontypes import JsonObject
from kaudit.model import ClusterFacts, CollectionWarning, ObjectRef, Origin, Resource
from kaudit.netpol.summary import IsolationCounts, PairCount, ReachabilitySummary
from kaudit.report.model import NamespaceSummary, Report, SuppressedFinding

GENERATED_AT = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
XSS = "<script>alert(1)</script>"

DEFAULT_DENY_YAML = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: monitoring
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


def finding(
    rule_id: str,
    rule_name: str,
    severity: Severity,
    kind: str,
    namespace: str,
    name: str,
    message: str,
    *,
    evidence: JsonObject | None = None,
    remediation: str = "",
    file: str | None = None,
    line: int | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        rule_name=rule_name,
        severity=severity,
        resource=ObjectRef(kind, namespace, name),
        message=message,
        evidence=frozen_evidence(evidence),
        remediation=remediation,
        origin=Origin(file, line, 0) if file else Origin(),
    )


def namespace_summary(
    name: str,
    *,
    pods: int,
    policies: int,
    isolated: int = 0,
    egress_isolated: int = 0,
    exposed: tuple[str, ...] = (),
    counts: dict[str, int] | None = None,
    system: bool = False,
) -> NamespaceSummary:
    return NamespaceSummary(
        name=name,
        system=system,
        pods=pods,
        services=len(exposed) + 1,
        policies=policies,
        ingress_isolated_pods=isolated,
        egress_isolated_pods=egress_isolated,
        host_network_pods=0,
        exposed_services=exposed,
        findings=MappingProxyType({s.label: (counts or {}).get(s.label, 0) for s in Severity}),
    )


def build_sample_report() -> Report:
    """A report like the insecure demo's, with hostile strings in names and labels."""
    manifest = "kaudit/demo/insecure"
    findings = (
        finding(
            "KA101",
            "namespace-without-policy",
            Severity.HIGH,
            "Namespace",
            "",
            "monitoring",
            "Namespace monitoring has 2 pods and no NetworkPolicy: every pod may reach them.",
            evidence={"pods": 2, "policies": 0},
            remediation="Add a default-deny policy:\n\n" + DEFAULT_DENY_YAML,
            file=f"{manifest}/00-namespaces.yaml",
            line=37,
        ),
        finding(
            "KA110",
            "peer-selector-or-instead-of-and",
            Severity.CRITICAL,
            "NetworkPolicy",
            "data",
            "postgres-allow-api",
            "namespaceSelector and podSelector are two peers (OR): every pod of namespace"
            " shop may reach postgres on 5432, not only app=api-server.",
            evidence={
                "peers": [
                    {"namespaceSelector": "team=storefront"},
                    {"podSelector": "app=api-server"},
                ],
                "ports": ["5432/TCP"],
            },
            remediation="Put both selectors in one peer (drop the second hyphen).",
            file=f"{manifest}/data.yaml",
            line=97,
        ),
        finding(
            "KA204",
            "service-nodeport",
            Severity.HIGH,
            "Service",
            "shop",
            "storefront|public",
            "NodePort Service opens 30080 on every node, bypassing the Ingress.",
            evidence={"type": "NodePort", "nodePort": 30080, "selector": {"app": XSS}},
            remediation="Use `type: ClusterIP` and expose it through an Ingress with TLS.",
            file=f"{manifest}/shop.yaml",
            line=12,
        ),
        finding(
            "KA140",
            "egress-to-metadata-endpoint",
            Severity.HIGH,
            "NetworkPolicy",
            "data",
            "postgres-backup-egress",
            "Egress to 0.0.0.0/0 without except opens the cloud metadata endpoint 169.254.169.254.",
            evidence={"ipBlock": "0.0.0.0/0", "except": []},
            remediation="Add `except: [169.254.169.254/32]` to the ipBlock.",
        ),
        finding(
            "KA120",
            "egress-deny-without-dns",
            Severity.MEDIUM,
            "NetworkPolicy",
            "payments",
            "default-deny-egress",
            "Default-deny egress without a DNS exception: pods cannot resolve names.",
            evidence={"dns": {"udp53": False, "tcp53": False}},
            remediation="egress:\n  - to:\n      - namespaceSelector:\n          matchLabels:\n"
            "            kubernetes.io/metadata.name: kube-system\n    ports:\n"
            "      - protocol: UDP\n        port: 53\n      - protocol: TCP\n        port: 53\n",
        ),
        finding(
            "KA301",
            "pod-default-ndots",
            Severity.LOW,
            "Deployment",
            "shop",
            "api-server",
            f"Pod labels include {XSS}; default ndots:5 multiplies DNS lookups.",
            evidence={"labels": {"app": "api-server", "note": XSS}},
            remediation='dnsConfig:\n  options:\n    - name: ndots\n      value: "2"\n',
        ),
        finding(
            "KA501",
            "cni-unknown",
            Severity.INFO,
            "Namespace",
            "",
            "kube-system",
            "No known NetworkPolicy-enforcing CNI was seen in kube-system.",
        ),
        finding(
            "KA101",
            "namespace-without-policy",
            Severity.MEDIUM,
            "Namespace",
            "",
            "kube-system",
            "Namespace kube-system has 3 pods and no NetworkPolicy.",
        ),
        finding(
            "KA204",
            "service-nodeport",
            Severity.MEDIUM,
            "Service",
            "kube-system",
            "metrics-`server`",
            "NodePort Service opens 31443 on every node.",
        ),
    )
    suppressed = (
        SuppressedFinding(
            finding(
                "KA301",
                "pod-default-ndots",
                Severity.LOW,
                "Deployment",
                "monitoring",
                "prometheus",
                "Default ndots:5 multiplies DNS lookups.",
            ),
            "annotation kaudit.io/ignore on Namespace/monitoring: accepted by SRE",
        ),
    )
    namespaces = (
        namespace_summary(
            "shop",
            pods=3,
            policies=2,
            isolated=3,
            exposed=("storefront|public (NodePort)",),
            counts={"high": 1, "low": 1},
        ),
        namespace_summary(
            "data",
            pods=2,
            policies=3,
            isolated=2,
            egress_isolated=1,
            counts={"critical": 1, "high": 1},
        ),
        namespace_summary(
            "payments", pods=1, policies=1, isolated=1, egress_isolated=1, counts={"medium": 1}
        ),
        namespace_summary("monitoring", pods=2, policies=0),
        namespace_summary(
            "kube-system",
            pods=3,
            policies=0,
            system=True,
            exposed=("metrics-`server` (NodePort)",),
            counts={"medium": 2},
        ),
    )
    # Two pods per namespace: 4 pairs between two namespaces, 2 within one.
    reached = {
        "data": {"data": 2, "monitoring": 4, "payments": 0, "shop": 4},
        "monitoring": {"data": 4, "monitoring": 2, "payments": 0, "shop": 4},
        "payments": {"data": 2, "monitoring": 4, "payments": 2, "shop": 4},
        "shop": {"data": 4, "monitoring": 4, "payments": 0, "shop": 2},
    }
    reachability = ReachabilitySummary(
        pods=8,
        namespaces=4,
        policies=3,
        classes=0,
        isolation=IsolationCounts(ingress_isolated=2, egress_isolated=0, host_network=0),
        pod_classes=(),
        namespace_matrix={
            src: {dst: PairCount(n, 2 if src == dst else 4) for dst, n in row.items()}
            for src, row in reached.items()
        },
        notes=("counts are on any port and protocol; a pod is not counted as reaching itself",),
    )
    return Report(
        facts=ClusterFacts(
            source="manifests",
            cni=(),
            cni_checked=False,
            inputs=(manifest,),
            ignored_kinds=MappingProxyType({"ConfigMap": 2}),
        ),
        generated_at=GENERATED_AT,
        findings=findings,
        suppressed=suppressed,
        namespaces=namespaces,
        warnings=(
            CollectionWarning(
                "ingressclasses: not found in the manifests", Resource.INGRESS_CLASSES
            ),
        ),
        incomplete_rules=MappingProxyType({"KA230": ("ingressclasses",)}),
        reachability=reachability,
        system_namespaces=frozenset({"kube-system"}),
    )
