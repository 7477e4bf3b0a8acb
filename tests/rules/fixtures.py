"""Small building blocks for rule fixtures: namespaces, workloads and policies as YAML."""

from __future__ import annotations

KUBE_SYSTEM = """
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: kube-system}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: coredns, namespace: kube-system}
    spec:
      selector: {matchLabels: {k8s-app: kube-dns}}
      template:
        metadata: {labels: {k8s-app: kube-dns}}
        spec:
          dnsPolicy: Default
          containers:
            - name: coredns
              image: coredns
              ports:
                - {name: dns, containerPort: 53, protocol: UDP}
                - {name: dns-tcp, containerPort: 53, protocol: TCP}
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: kindnet, namespace: kube-system}
    spec:
      selector: {matchLabels: {app: kindnet}}
      template:
        metadata: {labels: {app: kindnet}}
        spec:
          hostNetwork: true
          dnsPolicy: ClusterFirstWithHostNet
          containers: [{name: kindnet, image: kindnet}]
"""


def namespace(name: str, labels: str = "{}") -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {labels}}}
"""


def deployment(
    name: str,
    ns: str,
    labels: str | None = None,
    ports: str = "[{containerPort: 8080, name: http}]",
    extra_spec: str = "",
    annotations: str = "{}",
    kind: str = "Deployment",
) -> str:
    labels = labels or f"{{app: {name}}}"
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {labels}}}
  template:
    metadata: {{labels: {labels}, annotations: {annotations}}}
    spec:
      {extra_spec}
      containers:
        - name: main
          image: example/{name}:1
          ports: {ports}
"""


def policy(name: str, ns: str, spec: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: {ns}}}
spec:
{_indent(spec)}
"""


def _indent(text: str) -> str:
    import textwrap

    return textwrap.indent(textwrap.dedent(text).strip(), "  ")


DENY_ALL = "podSelector: {}\npolicyTypes: [Ingress, Egress]"
DENY_INGRESS = "podSelector: {}\npolicyTypes: [Ingress]"
DENY_EGRESS = "podSelector: {}\npolicyTypes: [Egress]"

DNS_BY_NAMESPACE_LABEL = """
podSelector: {}
policyTypes: [Egress]
egress:
  - to:
      - namespaceSelector:
          matchLabels: {kubernetes.io/metadata.name: kube-system}
    ports:
      - {protocol: UDP, port: 53}
      - {protocol: TCP, port: 53}
"""
