"""Custom resources whose operators create pods, expanded into those pods.

A Prometheus, an Elasticsearch or a CloudNativePG Cluster in manifests stands for
pods its operator will run; Services and NetworkPolicies of the same input select
them by the labels the operator puts on them. Each known kind (by API group and
kind, `OPERATOR_KINDS` in `kaudit/collect/versions.py`) has one planner here that
reads the resource's spec and returns `PodGroup`s: how many pods, their names, their
labels and the container ports the operator fixes. `operator_pods` turns the plans
into pods, the way workload templates become pods in `kaudit/collect/workloads.py`.

The facts come from each operator's source (cited at each planner). What an
operator decides at run time (which instance is primary, listener ports it
derives) follows its defaults; user-given pod template labels are kept.

Services: the ones clients and Ingresses address are derived too, when the input
does not hold them (`SERVICE_PLANNERS`): the prometheus-operator's governing Services
(`prometheus-operated`, `alertmanager-operated`, `thanos-ruler-operated`), ECK's
`NAME-es-http` and `NAME-kb-http`, CloudNativePG's `NAME-rw`, `-ro` and `-r`, and
RabbitMQ's client Service `NAME`. Strimzi's bootstrap Services are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kaudit.collect.versions import api_group
from kaudit.kube import POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL
from kaudit.model import Origin, Pod, Service, Workload

# The API server's replica counts are int32.
_INT32_MAX = 2**31 - 1
# Node IDs are numbered one by one; beyond this a pool is refused before it is (the
# manifest source bounds the pods it expands in all far below).
_MAX_NODE_IDS = 1_000_000

Port = tuple[int, str, str]  # container port, its name, its protocol
ServicePlanner = Callable[[Mapping[str, Any]], list["ServicePlan"]]


@dataclass(frozen=True, slots=True)
class PodGroup:
    """Pods one controller of an operator runs, alike but for their names.

    Pods are named `PREFIX-i` for i from `first`; a Deployment's single pod keeps the
    prefix. StatefulSet pods carry the pod-name and pod-index labels the StatefulSet
    controller sets; `pod_labels(name, i)` adds what the operator sets per pod.
    """

    prefix: str
    count: int
    labels: Mapping[str, str]
    ports: tuple[Port, ...] = ()
    first: int = 0
    stateful: bool = True
    pod_labels: Callable[[str, int], Mapping[str, str]] | None = field(default=None)
    ids: tuple[int, ...] | None = None  # the pods' numbers when not `first` onwards

    def names(self) -> list[tuple[str, int]]:
        if not self.stateful and self.count == 1:
            return [(self.prefix, self.first)]
        ids = self.ids if self.ids is not None else range(self.first, self.first + self.count)
        return [(f"{self.prefix}-{i}", i) for i in ids]


# --- reading a spec ---------------------------------------------------------------------------


def _dig(raw: Any, *path: str) -> Any:
    value = raw
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _count(raw: Any, path: tuple[str, ...], default: int) -> int:
    """A pod count at `path` (`default` when absent); ValueError naming the field otherwise."""
    value = _dig(raw, *path)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT32_MAX:
        raise ValueError(f"{'.'.join(path)}: {value!r} is not a number of pods (0 or more)")
    return value


def _labels(raw: Any, *path: str) -> dict[str, str]:
    """User-given labels at `path`; the model validates keys and values as it does any label."""
    value = _dig(raw, *path)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{'.'.join(path)}: expected a map of labels")
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}


def _text(raw: Any, path: tuple[str, ...], default: str) -> str:
    value = _dig(raw, *path)
    return value if isinstance(value, str) and value else default


def _name(raw: Mapping[str, Any]) -> str:
    return str(_dig(raw, "metadata", "name") or "")


# --- prometheus-operator (monitoring.coreos.com) -----------------------------------------------
# prometheus-operator pkg/prometheus/server/statefulset.go and operator.go (makeSelectorLabels),
# pkg/prometheus/common.go (shards: prometheusNameByShard), pkg/alertmanager/statefulset.go
# and operator.go, pkg/thanos/statefulset.go and operator.go, pkg/operator/config_reloader.go
# (the config-reloader sidecar's `reloader-web` port 8080).

_MANAGED_BY = "app.kubernetes.io/managed-by"
_NAME = "app.kubernetes.io/name"
_INSTANCE = "app.kubernetes.io/instance"
_RELOADER: Port = (8080, "reloader-web", "TCP")


def _operated_labels(app: str, name: str, kind_label: str) -> dict[str, str]:
    return {_NAME: app, _MANAGED_BY: "prometheus-operator", _INSTANCE: name, kind_label: name}


def _web_ports(raw: Mapping[str, Any], number: int) -> tuple[Port, ...]:
    """The web port (named by spec.portName, `web` by default) and the config reloader's,
    unless spec.listenLocal binds them to localhost."""
    if _dig(raw, "spec", "listenLocal") is True:
        return ()
    return ((number, _text(raw, ("spec", "portName"), "web"), "TCP"), _RELOADER)


def _prometheus(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    replicas = _count(raw, ("spec", "replicas"), 1)
    shards = max(_count(raw, ("spec", "shards"), 1), 1)
    user = _labels(raw, "spec", "podMetadata", "labels")
    groups = []
    for shard in range(shards):
        labels = {
            **user,
            **_operated_labels("prometheus", name, "prometheus"),
            "operator.prometheus.io/name": name,
            "operator.prometheus.io/shard": str(shard),
        }
        prefix = f"prometheus-{name}" + (f"-shard-{shard}" if shard else "")
        groups.append(PodGroup(prefix, replicas, labels, _web_ports(raw, 9090)))
    return groups


def _alertmanager(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    labels = {
        **_labels(raw, "spec", "podMetadata", "labels"),
        **_operated_labels("alertmanager", name, "alertmanager"),
    }
    mesh: tuple[Port, ...] = ((9094, "mesh-tcp", "TCP"), (9094, "mesh-udp", "UDP"))
    ports = _web_ports(raw, 9093) + mesh
    return [PodGroup(f"alertmanager-{name}", _count(raw, ("spec", "replicas"), 1), labels, ports)]


def _thanos_ruler(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    labels = {
        **_labels(raw, "spec", "podMetadata", "labels"),
        **_operated_labels("thanos-ruler", name, "thanos-ruler"),
    }
    ports = ((10901, "grpc", "TCP"), *_web_ports(raw, 10902))
    return [PodGroup(f"thanos-ruler-{name}", _count(raw, ("spec", "replicas"), 1), labels, ports)]


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """A Service an operator creates: its name, selector, ports (name, port, target,
    protocol) and whether it is headless."""

    name: str
    selector: Mapping[str, str]
    ports: tuple[tuple[str, int, int | str, str], ...]
    headless: bool = False


def _governing(app: str, ports: tuple[tuple[str, int, int | str, str], ...]) -> ServicePlanner:
    """The prometheus-operator's governing Service of a kind: one per namespace, headless,
    selecting every pod of the kind; none when spec.serviceName names the user's own."""

    def services(raw: Mapping[str, Any]) -> list[ServicePlan]:
        if _dig(raw, "spec", "serviceName"):
            return []
        web = _text(raw, ("spec", "portName"), "web")
        named = tuple(
            (name, port, web if target == "web" else target, protocol)
            for name, port, target, protocol in ports
        )
        return [ServicePlan(f"{app}-operated", {_NAME: app}, named, headless=True)]

    return services


