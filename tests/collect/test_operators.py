"""Custom resources of known operators expanded into the pods the operators run."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.audit import audit
from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.model import Pod, Snapshot

KUBE_PROMETHEUS = Path(__file__).parent / "data" / "kube-prometheus"


def load(tmp_path: Path, text: str) -> Snapshot:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    return load_manifests([str(path)])


def pods_by_name(snapshot: Snapshot) -> dict[str, Pod]:
    return {p.name: p for p in snapshot.pods}


def ports(pod: Pod) -> set[tuple[int, str | None, str]]:
    return {(p.container_port, p.name, str(p.protocol)) for p in pod.ports}


def test_prometheus_runs_replicas_per_shard_with_the_operator_labels(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec:
  replicas: 2
  shards: 2
  podMetadata: {labels: {app.kubernetes.io/part-of: kube-prometheus}}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == [
        "prometheus-k8s-0",
        "prometheus-k8s-1",
        "prometheus-k8s-shard-1-0",
        "prometheus-k8s-shard-1-1",
    ]
    first = pods["prometheus-k8s-1"]
    assert dict(first.labels) == {
        "app.kubernetes.io/part-of": "kube-prometheus",
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/managed-by": "prometheus-operator",
        "app.kubernetes.io/instance": "k8s",
        "prometheus": "k8s",
        "operator.prometheus.io/name": "k8s",
        "operator.prometheus.io/shard": "0",
        "statefulset.kubernetes.io/pod-name": "prometheus-k8s-1",
        "apps.kubernetes.io/pod-index": "1",
    }
    assert pods["prometheus-k8s-shard-1-0"].labels["operator.prometheus.io/shard"] == "1"
    assert ports(first) == {(9090, "web", "TCP"), (8080, "reloader-web", "TCP")}
    assert str(first.owner) == "Prometheus/k8s"
    # The governing Service the operator creates in the namespace.
    (service,) = snapshot.services
    assert (service.name, dict(service.selector)) == (
        "prometheus-operated",
        {"app.kubernetes.io/name": "prometheus"},
    )


def test_alertmanager_and_thanos_ruler_ports_and_default_replicas(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: monitoring}
spec: {portName: http}
---
apiVersion: monitoring.coreos.com/v1
kind: ThanosRuler
metadata: {name: tr, namespace: monitoring}
spec: {replicas: 0}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == ["alertmanager-main-0"]
    assert ports(pods["alertmanager-main-0"]) == {
        (9093, "http", "TCP"),
        (8080, "reloader-web", "TCP"),
        (9094, "mesh-tcp", "TCP"),
        (9094, "mesh-udp", "UDP"),
    }
    assert pods["alertmanager-main-0"].labels["alertmanager"] == "main"
    services = {s.name: s for s in snapshot.services}
    assert sorted(services) == ["alertmanager-operated", "thanos-ruler-operated"]
    targets = [(p.port, p.effective_target) for p in services["alertmanager-operated"].ports]
    assert targets == [(9093, "http"), (9094, "mesh-tcp"), (9094, "mesh-udp")]


def test_elasticsearch_node_sets_and_kibana(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: elasticsearch.k8s.elastic.co/v1
kind: Elasticsearch
metadata: {name: quickstart, namespace: elastic}
spec:
  http: {tls: {selfSignedCertificate: {disabled: true}}}
  nodeSets:
  - {name: masters, count: 3, config: {node.roles: [master]}}
  - name: data
    count: 2
    podTemplate: {metadata: {labels: {tier: hot}}}
  - {name: spare}
---
apiVersion: kibana.k8s.elastic.co/v1
kind: Kibana
metadata: {name: quickstart, namespace: elastic}
spec: {count: 1}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == [
        "quickstart-es-data-0",
        "quickstart-es-data-1",
        "quickstart-es-masters-0",
        "quickstart-es-masters-1",
        "quickstart-es-masters-2",
        "quickstart-kb",
    ]
    master, data = pods["quickstart-es-masters-0"], pods["quickstart-es-data-1"]
    assert master.labels["elasticsearch.k8s.elastic.co/cluster-name"] == "quickstart"
    assert master.labels["elasticsearch.k8s.elastic.co/statefulset-name"] == "quickstart-es-masters"
    assert master.labels["elasticsearch.k8s.elastic.co/node-master"] == "true"
    assert master.labels["elasticsearch.k8s.elastic.co/node-data"] == "false"
    assert data.labels["elasticsearch.k8s.elastic.co/node-data"] == "true"
    assert data.labels["tier"] == "hot"
    assert ports(data) == {(9200, "http", "TCP"), (9300, "transport", "TCP")}
    kibana = pods["quickstart-kb"]
    assert dict(kibana.labels) == {
        "common.k8s.elastic.co/type": "kibana",
        "kibana.k8s.elastic.co/name": "quickstart",
    }
    assert ports(kibana) == {(5601, "https", "TCP")}
    assert str(kibana.owner) == "Kibana/quickstart"
    # The HTTP Services the operator creates, which clients and Ingresses address.
    endpoints = {
        s.service_name: [e.target_pod for e in s.endpoints] for s in snapshot.endpoint_slices
    }
    assert endpoints == {
        "quickstart-es-http": [
            "quickstart-es-masters-0",
            "quickstart-es-masters-1",
            "quickstart-es-masters-2",
            "quickstart-es-data-0",
            "quickstart-es-data-1",
        ],
        "quickstart-kb-http": ["quickstart-kb"],
    }


def test_strimzi_node_pools_zookeeper_and_entity_operator(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata: {name: my-cluster, namespace: kafka}
spec:
  kafka:
    listeners:
    - {name: plain, port: 9092, type: internal, tls: false}
    - {name: secure, port: 9095, type: internal, tls: true}
  entityOperator: {topicOperator: {}}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata: {name: controller, namespace: kafka, labels: {strimzi.io/cluster: my-cluster}}
spec: {replicas: 1, roles: [controller]}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata: {name: broker, namespace: kafka, labels: {strimzi.io/cluster: my-cluster}}
spec: {replicas: 2, roles: [broker]}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata: {name: other, namespace: kafka, labels: {strimzi.io/cluster: another}}
spec: {replicas: 5, roles: [broker]}
""",
    )
    pods = pods_by_name(snapshot)
    # New pools take the lowest free node IDs in the order the API lists them (by name).
    assert sorted(pods) == [
        "my-cluster-broker-0",
        "my-cluster-broker-1",
        "my-cluster-controller-2",
        "my-cluster-entity-operator",
    ]
    broker = pods["my-cluster-broker-1"]
    assert broker.labels["strimzi.io/cluster"] == "my-cluster"
    assert broker.labels["strimzi.io/name"] == "my-cluster-kafka"
    assert broker.labels["strimzi.io/kind"] == "Kafka"
    assert broker.labels["strimzi.io/pool-name"] == "broker"
    assert broker.labels["strimzi.io/broker-role"] == "true"
    assert broker.labels["strimzi.io/controller-role"] == "false"
    assert broker.labels["strimzi.io/pod-name"] == "my-cluster-broker-1"
    assert ports(broker) == {
        (8443, "tcp-kafkaagent", "TCP"),
        (9091, "tcp-replication", "TCP"),
        (9092, "tcp-clients", "TCP"),
        (9095, "tcp-secure", "TCP"),
    }
    assert ports(pods["my-cluster-controller-2"]) == {
        (8443, "tcp-kafkaagent", "TCP"),
        (9090, "tcp-ctrlplane", "TCP"),
    }
    entity = pods["my-cluster-entity-operator"]
    assert entity.labels["strimzi.io/name"] == "my-cluster-entity-operator"


