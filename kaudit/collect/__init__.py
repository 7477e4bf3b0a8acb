"""Sources: the live API server and manifest files, both producing a Snapshot.

`load_snapshot(Source)` is the one entry point the CLI and `kaudit.audit` use:
manifests go through `kaudit.collect.manifests.load_manifests` (which puts
namespace-less objects into the one `--namespace`, as `kubectl apply -n` does,
and warns of a `--namespace` nothing is in), the cluster
through `kaudit.collect.live.collect_live(source)`, which applies the namespace
filters at the API. Both recognise the CNI with `kaudit.collect.cni.detect_cni`.
"""

from __future__ import annotations

from kaudit.collect.source import Source, validate_namespace_names
from kaudit.errors import InputError
from kaudit.model import Snapshot

__all__ = ["Source", "load_snapshot", "validate_namespace_names"]


def load_snapshot(source: Source) -> Snapshot:
    """Collect a Snapshot from manifests or from the cluster, filtered by namespace."""
    if source.manifests:
        if source.context or source.kubeconfig or source.in_cluster:
            raise InputError(
                "--manifests cannot be combined with --context, --kubeconfig or --in-cluster"
            )
        from kaudit.collect.manifests import load_manifests

        if source.namespaces and set(source.namespaces) <= set(source.exclude_namespaces):
            raise InputError("every namespace given with --namespace is also excluded")
        return load_manifests(source.manifests, source.namespaces).filtered(
            source.namespaces, source.exclude_namespaces
        )
    if source.context and source.in_cluster:
        raise InputError("--context cannot be combined with --in-cluster")
    from kaudit.collect.live import collect_live

    return collect_live(source)
