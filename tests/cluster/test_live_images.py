"""Container images read from a live cluster, as from manifests."""

from __future__ import annotations

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
from tests.plugins.clusterkit import Cluster

CACHE = """
apiVersion: v1
kind: Pod
metadata: {name: cache, labels: {app: cache}}
spec:
  initContainers: [{name: init, image: "busybox:1.36"}]
  containers:
  - {name: main, image: "public.ecr.aws/docker/library/redis:8.0", ports: [{containerPort: 7000}]}
  - {name: metrics, image: "oliver006/redis_exporter:v1.62"}
"""


def test_live_pods_carry_their_images_and_the_datastore_rule_reads_them(
    cluster: Cluster, namespace: str
) -> None:
    cluster.apply(CACHE, namespace)
    snapshot = load_snapshot(Source(kubeconfig=str(cluster.kubeconfig), namespaces=(namespace,)))
    (pod,) = snapshot.pods
    assert pod.images == (
        "public.ecr.aws/docker/library/redis:8.0",
        "oliver006/redis_exporter:v1.62",
    )
    # Nothing but the image says Redis: labels say cache, and 7000 is no datastore's port.
    found = [
        f for f in audit(snapshot).findings if f.rule_name == "datastore-reachable-cross-namespace"
    ]
    assert [str(f.resource) for f in found] == [f"Pod/{namespace}/cache"]
    assert "7000 (Redis)" in found[0].message