def test_strimzi_node_pools_keep_the_ids_their_status_lists(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata: {name: c, namespace: kafka}
spec: {kafka: {listeners: []}}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata: {name: a, namespace: kafka, labels: {strimzi.io/cluster: c}}
spec: {replicas: 2, roles: [broker]}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata: {name: b, namespace: kafka, labels: {strimzi.io/cluster: c}}
spec: {replicas: 2, roles: [broker, controller]}
status: {nodeIds: [0, 7]}
""",
    )
    assert sorted(p.name for p in snapshot.pods) == ["c-a-1", "c-a-2", "c-b-0", "c-b-7"]


def test_a_huge_node_pool_is_refused_at_once(tmp_path: Path) -> None:
    text = (
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata: {name: c}\n"
        "spec: {kafka: {listeners: []}}\n---\n"
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaNodePool\n"
        "metadata: {name: a, labels: {strimzi.io/cluster: c}}\n"
        "spec: {replicas: 2147483647, roles: [broker]}\n"
    )
    with pytest.raises(InputError, match="invalid Kafka c: a node pool of 2,147,483,647 pods"):
        load(tmp_path, text)


def test_strimzi_before_node_pools_runs_brokers_and_zookeeper(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata: {name: old, namespace: kafka}
spec:
  kafka: {replicas: 2, listeners: []}
  zookeeper: {replicas: 3}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == [
        "old-kafka-0",
        "old-kafka-1",
        "old-zookeeper-0",
        "old-zookeeper-1",
        "old-zookeeper-2",
    ]
    assert pods["old-zookeeper-1"].labels["strimzi.io/name"] == "old-zookeeper"
    assert (2181, "tcp-clients", "TCP") in ports(pods["old-zookeeper-1"])


def test_cloudnative_pg_instances_from_one_with_a_primary(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg, namespace: db}
spec: {instances: 3, inheritedMetadata: {labels: {team: payments}}}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == ["pg-1", "pg-2", "pg-3"]
    assert pods["pg-1"].labels["role"] == "primary"
    assert pods["pg-2"].labels["cnpg.io/instanceRole"] == "replica"
    assert pods["pg-3"].labels["cnpg.io/instanceName"] == "pg-3"
    assert pods["pg-3"].labels["cnpg.io/cluster"] == "pg"
    assert pods["pg-3"].labels["team"] == "payments"
    assert "statefulset.kubernetes.io/pod-name" not in pods["pg-3"].labels
    assert ports(pods["pg-1"]) == {
        (5432, "postgresql", "TCP"),
        (9187, "metrics", "TCP"),
        (8000, "status", "TCP"),
    }
    endpoints = {
        s.service_name: [e.target_pod for e in s.endpoints] for s in snapshot.endpoint_slices
    }
    assert endpoints == {
        "pg-rw": ["pg-1"],
        "pg-ro": ["pg-2", "pg-3"],
        "pg-r": ["pg-1", "pg-2", "pg-3"],
    }


def test_rabbitmq_cluster(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: rabbitmq.com/v1beta1
kind: RabbitmqCluster
metadata: {name: mq, namespace: q, labels: {team: a, app.kubernetes.io/name: ignored}}
spec: {replicas: 3}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == ["mq-server-0", "mq-server-1", "mq-server-2"]
    labels = dict(pods["mq-server-0"].labels)
    assert labels["app.kubernetes.io/name"] == "mq"
    assert labels["app.kubernetes.io/component"] == "rabbitmq"
    assert labels["team"] == "a"
    assert (5672, "amqp", "TCP") in ports(pods["mq-server-0"])
    (service,) = snapshot.services
    assert (service.name, dict(service.selector)) == ("mq", {"app.kubernetes.io/name": "mq"})


def test_a_service_of_the_input_stands_for_the_operators(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg, namespace: db}
spec: {instances: 1}
---
apiVersion: v1
kind: Service
metadata: {name: pg-rw, namespace: db}
spec: {selector: {cnpg.io/cluster: pg}, ports: [{port: 6432}]}
""",
    )
    services = {s.name: s for s in snapshot.services}
    assert sorted(services) == ["pg-r", "pg-ro", "pg-rw"]
    assert [p.port for p in services["pg-rw"].ports] == [6432]


