"""What the outside world can reach: the exposure inventory.

One entry per workload and outside path (LoadBalancer, NodePort, ExternalIP, HostPort,
HostNetwork, Ingress, Gateway), from the entry point to the workload, with TLS and the
policy engine's answer to "do the pods' ingress policies admit that traffic". Modules:
`model` (the data), `admission` (which sources a path delivers; the engine answers),
`controllers` (finding Ingress and Gateway controller pods), `direct` (Services and host
ports), `routes` (Ingresses, and the path shape routed traffic takes), `gateways`
(Gateway API routes, as `kaudit.routing` attaches them) and `inventory`.
See docs/exposure.md.
"""

from kaudit.exposure.inventory import build_inventory, exposure_inventory, inventory_of
from kaudit.exposure.model import DeadEnd, ExposedPort, ExposureEntry, ExposureInventory, Via

__all__ = [
    "DeadEnd",
    "ExposedPort",
    "ExposureEntry",
    "ExposureInventory",
    "Via",
    "build_inventory",
    "exposure_inventory",
    "inventory_of",
]
