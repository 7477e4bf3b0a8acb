"""Hand-built exposure inventories for the report tests: every way in, a hostile string,
and a big one for the graph's layout."""

from __future__ import annotations

from kaudit.exposure import DeadEnd, ExposedPort, ExposureEntry, ExposureInventory, Via
from kaudit.model import ObjectRef, Protocol

XSS_HOST = '<script>alert("x")</script>.example.com'


def entry(
    index: int,
    via: Via,
    *,
    namespace: str = "shop",
    host: str = "shop.example.com",
    tls: bool | None = None,
    admitted: bool | None = True,
    service: str | None = "web",
) -> ExposureEntry:
    workload = ObjectRef("Deployment", namespace, f"web-{index}")
    front: tuple[ObjectRef, ...] = ()
    if via is Via.INGRESS:
        front = (ObjectRef("Ingress", namespace, f"ing-{index}"),)
    elif via is Via.GATEWAY:
        front = (ObjectRef("Gateway", "infra", "public"), ObjectRef("HTTPRoute", namespace, "r"))
    services = (ObjectRef("Service", namespace, service),) if service else ()
    routed = via in (Via.INGRESS, Via.GATEWAY)
    return ExposureEntry(
        namespace=namespace,
        workload=workload,
        via=via,
        entry=host if routed else f"203.0.113.{index % 250}",
        ports=(ExposedPort(443 if tls else 80, Protocol.TCP, 8080),),
        tls=tls,
        admitted_by_policy=admitted,
        path=(*front, *services, workload),
        pods=2,
        notes=("sources: any address",),
    )


def sample_inventory() -> ExposureInventory:
    return ExposureInventory(
        entries=(
            entry(1, Via.LOAD_BALANCER, admitted=True),
            entry(2, Via.INGRESS, tls=True, admitted=False),
            entry(3, Via.INGRESS, host=XSS_HOST, tls=False, admitted=None),
            entry(4, Via.GATEWAY, tls=True, admitted=True),
            entry(5, Via.HOST_PORT, service=None, admitted=False),
        ),
        dead_ends=(
            DeadEnd(
                "shop",
                Via.LOAD_BALANCER,
                "pending",
                (ExposedPort(80),),
                (ObjectRef("Service", "shop", "nobody"),),
                "the Service selects no running pod",
            ),
        ),
        notes=("Node addresses are not known.",),
    )


def big_inventory(count: int = 200) -> ExposureInventory:
    """`count` entries over 20 namespaces: Ingresses, load balancers and host ports."""
    vias = (Via.INGRESS, Via.LOAD_BALANCER, Via.NODE_PORT, Via.HOST_PORT, Via.GATEWAY)
    entries = [
        entry(
            i,
            vias[i % len(vias)],
            namespace=f"team-{i % 20:02d}",
            host=f"app-{i}.example.com",
            tls=i % 3 == 0,
            admitted=(True, False, None)[i % 3],
            service=None if vias[i % len(vias)] is Via.HOST_PORT else f"svc-{i // 2}",
        )
        for i in range(count)
    ]
    return ExposureInventory(entries=tuple(sorted(entries, key=lambda e: e.sort_key)))