def test_a_kind_of_another_group_is_not_expanded(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        "apiVersion: example.com/v1\nkind: Prometheus\nmetadata: {name: k8s, namespace: m}\n",
    )
    assert snapshot.pods == ()
    assert dict(snapshot.facts.ignored_kinds) == {"Prometheus.example.com": 1}
    assert dict(snapshot.facts.unexpanded_custom_resources) == {
        "m": ("Prometheus.example.com/k8s",)
    }


def test_pods_of_the_input_stand_for_themselves(tmp_path: Path) -> None:
    snapshot = load(
        tmp_path,
        """
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: monitoring}
spec: {replicas: 2}
---
apiVersion: v1
kind: Pod
metadata: {name: alertmanager-main-0, namespace: monitoring, labels: {real: "yes"}}
""",
    )
    pods = pods_by_name(snapshot)
    assert sorted(pods) == ["alertmanager-main-0", "alertmanager-main-1"]
    assert pods["alertmanager-main-0"].labels["real"] == "yes"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{replicas: -1}", "spec.replicas: -1 is not a number of pods"),
        ("{replicas: '3'}", "spec.replicas: '3' is not a number of pods"),
        ("{podMetadata: {labels: [a]}}", "spec.podMetadata.labels: expected a map of labels"),
        ("{shards: 1.5}", "spec.shards: 1.5 is not a number of pods"),
    ],
)
def test_a_bad_spec_is_one_line(tmp_path: Path, spec: str, message: str) -> None:
    text = f"apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {{name: k}}\nspec: {spec}\n"
    with pytest.raises(InputError) as error:
        load(tmp_path, text)
    assert "invalid Prometheus k" in str(error.value)
    assert message in str(error.value)


