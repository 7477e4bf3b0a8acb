"""Each kind built from a raw API object: the fields kaudit reads and the API's defaults."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kaudit.model import (
    LIVE,
    ContainerPort,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    Ingress,
    IngressBackend,
    IngressClass,
    IPBlock,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Origin,
    Pod,
    PolicyPeer,
    PolicyPort,
    Protocol,
    Requirement,
    Service,
    ServicePort,
    Workload,
    wire,
)

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-5d8f7-x2x9z",
        "namespace": "shop",
        "uid": "1234",
        "labels": {"app": "web", "pod-template-hash": "5d8f7"},
        "annotations": {"note": "x"},
        "ownerReferences": [
            {"kind": "ReplicaSet", "name": "web-5d8f7", "controller": True},
        ],
        "managedFields": [{"manager": "kubectl"}],
    },
    "spec": {
        "initContainers": [{"name": "init", "ports": [{"containerPort": 9000}]}],
        "containers": [
            {
                "name": "app",
                "image": "nginx",
                "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"containerPort": 53, "protocol": "udp", "hostPort": 5353},
                    {"name": "no-number"},
                ],
            }
        ],
        "hostNetwork": True,
        "nodeName": "node-1",
        "dnsPolicy": "Default",
        "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.9",
        "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}],
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
    },
}


def test_pod_reads_every_field() -> None:
    origin = Origin("pods.yaml", 3, 0)
    pod = Pod.from_raw(POD, origin)

    assert (pod.namespace, pod.name) == ("shop", "web-5d8f7-x2x9z")
    assert dict(pod.labels) == {"app": "web", "pod-template-hash": "5d8f7"}
    assert dict(pod.annotations) == {"note": "x"}
    assert pod.ports == (
        ContainerPort(9000, Protocol.TCP, None, None, "init"),
        ContainerPort(8080, Protocol.TCP, "http", None, "app"),
        ContainerPort(53, Protocol.UDP, None, 5353, "app"),
    )
    assert pod.host_network is True
    assert pod.node_name == "node-1"
    assert pod.pod_ips == ("10.0.0.9", "fd00::9")
    assert pod.phase == "Running"
    assert pod.ready is True
    assert pod.dns_policy == "Default"
    assert pod.ndots == 2
    # The ReplicaSet named <deployment>-<pod-template-hash> stands for its Deployment.
    assert pod.workload == Workload("Deployment", "web")
    assert pod.origin == origin
    assert pod.named_port("http", Protocol.TCP) == 8080
    assert pod.named_port("http", Protocol.UDP) is None


def test_pod_defaults_for_a_bare_object() -> None:
    pod = Pod.from_raw({"metadata": {"name": "p"}})

    assert pod.namespace == "default"
    assert pod.ports == ()
    assert pod.host_network is False
    assert pod.node_name is None
    assert pod.pod_ips == ()
    assert (pod.phase, pod.ready) == ("Pending", False)
    assert pod.dns_policy == "ClusterFirst"
    assert pod.ndots is None
    assert pod.workload is None
    assert pod.owner == Workload("Pod", "p")
    assert pod.origin is LIVE


def test_pod_from_a_template_runs_and_is_ready() -> None:
    pod = Pod.from_raw(
        {"metadata": {"name": "api"}, "spec": {"containers": [{"name": "c"}]}},
        workload=Workload("Deployment", "api"),
        from_template=True,
    )
    assert (pod.phase, pod.ready, pod.from_template) == ("Running", True, True)
    assert pod.owner == Workload("Deployment", "api")


def test_pod_single_ip_status_and_other_owners() -> None:
    raw = {
        "metadata": {
            "name": "job-x",
            "ownerReferences": [
                {"kind": "Node", "name": "n", "controller": False},
                {"kind": "Job", "name": "nightly-1700", "controller": True},
            ],
        },
        "status": {"podIP": "10.1.1.1", "conditions": [{"type": "Ready", "status": "False"}]},
    }
    pod = Pod.from_raw(raw)
    assert pod.pod_ips == ("10.1.1.1",)
    assert pod.ready is False
    assert pod.workload == Workload("Job", "nightly-1700")


def test_namespace_gets_its_name_label() -> None:
    ns = Namespace.from_raw({"metadata": {"name": "shop", "labels": {"team": "a"}}})
    assert dict(ns.labels) == {"team": "a", "kubernetes.io/metadata.name": "shop"}
    assert Namespace.implicit("x").labels == {"kubernetes.io/metadata.name": "x"}


def test_service_ports_defaults_and_load_balancer() -> None:
    raw = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "web"},
            "clusterIP": "10.96.0.10",
            "externalIPs": ["1.2.3.4"],
            "loadBalancerSourceRanges": ["10.0.0.0/8"],
            "loadBalancerClass": "lb.example/x",
            "allocateLoadBalancerNodePorts": False,
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                {"port": 53, "protocol": "UDP", "targetPort": 5353},
                {"port": 443},
                {"name": "no-port"},
            ],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example"}]}},
    }
    svc = Service.from_raw(raw)

    assert svc.type == "LoadBalancer"
    assert dict(svc.selector) == {"app": "web"}
    assert svc.ports == (
        ServicePort(80, "http", Protocol.TCP, "http", 30080),
        ServicePort(53, 5353, Protocol.UDP, None, None),
        ServicePort(443, None, Protocol.TCP, None, None),
    )
    assert svc.ports[2].effective_target == 443
    assert svc.cluster_ip == "10.96.0.10"
    assert svc.external_ips == ("1.2.3.4",)
    assert svc.load_balancer_source_ranges == ("10.0.0.0/8",)
    assert svc.load_balancer_class == "lb.example/x"
    assert svc.allocate_load_balancer_node_ports is False
    assert svc.load_balancer_ingress == ("5.6.7.8", "lb.example")


def test_service_defaults_and_selection() -> None:
    svc = Service.from_raw({"metadata": {"name": "s"}, "spec": {"clusterIP": "None"}})
    assert (svc.type, svc.namespace, svc.headless) == ("ClusterIP", "default", True)
    assert svc.allocate_load_balancer_node_ports is True
    assert not svc.has_selector

    selecting = Service.from_raw(
        {"metadata": {"name": "s", "namespace": "a"}, "spec": {"selector": {"app": "x"}}}
    )
    in_a = Pod.from_raw({"metadata": {"name": "p", "namespace": "a", "labels": {"app": "x"}}})
    in_b = Pod.from_raw({"metadata": {"name": "p", "namespace": "b", "labels": {"app": "x"}}})
    assert selecting.selects(in_a)
    assert not selecting.selects(in_b)
    assert not svc.selects(in_a)  # a selector-less Service selects nothing


@pytest.mark.parametrize("port", ["80", "eighty", 0, 65536])
def test_a_port_that_is_not_a_number_in_range_is_a_value_error(port: object) -> None:
    """As the API server validates a Service port: an int32 from 1 to 65535, not a string."""
    with pytest.raises(ValueError, match=r"spec.ports\[0\].port: .* is not a port number"):
        Service.from_raw({"metadata": {"name": "s"}, "spec": {"ports": [{"port": port}]}})


@pytest.mark.parametrize(
    ("target", "accepted"),
    [
        (8080, True),
        ("http", True),
        ("web-api", True),
        ("8080", False),
        ("-x", False),
        ("a--b", False),
        ("UPPER", False),
        ("x" * 16, False),
    ],
)
def test_target_ports_are_numbers_or_iana_names(target: object, accepted: bool) -> None:
    raw = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": target}]}}
    if accepted:
        assert Service.from_raw(raw).ports[0].target_port == target
    else:
        with pytest.raises(ValueError, match="is not a valid port name"):
            Service.from_raw(raw)


def test_endpoint_slice_conditions_and_ports() -> None:
    raw = {
        "metadata": {
            "name": "web-abc",
            "namespace": "shop",
            "labels": {
                "kubernetes.io/service-name": "web",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
        },
        "addressType": "IPv6",
        "endpoints": [
            {"addresses": ["fd00::1"], "targetRef": {"kind": "Pod", "name": "web-1"}},
            {
                "addresses": ["fd00::2"],
                "conditions": {"ready": False, "serving": True, "terminating": True},
            },
        ],
        "ports": [{"name": "http", "port": 8080}, {"protocol": "UDP"}],
    }
    es = EndpointSlice.from_raw(raw)

    assert es.service_name == "web"
    assert es.managed_by == "endpointslice-controller.k8s.io"
    assert es.address_type == "IPv6"
    assert es.endpoints == (
        Endpoint(("fd00::1",), True, True, False, "web-1"),
        Endpoint(("fd00::2",), False, True, True, None),
    )
    assert es.ports == (EndpointPort(8080, Protocol.TCP, "http"), EndpointPort(None, Protocol.UDP))
    assert es.derived is False


def test_core_endpoints_become_a_slice() -> None:
    raw = {
        "metadata": {"name": "web", "namespace": "shop"},
        "subsets": [
            {
                "addresses": [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": "web-1"}}],
                "notReadyAddresses": [{"ip": "10.0.0.2"}],
                "ports": [{"port": 80}, {"port": 80}],
            }
        ],
    }
    es = EndpointSlice.from_endpoints(raw)

    assert (es.service_name, es.address_type, es.managed_by) == (
        "web",
        "IPv4",
        "core/v1 Endpoints",
    )
    assert es.endpoints == (
        Endpoint(("10.0.0.1",), True, True, False, "web-1"),
        Endpoint(("10.0.0.2",), False, False, False, None),
    )
    assert es.ports == (EndpointPort(80),)  # duplicates across subsets collapse


def test_network_policy_rules_peers_and_ports() -> None:
    raw = {
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [
                {
                    "from": [
                        {"podSelector": {}},
                        {
                            "namespaceSelector": {"matchLabels": {"team": "a"}},
                            "podSelector": {
                                "matchExpressions": [
                                    {"key": "tier", "operator": "In", "values": ["web", "api"]}
                                ]
                            },
                        },
                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                    ],
                    "ports": [
                        {"port": 5432},
                        {"port": "metrics", "protocol": "TCP"},
                        {"port": 8000, "endPort": 8100, "protocol": "SCTP"},
                    ],
                }
            ],
            "egress": [{}],
        },
    }
    policy = NetworkPolicy.from_raw(raw)

    assert policy.pod_selector == LabelSelector({"app": "db"})
    assert policy.policy_types == {"Ingress", "Egress"}  # egress rules add Egress
    [rule] = policy.ingress
    assert rule.peers == (
        PolicyPeer(pod_selector=LabelSelector()),
        PolicyPeer(
            pod_selector=LabelSelector(
                match_expressions=(Requirement("tier", "In", frozenset({"web", "api"})),)
            ),
            namespace_selector=LabelSelector({"team": "a"}),
        ),
        PolicyPeer(ip_block=IPBlock("10.0.0.0/8", ("10.1.0.0/16",))),
    )
    assert rule.ports == (
        PolicyPort(Protocol.TCP, 5432),
        PolicyPort(Protocol.TCP, "metrics"),
        PolicyPort(Protocol.SCTP, 8000, 8100),
    )
    assert len(policy.egress) == 1
    assert policy.egress[0].peers == ()
    assert policy.egress[0].ports == ()


def test_network_policy_types_default_and_declared() -> None:
    ingress_only = NetworkPolicy.from_raw({"metadata": {"name": "p"}, "spec": {"podSelector": {}}})
    assert ingress_only.policy_types == {"Ingress"}
    assert ingress_only.affects_ingress and not ingress_only.affects_egress
    assert ingress_only.pod_selector.is_empty

    declared = NetworkPolicy.from_raw(
        {"metadata": {"name": "p"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
    )
    assert declared.policy_types == {"Egress"}
    assert declared.ingress == ()


def test_unknown_selector_operator_is_refused() -> None:
    raw = {
        "metadata": {"name": "p"},
        "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}},
    }
    with pytest.raises(ValueError, match="unknown label selector operator 'Equals'"):
        NetworkPolicy.from_raw(raw)


def test_ingress_backends_hosts_and_tls() -> None:
    raw = {
        "metadata": {
            "name": "shop",
            "namespace": "shop",
            "annotations": {"kubernetes.io/ingress.class": "nginx"},
        },
        "spec": {
            "ingressClassName": "public",
            "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
            "rules": [
                {
                    "host": "shop.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/api",
                                "backend": {"service": {"name": "api", "port": {"name": "http"}}},
                            },
                            {
                                "path": "/static",
                                "backend": {"resource": {"kind": "Bucket", "name": "assets"}},
                            },
                        ]
                    },
                },
                {"http": {"paths": [{"backend": {"service": {"name": "any"}}}]}},
            ],
            "tls": [{"hosts": ["shop.example"]}, {}],
        },
    }
    ingress = Ingress.from_raw(raw)

    assert ingress.ingress_class_name == "public"
    assert ingress.legacy_class == "nginx"
    assert ingress.hosts == ("shop.example",)
    assert ingress.tls_hosts == (("shop.example",), ())
    assert ingress.backends == (
        IngressBackend("fallback", port_number=80),
        IngressBackend("api", port_name="http", host="shop.example", path="/api"),
        IngressBackend(None, resource="Bucket/assets", host="shop.example", path="/static"),
        IngressBackend("any"),
    )
    assert [b.port_text for b in ingress.backends] == ["80", "http", "?", "?"]


def test_an_empty_default_backend_is_no_backend() -> None:
    ingress = Ingress.from_raw({"metadata": {"name": "i"}, "spec": {"defaultBackend": {}}})
    assert ingress.backends == ()
    assert ingress.ingress_class_name is None


def test_ingress_class_default_annotation() -> None:
    default = IngressClass.from_raw(
        {
            "metadata": {
                "name": "nginx",
                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
            },
            "spec": {"controller": "k8s.io/ingress-nginx"},
        }
    )
    assert (default.name, default.controller, default.is_default) == (
        "nginx",
        "k8s.io/ingress-nginx",
        True,
    )
    other = IngressClass.from_raw({"metadata": {"name": "x"}})
    assert (other.controller, other.is_default) == ("", False)


def test_from_raw_and_from_wire_agree() -> None:
    decoded = msgspec.json.decode(msgspec.json.encode(POD), type=wire.Pod)
    assert Pod.from_wire(decoded) == Pod.from_raw(POD)


def test_a_field_of_the_wrong_type_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"\$\.metadata\.labels"):
        Pod.from_raw({"metadata": {"name": "p", "labels": ["app"]}})


def test_pods_keep_their_containers_images_not_their_init_containers() -> None:
    pod = Pod.from_raw(
        {
            "metadata": {"name": "p", "namespace": "x"},
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                "containers": [
                    {"name": "db", "image": "postgres:16"},
                    {"name": "sidecar"},
                    {"name": "exporter", "image": "prometheuscommunity/postgres-exporter"},
                ],
            },
        }
    )
    assert pod.images == ("postgres:16", "prometheuscommunity/postgres-exporter")