# --- ECK (elasticsearch.k8s.elastic.co, kibana.k8s.elastic.co) ---------------------------------
# cloud-on-k8s pkg/apis/elasticsearch/v1/name.go (StatefulSet NAME-es-NODESET),
# pkg/controller/elasticsearch/label/label.go (NewPodLabels), nodespec/podspec.go
# (getDefaultContainerPorts), network/ports.go (9200, 9300); pkg/apis/kibana/v1/name.go
# (Deployment NAME-kb), pkg/controller/kibana/label/label.go, pod.go, network/ports.go (5601);
# pkg/apis/common/v1/common.go (HTTPConfig.Protocol: `https` unless self-signed TLS is
# disabled without a certificate). An absent `count` is 0, as in the Go types.

_ES_ROLES = ("master", "data", "ingest", "ml")
_ES_CLUSTER = "elasticsearch.k8s.elastic.co/cluster-name"


def _http_scheme(raw: Mapping[str, Any]) -> str:
    tls = _dig(raw, "spec", "http", "tls")
    disabled = _dig(tls, "selfSignedCertificate", "disabled") is True
    return "http" if disabled and not _dig(tls, "certificate", "secretName") else "https"


def _es_roles(node_set: Mapping[str, Any]) -> Mapping[str, str]:
    """The node-role labels: every role unless the node set's config lists `node.roles`."""
    config = node_set.get("config")
    roles = _dig(config, "node.roles")
    if roles is None:
        roles = _dig(config, "node", "roles")
    listed = set(roles) if isinstance(roles, list) else set(_ES_ROLES)
    return {
        f"elasticsearch.k8s.elastic.co/node-{role}": "true" if role in listed else "false"
        for role in _ES_ROLES
    }


