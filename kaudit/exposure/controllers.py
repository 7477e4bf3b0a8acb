"""Finding the pods of an Ingress or Gateway controller: the sources the backends see.

Traffic through an Ingress or a Gateway reaches the backend pods from the controller's
(data-plane) pods, so whether their ingress policies admit it is a question about those
pods. They are found by the labels their projects' manifests and charts put on them;
controllers that run outside the cluster (cloud load balancers) have no such pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kaudit.model import Pod

# IngressClass spec.controller -> label sets of the controller's pods (any one matches).
INGRESS_CONTROLLER_PODS: Mapping[str, tuple[Mapping[str, str], ...]] = {
    # ingress-nginx (kubernetes/ingress-nginx deploy manifests and Helm chart)
    "k8s.io/ingress-nginx": (
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    ),
    # NGINX Ingress Controller by F5 (nginxinc/kubernetes-ingress)
    "nginx.org/ingress-controller": ({"app.kubernetes.io/name": "nginx-ingress"},),
    # Traefik's Helm chart
    "traefik.io/ingress-controller": ({"app.kubernetes.io/name": "traefik"},),
    # Istio's ingress gateway
    "istio.io/ingress-controller": ({"istio": "ingressgateway"},),
    # HAProxy Kubernetes Ingress Controller's Helm chart
    "haproxy.org/ingress-controller/haproxy": ({"app.kubernetes.io/name": "kubernetes-ingress"},),
}

# Controllers whose data plane is a cloud load balancer: no pod in the cluster forwards.
CLOUD_INGRESS_CONTROLLERS = frozenset({"k8s.io/ingress-gce", "ingress.k8s.aws/alb"})

# Labels by which Gateway implementations mark the data-plane pods of one Gateway: the
# label GEP-1762 recommends for in-cluster deployments (Istio, NGINX Gateway Fabric), in
# the Gateway's namespace, and Envoy Gateway's owning-gateway labels (pods in its own
# namespace).
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
ENVOY_GATEWAY_NAME_LABEL = "gateway.envoyproxy.io/owning-gateway-name"
ENVOY_GATEWAY_NAMESPACE_LABEL = "gateway.envoyproxy.io/owning-gateway-namespace"


def _matches(pod: Pod, labels: Mapping[str, str]) -> bool:
    return all(pod.labels.get(key) == value for key, value in labels.items())


def ingress_controller_pods(controller: str, pods: Iterable[Pod]) -> tuple[Pod, ...] | None:
    """The running pods of an IngressClass's controller; None when kaudit does not know
    how to find that controller's pods (an empty tuple: it knows, and none is in the input)."""
    label_sets = INGRESS_CONTROLLER_PODS.get(controller)
    if label_sets is None:
        return None
    return tuple(
        pod
        for pod in pods
        if not pod.terminated and any(_matches(pod, labels) for labels in label_sets)
    )


def gateway_pods(namespace: str, name: str, pods: Iterable[Pod]) -> tuple[Pod, ...]:
    """The data-plane pods serving Gateway namespace/name, by the labels implementations
    put on them (empty when none is found)."""
    return tuple(
        pod
        for pod in pods
        if not pod.terminated
        and (
            (pod.namespace == namespace and pod.labels.get(GATEWAY_NAME_LABEL) == name)
            or (
                pod.labels.get(ENVOY_GATEWAY_NAME_LABEL) == name
                and pod.labels.get(ENVOY_GATEWAY_NAMESPACE_LABEL) == namespace
            )
        )
    )
