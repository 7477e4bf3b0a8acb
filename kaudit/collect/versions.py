"""Which manifest objects kaudit reads, by API group and kind, and their older versions.

An object is recognised by its group and kind together, as the API server routes
it: a Calico `projectcalico.org/v3` NetworkPolicy is not a Kubernetes one, so an
object of a group not listed here is an ignored kind, whatever its kind is called.

Objects in older API versions still found in charts (extensions/v1beta1,
networking.k8s.io/v1beta1, apps/v1beta1 and apps/v1beta2) are converted here to
the shape of the current version before the model reads them, so every check sees
one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaudit.model.cni import calico

# Kinds whose objects have no namespace.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "IngressClass",
        "GatewayClass",
        # CNI policy kinds (Cilium, Calico)
        "CiliumClusterwideNetworkPolicy",
        "GlobalNetworkPolicy",
        "StagedGlobalNetworkPolicy",
        "GlobalNetworkSet",
        "Tier",
        # policy.networking.k8s.io
        "ClusterNetworkPolicy",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
    }
)

# The pod-creating controllers kaudit expands into pods.
WORKLOAD_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    }
)

# CNI policy kinds by API group: Cilium's, and Calico's (its API server's group and the
# group its CRDs store the same objects in). Their "NetworkPolicy" is not Kubernetes'.
_CALICO_KINDS = (
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "NetworkSet",
    "GlobalNetworkSet",
    "Tier",
)
CNI_POLICY_KINDS: Mapping[str, tuple[str, ...]] = {
    "cilium.io": ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"),
    **dict.fromkeys(calico.GROUPS, _CALICO_KINDS),
}

# API group ("" is core) -> the kinds kaudit reads from it.
KNOWN_KINDS: Mapping[str, frozenset[str]] = {
    "": frozenset(
        {
            "Namespace",
            "Node",
            "Pod",
            "Service",
            "Endpoints",
            "ReplicationController",
            "ServiceAccount",  # names and labels only, for Calico's serviceAccountSelector
        }
    ),
    "discovery.k8s.io": frozenset({"EndpointSlice"}),
    "networking.k8s.io": frozenset({"NetworkPolicy", "Ingress", "IngressClass"}),
    "extensions": frozenset({"Ingress", "NetworkPolicy", "Deployment", "DaemonSet", "ReplicaSet"}),
    "apps": frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}),
    "batch": frozenset({"Job", "CronJob"}),
    # Gateway API: every served version has one shape in what kaudit reads.
    "gateway.networking.k8s.io": frozenset(
        {
            "GatewayClass",
            "Gateway",
            "ListenerSet",
            "HTTPRoute",
            "GRPCRoute",
            "TLSRoute",
            "TCPRoute",
            "UDPRoute",
            "ReferenceGrant",
        }
    ),
    # The experimental channel's ListenerSet before it moved to the group above (v1.5).
    "gateway.networking.x-k8s.io": frozenset({"XListenerSet"}),
    # CNI policy kinds: Cilium's, and Calico's (its API server's group and its CRDs' group).
    **{group: frozenset(kinds) for group, kinds in CNI_POLICY_KINDS.items()},
    # The network-policy-api: ClusterNetworkPolicy v1beta1/v1alpha2 (one schema),
    # AdminNetworkPolicy and BaselineAdminNetworkPolicy v1alpha1.
    "policy.networking.k8s.io": frozenset(
        {"ClusterNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}
    ),
}

# Custom resources whose operators create pods, by API group: kaudit expands each into
# the pods its operator would run (`kaudit/collect/operators.py`).
OPERATOR_KINDS: Mapping[str, frozenset[str]] = {
    "monitoring.coreos.com": frozenset({"Prometheus", "Alertmanager", "ThanosRuler"}),
    "elasticsearch.k8s.elastic.co": frozenset({"Elasticsearch"}),
    "kibana.k8s.elastic.co": frozenset({"Kibana"}),
    "kafka.strimzi.io": frozenset({"Kafka", "KafkaNodePool"}),
    "postgresql.cnpg.io": frozenset({"Cluster"}),
    "rabbitmq.com": frozenset({"RabbitmqCluster"}),
}
# Custom kinds known not to create pods (configuration the operators read, policies of
# other engines): they are no reason to doubt that a selector matching nothing is wrong.
PODLESS_CUSTOM_KINDS: Mapping[str, frozenset[str]] = {
    "monitoring.coreos.com": frozenset(
        {
            "ServiceMonitor",
            "PodMonitor",
            "PrometheusRule",
            "Probe",
            "AlertmanagerConfig",
            "ScrapeConfig",
        }
    ),
    "kafka.strimzi.io": frozenset({"KafkaTopic", "KafkaUser", "KafkaRebalance"}),
    "postgresql.cnpg.io": frozenset(
        {"Backup", "ScheduledBackup", "Database", "Publication", "Subscription", "ImageCatalog"}
    ),
}
# Groups whose every kind is policy, routing or configuration, never a workload: network
# policies of other engines, service-mesh routing and security, certificates, secrets.
PODLESS_CUSTOM_GROUPS = frozenset(
    {
        "cilium.io",
        "projectcalico.org",
        "crd.projectcalico.org",
        "networking.istio.io",
        "security.istio.io",
        "telemetry.istio.io",
        "policy.linkerd.io",
        "traefik.io",
        "traefik.containo.us",
        "cert-manager.io",
        "acme.cert-manager.io",
        "external-secrets.io",
        "bitnami.com",
        "kyverno.io",
    }
)

# Versions whose Ingress has `serviceName`/`servicePort` backends and `spec.backend`.
_BETA_INGRESS_VERSIONS = frozenset({"extensions/v1beta1", "networking.k8s.io/v1beta1"})
# Workload versions whose `spec.selector` was optional (defaulted from the template labels).
_BETA_WORKLOAD_VERSIONS = frozenset({"extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"})


def api_group(api_version: str) -> str:
    """The group of an apiVersion: '' for core `v1`, `apps` for `apps/v1`."""
    group, _, _ = api_version.rpartition("/")
    return group


def recognised_kind(api_version: str, kind: str) -> str | None:
    """`kind` when kaudit reads objects of this group and kind, else None."""
    group = api_group(api_version)
    known = KNOWN_KINDS.get(group, frozenset()) | OPERATOR_KINDS.get(group, frozenset())
    return kind if kind in known else None


def operator_kind(api_version: str, kind: str) -> bool:
    """Whether objects of this group and kind are custom resources whose operator kaudit knows."""
    return kind in OPERATOR_KINDS.get(api_group(api_version), frozenset())


def may_create_pods(api_version: str, kind: str) -> bool:
    """Whether an ignored object may be a custom resource whose operator creates pods.

    Kubernetes' own groups (no dot, or ending in `.k8s.io`) are not: kaudit reads their
    workloads. Of the custom groups, the kinds known to be configuration or policy are not.
    """
    group = api_group(api_version)
    if "." not in group or group.endswith(".k8s.io") or group in PODLESS_CUSTOM_GROUPS:
        return False
    return kind not in PODLESS_CUSTOM_KINDS.get(group, frozenset())


def is_cni_policy_group(api_version: str) -> bool:
    """Is this the group of a CNI's own policy kinds (read by `kaudit.model.cni`)?"""
    return api_group(api_version) in CNI_POLICY_KINDS


