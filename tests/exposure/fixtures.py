"""Manifests for exposure tests: a web workload, Services, policies and an Ingress controller."""

from __future__ import annotations

from kaudit.exposure import ExposureEntry, ExposureInventory, Via, exposure_inventory
from tests.rules.fixtures import deployment, namespace, policy
from tests.rules.helpers import snapshot_of

WEB = namespace("shop") + "\n---\n" + deployment("web", "shop")


def service(
    name: str = "web",
    type_: str = "ClusterIP",
    extra: str = "",
    node_port: str = "",
    ns: str = "shop",
    selector: str = "{app: web}",
) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  type: {type_}
  selector: {selector}
  {extra}
  ports:
    - {{name: http, port: 80, targetPort: http{node_port}}}
"""


def admit_cidr(cidr: str, name: str = "admit", ns: str = "shop") -> str:
    return policy(
        name,
        ns,
        f"""
        podSelector: {{matchLabels: {{app: web}}}}
        policyTypes: [Ingress]
        ingress:
          - from: [{{ipBlock: {{cidr: {cidr}}}}}]
            ports: [{{port: 8080}}]
        """,
    )


def node_agent(ip: str, node: str = "node-1") -> str:
    """A hostNetwork pod: its address is its node's."""
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: agent-{node}, namespace: kube-system}}
spec:
  hostNetwork: true
  nodeName: {node}
  containers: [{{name: agent, image: agent}}]
status:
  phase: Running
  podIP: {ip}
  podIPs: [{{ip: {ip}}}]
"""


def inventory(*documents: str) -> ExposureInventory:
    return exposure_inventory(snapshot_of(*documents))


def entries(inv: ExposureInventory, via: Via | None = None) -> list[ExposureEntry]:
    return [e for e in inv.entries if via is None or e.via is via]


def the_entry(inv: ExposureInventory, via: Via) -> ExposureEntry:
    found = entries(inv, via)
    assert len(found) == 1, found
    return found[0]
