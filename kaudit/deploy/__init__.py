"""The manifests that run kaudit inside the cluster on a schedule (`kaudit deploy`).

`options` holds what may be asked for and validates it; `manifests` renders the
objects. Nothing here talks to a cluster or parses a command line.
"""

from kaudit.deploy.manifests import (
    CLUSTER_READ_PERMISSIONS,
    CNI_READ_PERMISSIONS,
    NON_RETRYABLE_EXIT_CODES,
    READ_VERBS,
    audit_arguments,
    render_manifests,
    render_yaml,
)
from kaudit.deploy.options import DEFAULT_API_SERVER_PORTS, FORMAT_EXTENSIONS, DeployOptions, Sink

__all__ = [
    "CLUSTER_READ_PERMISSIONS",
    "CNI_READ_PERMISSIONS",
    "DEFAULT_API_SERVER_PORTS",
    "FORMAT_EXTENSIONS",
    "NON_RETRYABLE_EXIT_CODES",
    "READ_VERBS",
    "DeployOptions",
    "Sink",
    "audit_arguments",
    "render_manifests",
    "render_yaml",
]