def _elasticsearch(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    scheme = _http_scheme(raw)
    node_sets = _dig(raw, "spec", "nodeSets") or []
    if not isinstance(node_sets, list):
        raise ValueError("spec.nodeSets: expected a list")
    groups = []
    for index, node_set in enumerate(node_sets):
        if not isinstance(node_set, Mapping) or not node_set.get("name"):
            raise ValueError(f"spec.nodeSets[{index}]: expected an object with a name")
        statefulset = f"{name}-es-{node_set['name']}"
        labels = {
            **_labels(node_set, "podTemplate", "metadata", "labels"),
            "common.k8s.elastic.co/type": "elasticsearch",
            _ES_CLUSTER: name,
            "elasticsearch.k8s.elastic.co/statefulset-name": statefulset,
            "elasticsearch.k8s.elastic.co/http-scheme": scheme,
            **_es_roles(node_set),
        }
        count = _count(node_set, ("count",), 0)
        ports: tuple[Port, ...] = ((9200, scheme, "TCP"), (9300, "transport", "TCP"))
        groups.append(PodGroup(statefulset, count, labels, ports))
    return groups


def _kibana(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    labels = {
        **_labels(raw, "spec", "podTemplate", "metadata", "labels"),
        "common.k8s.elastic.co/type": "kibana",
        "kibana.k8s.elastic.co/name": name,
    }
    count = _count(raw, ("spec", "count"), 0)
    port: Port = (5601, _http_scheme(raw), "TCP")
    return [PodGroup(f"{name}-kb", count, labels, (port,), stateful=False)]


# --- Strimzi (kafka.strimzi.io) ----------------------------------------------------------------
# strimzi-kafka-operator operator-common .../model/Labels.java (generateDefaultLabels),
# api .../kafka/KafkaResources.java (pod names), cluster-operator .../model/KafkaCluster.java
# (getContainerPortList: 8443, 9090 on controllers, 9091 and the listeners on brokers),
# KafkaPool.java (pool labels), ListenersUtils.java (listener port names), EntityOperator.java;
# ZooKeeper's ports from ZookeeperCluster.java as it was before ZooKeeper support was removed.
# Node IDs (nodepools/NodeIdAssignor.java): a pool keeps the IDs its status lists; new pools
# take the lowest free IDs, pool by pool in the order the API lists them (by name). The
# `strimzi.io/next-node-ids` annotation, which can change that, is not read.

_STRIMZI_MANAGED_BY = "strimzi-cluster-operator"


def _strimzi_labels(
    own: Mapping[str, str], cluster: str, component: str, component_type: str
) -> dict[str, str]:
    return {
        **own,
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": f"{cluster}-{component}",
        "strimzi.io/cluster": cluster,
        "strimzi.io/component-type": component_type,
        _NAME: component_type,
        _INSTANCE: cluster,
        "app.kubernetes.io/part-of": f"strimzi-{cluster}",
        _MANAGED_BY: _STRIMZI_MANAGED_BY,
    }


def _listener_ports(raw: Mapping[str, Any]) -> tuple[Port, ...]:
    listeners = _dig(raw, "spec", "kafka", "listeners") or []
    ports = []
    for listener in listeners if isinstance(listeners, list) else []:
        if not isinstance(listener, Mapping):
            continue
        number, name, kind = listener.get("port"), listener.get("name"), listener.get("type")
        if isinstance(number, bool) or not isinstance(number, int) or not isinstance(name, str):
            continue
        legacy = {(9092, "plain"): "tcp-clients", (9093, "tls"): "tcp-clientstls"}
        port_name = legacy.get((number, name)) if kind == "internal" else None
        if number == 9094 and name == "external":
            port_name = "tcp-external"
        ports.append((number, port_name or f"tcp-{name}", "TCP"))
    return tuple(ports)


def _kafka_ports(raw: Mapping[str, Any], broker: bool, controller: bool) -> tuple[Port, ...]:
    ports: list[Port] = [(8443, "tcp-kafkaagent", "TCP")]
    if controller:
        ports.append((9090, "tcp-ctrlplane", "TCP"))
    if broker:
        ports.append((9091, "tcp-replication", "TCP"))
        ports.extend(_listener_ports(raw))
    return tuple(ports)


def _status_ids(pool: Mapping[str, Any]) -> tuple[str, tuple[int, ...]]:
    """A pool's name and the node IDs its status lists (a dump of a running cluster)."""
    ids = _dig(pool, "status", "nodeIds")
    valid = isinstance(ids, list) and all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= _INT32_MAX for i in ids
    )
    return _name(pool), tuple(sorted(set(ids))) if valid and isinstance(ids, list) else ()


def _lowest_free(taken: set[int], count: int) -> tuple[int, ...]:
    """The `count` lowest node IDs not in `taken`."""
    if count > _MAX_NODE_IDS:
        raise ValueError(f"a node pool of {count:,} pods is more than kaudit expands")
    found: list[int] = []
    candidate = 0
    while len(found) < count:
        if candidate not in taken:
            found.append(candidate)
        candidate += 1
    return tuple(found)


def _strimzi_pod_name(name: str, _: int) -> Mapping[str, str]:
    return {"strimzi.io/pod-name": name}


def _kafka(raw: Mapping[str, Any], related: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    cluster = _name(raw)
    own = {k: v for k, v in _labels(raw, "metadata", "labels").items() if "strimzi.io/" not in k}
    pods_labels = _labels(raw, "spec", "kafka", "template", "pod", "metadata", "labels")
    groups = []
    pools = sorted(
        (
            pool
            for pool in related
            if _dig(pool, "kind") == "KafkaNodePool"
            and _dig(pool, "metadata", "labels", "strimzi.io/cluster") == cluster
        ),
        key=_name,
    )
    assigned = {pool_name: ids for pool_name, ids in map(_status_ids, pools) if ids}
    taken = {i for ids in assigned.values() for i in ids}
    for pool in pools:
        pool_name = _name(pool)
        roles = _dig(pool, "spec", "roles")
        roles = set(roles) if isinstance(roles, list) else set()
        broker, controller = "broker" in roles, "controller" in roles
        pool_own = {
            k: v for k, v in _labels(pool, "metadata", "labels").items() if "strimzi.io/" not in k
        }
        labels = {
            **pods_labels,
            **_labels(pool, "spec", "template", "pod", "metadata", "labels"),
            **_strimzi_labels(pool_own, cluster, "kafka", "kafka"),
            "strimzi.io/pool-name": pool_name,
            "strimzi.io/broker-role": str(broker).lower(),
            "strimzi.io/controller-role": str(controller).lower(),
        }
        count = _count(pool, ("spec", "replicas"), 0)
        ids = assigned.get(pool_name)
        if ids is None or len(ids) != count:
            ids = _lowest_free(taken, count)
            taken.update(ids)
        ports = _kafka_ports(raw, broker, controller)
        groups.append(
            PodGroup(
                f"{cluster}-{pool_name}",
                count,
                labels,
                ports,
                stateful=True,
                pod_labels=_strimzi_pod_name,
                ids=ids,
            )
        )
    if not pools and _dig(raw, "spec", "kafka", "replicas") is not None:
        # Before node pools: brokers NAME-kafka-i beside a ZooKeeper ensemble.
        labels = {**pods_labels, **_strimzi_labels(own, cluster, "kafka", "kafka")}
        count = _count(raw, ("spec", "kafka", "replicas"), 0)
        ports = _kafka_ports(raw, broker=True, controller=True)
        groups.append(PodGroup(f"{cluster}-kafka", count, labels, ports, stateful=True))
    if _dig(raw, "spec", "zookeeper") is not None:
        labels = {
            **_labels(raw, "spec", "zookeeper", "template", "pod", "metadata", "labels"),
            **_strimzi_labels(own, cluster, "zookeeper", "zookeeper"),
        }
        zk_ports: tuple[Port, ...] = (
            (2181, "tcp-clients", "TCP"),
            (2888, "tcp-clustering", "TCP"),
            (3888, "tcp-election", "TCP"),
        )
        count = _count(raw, ("spec", "zookeeper", "replicas"), 0)
        groups.append(PodGroup(f"{cluster}-zookeeper", count, labels, zk_ports))
    if _dig(raw, "spec", "entityOperator") is not None:
        labels = {
            **_labels(raw, "spec", "entityOperator", "template", "pod", "metadata", "labels"),
            **_strimzi_labels(own, cluster, "entity-operator", "entity-operator"),
        }
        groups.append(PodGroup(f"{cluster}-entity-operator", 1, labels, stateful=False))
    return groups


# --- CloudNativePG (postgresql.cnpg.io) --------------------------------------------------------
# cloudnative-pg pkg/specs/pods.go (pod NAME-SERIAL from 1, its labels and ports),
# pkg/utils/labels_annotations.go, pkg/management/url/url.go (9187 metrics, 8000 status),
# api/v1/cluster_types.go (instances defaults to 1). The instance manager labels the
# primary `role=primary` (and `cnpg.io/instanceRole`); the first instance is taken as it.


def _cnpg_role(name: str, serial: int) -> Mapping[str, str]:
    role = "primary" if serial == 1 else "replica"
    return {"cnpg.io/instanceName": name, "role": role, "cnpg.io/instanceRole": role}


def _cnpg_cluster(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    labels = {
        **_labels(raw, "spec", "inheritedMetadata", "labels"),
        "cnpg.io/cluster": name,
        "cnpg.io/podRole": "instance",
        _NAME: "postgresql",
        _INSTANCE: name,
        "app.kubernetes.io/component": "database",
        _MANAGED_BY: "cloudnative-pg",
    }
    ports: tuple[Port, ...] = (
        (5432, "postgresql", "TCP"),
        (9187, "metrics", "TCP"),
        (8000, "status", "TCP"),
    )
    count = _count(raw, ("spec", "instances"), 1)
    return [PodGroup(name, count, labels, ports, first=1, stateful=False, pod_labels=_cnpg_role)]


# --- RabbitMQ cluster operator (rabbitmq.com) --------------------------------------------------
# rabbitmq/cluster-operator internal/metadata/label.go (GetLabels: the resource's own labels
# but app.kubernetes.io/*), internal/resource/statefulset.go (StatefulSet NAME-server, the
# default ports), api/v1beta1/rabbitmqcluster_types.go (replicas defaults to 1).


def _rabbitmq(raw: Mapping[str, Any], _: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    name = _name(raw)
    own = {
        k: v
        for k, v in _labels(raw, "metadata", "labels").items()
        if not k.startswith("app.kubernetes.io")
    }
    labels = {
        **own,
        _NAME: name,
        "app.kubernetes.io/component": "rabbitmq",
        "app.kubernetes.io/part-of": "rabbitmq",
    }
    ports: tuple[Port, ...] = (
        (4369, "epmd", "TCP"),
        (5672, "amqp", "TCP"),
        (15672, "management", "TCP"),
        (15692, "prometheus", "TCP"),
    )
    return [PodGroup(f"{name}-server", _count(raw, ("spec", "replicas"), 1), labels, ports)]


def _elasticsearch_services(raw: Mapping[str, Any]) -> list[ServicePlan]:
    # cloud-on-k8s pkg/controller/elasticsearch/services/services.go (NewExternalService).
    name, scheme = _name(raw), _http_scheme(raw)
    selector = {"common.k8s.elastic.co/type": "elasticsearch", _ES_CLUSTER: name}
    return [ServicePlan(f"{name}-es-http", selector, ((scheme, 9200, 9200, "TCP"),))]


def _kibana_services(raw: Mapping[str, Any]) -> list[ServicePlan]:
    # cloud-on-k8s pkg/controller/kibana (the HTTP Service selects NewLabels).
    name, scheme = _name(raw), _http_scheme(raw)
    selector = {"common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": name}
    return [ServicePlan(f"{name}-kb-http", selector, ((scheme, 5601, 5601, "TCP"),))]


def _cnpg_services(raw: Mapping[str, Any]) -> list[ServicePlan]:
    # cloudnative-pg pkg/specs/services.go: -rw the primary, -ro the replicas, -r every instance.
    name = _name(raw)
    ports = (("postgres", 5432, 5432, "TCP"),)
    return [
        ServicePlan(
            f"{name}-rw", {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "primary"}, ports
        ),
        ServicePlan(
            f"{name}-ro", {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "replica"}, ports
        ),
        ServicePlan(f"{name}-r", {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}, ports),
    ]


def _rabbitmq_services(raw: Mapping[str, Any]) -> list[ServicePlan]:
    # rabbitmq/cluster-operator internal/resource/service.go: the client Service, named after
    # the cluster, selecting metadata.LabelSelector (app.kubernetes.io/name).
    name = _name(raw)
    ports = (
        ("amqp", 5672, 5672, "TCP"),
        ("management", 15672, 15672, "TCP"),
        ("prometheus", 15692, 15692, "TCP"),
    )
    return [ServicePlan(name, {_NAME: name}, ports)]


Planner = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], list[PodGroup]]

# (API group, kind) -> the planner of its pods. KafkaNodePools are read by their Kafka.
PLANNERS: Mapping[tuple[str, str], Planner] = {
    ("monitoring.coreos.com", "Prometheus"): _prometheus,
    ("monitoring.coreos.com", "Alertmanager"): _alertmanager,
    ("monitoring.coreos.com", "ThanosRuler"): _thanos_ruler,
    ("elasticsearch.k8s.elastic.co", "Elasticsearch"): _elasticsearch,
    ("kibana.k8s.elastic.co", "Kibana"): _kibana,
    ("kafka.strimzi.io", "Kafka"): _kafka,
    ("postgresql.cnpg.io", "Cluster"): _cnpg_cluster,
    ("rabbitmq.com", "RabbitmqCluster"): _rabbitmq,
}


# (API group, kind) -> the Services its operator creates. Strimzi's bootstrap and broker
# Services (ports from the listeners) and the headless Services of ECK, CloudNativePG and
# RabbitMQ are not derived.
SERVICE_PLANNERS: Mapping[tuple[str, str], ServicePlanner] = {
    ("monitoring.coreos.com", "Prometheus"): _governing(
        "prometheus", (("web", 9090, "web", "TCP"),)
    ),
    ("monitoring.coreos.com", "Alertmanager"): _governing(
        "alertmanager",
        (
            ("web", 9093, "web", "TCP"),
            ("tcp-mesh", 9094, "mesh-tcp", "TCP"),
            ("udp-mesh", 9094, "mesh-udp", "UDP"),
        ),
    ),
    ("monitoring.coreos.com", "ThanosRuler"): _governing(
        "thanos-ruler", (("web", 10902, "web", "TCP"), ("grpc", 10901, "grpc", "TCP"))
    ),
    ("elasticsearch.k8s.elastic.co", "Elasticsearch"): _elasticsearch_services,
    ("kibana.k8s.elastic.co", "Kibana"): _kibana_services,
    ("postgresql.cnpg.io", "Cluster"): _cnpg_services,
    ("rabbitmq.com", "RabbitmqCluster"): _rabbitmq_services,
}


def plan(raw: Mapping[str, Any], related: Sequence[Mapping[str, Any]]) -> list[PodGroup]:
    """The pod groups the operator of `raw` runs ([] for a kind that creates none itself).

    `related` holds the other custom resources of the same namespace (a Kafka's node
    pools). Raises ValueError naming the field when the spec is not what the operator
    accepts.
    """
    planner = PLANNERS.get((api_group(str(raw.get("apiVersion") or "")), str(raw.get("kind"))))
    if planner is None:
        return []
    if not _name(raw):
        raise ValueError("metadata.name: missing (the operator names its pods after it)")
    return planner(raw, related)


def operator_pods(
    raw: Mapping[str, Any], namespace: str, groups: Iterable[PodGroup], origin: Origin
) -> list[Pod]:
    """The pods of `groups`, owned (for findings) by the custom resource `raw`."""
    workload = Workload(str(raw.get("kind")), _name(raw))
    pods = []
    for group in groups:
        image = _dig(raw, "spec", "image")
        containers = [
            {
                "name": "main",
                **({"image": image} if isinstance(image, str) and image else {}),
                "ports": [
                    {"containerPort": number, "name": name, "protocol": protocol}
                    for number, name, protocol in group.ports
                ],
            }
        ]
        for pod_name, index in group.names():
            labels = dict(group.labels)
            if group.stateful:
                labels[STATEFULSET_POD_NAME_LABEL] = pod_name
                labels[POD_INDEX_LABEL] = str(index)
            if group.pod_labels is not None:
                labels.update(group.pod_labels(pod_name, index))
            raw_pod = {
                "metadata": {"name": pod_name, "namespace": namespace, "labels": labels},
                "spec": {"containers": containers},
            }
            pods.append(Pod.from_raw(raw_pod, origin, workload=workload, from_template=True))
    return pods


def operator_services(
    resources: Iterable[tuple[Mapping[str, Any], str, Origin]],
) -> list[Service]:
    """The Services the operators create for the resources given as (object, namespace,
    origin), once per name and namespace."""
    services: dict[tuple[str, str], Service] = {}
    for raw, namespace, origin in resources:
        key = (api_group(str(raw.get("apiVersion") or "")), str(raw.get("kind")))
        planner = SERVICE_PLANNERS.get(key)
        for service in planner(raw) if planner is not None and _name(raw) else ():
            if (namespace, service.name) in services:
                continue
            spec: dict[str, Any] = {
                "selector": dict(service.selector),
                "ports": [
                    {"name": name, "port": port, "targetPort": target, "protocol": protocol}
                    for name, port, target, protocol in service.ports
                ],
            }
            if service.headless:
                spec["clusterIP"] = "None"
            raw_service = {"metadata": {"name": service.name, "namespace": namespace}, "spec": spec}
            services[(namespace, service.name)] = Service.from_raw(raw_service, origin)
    return list(services.values())