def ignored_kind_name(api_version: str, kind: str) -> str:
    """How an ignored kind is listed: `ConfigMap` in core, `NetworkPolicy.projectcalico.org`."""
    group = api_group(api_version)
    return f"{kind}.{group}" if group else kind


def to_current(api_version: str, kind: str, raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """`raw` in the shape of its kind's current version (unchanged when it already is)."""
    if kind == "Ingress" and api_version in _BETA_INGRESS_VERSIONS:
        return _ingress_from_beta(raw)
    if kind in WORKLOAD_KINDS and api_version in _BETA_WORKLOAD_VERSIONS:
        return _workload_from_beta(raw)
    return raw


def _ingress_from_beta(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = raw.get("spec")
    if not isinstance(spec, Mapping):
        return raw
    converted: dict[str, Any] = {k: v for k, v in spec.items() if k != "backend"}
    if "backend" in spec:
        converted["defaultBackend"] = _backend_from_beta(spec["backend"])
    rules = spec.get("rules")
    if isinstance(rules, list):
        converted["rules"] = [_rule_from_beta(rule) for rule in rules]
    return {**raw, "spec": converted}


def _rule_from_beta(rule: Any) -> Any:
    http = rule.get("http") if isinstance(rule, Mapping) else None
    if not isinstance(http, Mapping) or not isinstance(http.get("paths"), list):
        return rule
    paths = http["paths"]
    converted_paths = [
        {**path, "backend": _backend_from_beta(path.get("backend"))}
        if isinstance(path, Mapping) and "backend" in path
        else path
        for path in paths
    ]
    return {**rule, "http": {**http, "paths": converted_paths}}


def _backend_from_beta(backend: Any) -> Any:
    """`{serviceName, servicePort}` as `{service: {name, port: {number | name}}}`.

    servicePort is an IntOrString: a number is the Service's port number, a string
    its port name (as the API server converts it).
    """
    if not isinstance(backend, Mapping) or (
        "serviceName" not in backend and "servicePort" not in backend
    ):
        return backend
    port = backend.get("servicePort")
    service: dict[str, Any] = {"name": backend.get("serviceName")}
    if port is not None:
        service["port"] = {"name": port} if isinstance(port, str) else {"number": port}
    rest = {k: v for k, v in backend.items() if k not in ("serviceName", "servicePort")}
    return {**rest, "service": service}


def _workload_from_beta(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = raw.get("spec")
    if not isinstance(spec, Mapping) or spec.get("selector") is not None:
        return raw
    template = spec.get("template")
    meta = template.get("metadata") if isinstance(template, Mapping) else None
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    if not isinstance(labels, Mapping) or not labels:
        return raw
    return {**raw, "spec": {**spec, "selector": {"matchLabels": dict(labels)}}}
