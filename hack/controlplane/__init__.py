"""A real, loopback-only Kubernetes control plane for kaudit's tests.

Built from source through the Go module proxy (`build`), run from a state
directory under .kaudit/cluster (`up`, `down`, `status`); see docs/control-plane.md.
Run it as `python -m hack.controlplane <command>` from the repository root; the
test fixtures and the live benchmark call `up()`, `down()` and `is_live()` directly.

Modules: settings (versions, network layout, paths), binaries (lookup, cache,
build), pki (CA, serving certificate, service-account keys), processes (start,
pids, stop, logs), components (flags and health checks), bootstrap (the objects
in manifests/), api (HTTPS client, kubeconfigs), cluster (up/down/status), faults
(pause, kill and restart the API server, for the fault tests), cli.
"""

from hack.controlplane.api import is_live
from hack.controlplane.binaries import (
    binaries_available,
    binary_path,
    binary_version,
    build,
    find_binary,
)
from hack.controlplane.cluster import down, status, up
from hack.controlplane.faults import (
    apiserver_paused,
    kill_apiserver,
    restart_apiserver,
    start_apiserver,
)
from hack.controlplane.processes import free_port
from hack.controlplane.settings import (
    ALL_BINARIES,
    AUDIT_LOG_PATH,
    DNS_SERVICE_IP,
    ETCD_VERSION,
    FAKE_NODES,
    KUBECONFIG_PATH,
    KUBERNETES_VERSION,
    KWOK_VERSION,
    POD_CIDR,
    SERVICE_CIDR,
    STATE_DIR,
    ControlPlaneError,
)

__all__ = [
    "ALL_BINARIES",
    "AUDIT_LOG_PATH",
    "DNS_SERVICE_IP",
    "ETCD_VERSION",
    "FAKE_NODES",
    "KUBECONFIG_PATH",
    "KUBERNETES_VERSION",
    "KWOK_VERSION",
    "POD_CIDR",
    "SERVICE_CIDR",
    "STATE_DIR",
    "ControlPlaneError",
    "apiserver_paused",
    "binaries_available",
    "binary_path",
    "binary_version",
    "build",
    "down",
    "find_binary",
    "free_port",
    "is_live",
    "kill_apiserver",
    "restart_apiserver",
    "start_apiserver",
    "status",
    "up",
]