def test_a_resource_without_a_name_is_refused(tmp_path: Path) -> None:
    text = "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {namespace: m}\n"
    with pytest.raises(InputError, match=r"invalid Prometheus \(unnamed\): metadata.name: missing"):
        load(tmp_path, text)


def test_operator_pods_count_against_the_expansion_bound(tmp_path: Path) -> None:
    text = (
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg}\n"
        "spec: {instances: 2147483647}\n"
    )
    with pytest.raises(InputError, match="would run more than 150,000 pods"):
        load(tmp_path, text)


def test_kube_prometheus_services_and_policies_find_their_pods() -> None:
    """A trimmed copy of kube-prometheus: the Prometheus and Alertmanager resources, their
    Services and NetworkPolicies resolve to the operator's pods."""
    snapshot = load_manifests([str(KUBE_PROMETHEUS)])
    report = audit(snapshot)
    about = {
        ("Service", "prometheus-k8s"),
        ("Service", "alertmanager-main"),
        ("NetworkPolicy", "prometheus-k8s"),
        ("NetworkPolicy", "alertmanager-main"),
    }
    found = [
        (f.rule_name, f.resource.kind, f.resource.name)
        for f in report.findings
        if (f.resource.kind, f.resource.name) in about
    ]
    assert found == []
    slices = {s.service_name: s for s in snapshot.endpoint_slices}
    assert len(slices["prometheus-k8s"].endpoints) == 2
    assert len(slices["alertmanager-main"].endpoints) == 3
    # The Service's named target ports resolve on the operator's pods.
    assert [p.port for p in slices["prometheus-k8s"].ports] == [9090, 8080]
    # What remains is about the pods themselves (metadata reach, DNS), never a dead selector.
    assert {f.rule_name for f in report.findings if f.severity >= Severity.HIGH} == {
        "pod-metadata-reachable",
        "lateral-movement-open",
    }


def test_unknown_custom_resources_are_recorded_by_namespace(tmp_path: Path) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(
        "apiVersion: example.com/v1\nkind: Database\nmetadata: {name: db}\n---\n"
        "apiVersion: example.com/v1\nkind: Database\nmetadata: {name: db2, namespace: b}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\n"
    )
    one = load_manifests([str(path)], namespaces=["a"])
    assert dict(one.facts.unexpanded_custom_resources) == {
        "a": ("Database.example.com/db",),
        "b": ("Database.example.com/db2",),
    }
    # With several --namespace values the nameless one is no error: it stays in default.
    several = load_manifests([str(path)], namespaces=["a", "b"])
    assert "default" in several.facts.unexpanded_custom_resources
