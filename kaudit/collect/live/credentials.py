"""Credentials: a kubeconfig context, or the in-cluster service account.

The official `kubernetes` client resolves the kubeconfig (contexts, exec and OIDC
credential plugins, client certificates, proxies) or the service account's token
and CA, and supplies the configured urllib3 pool the requests go through.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaudit.collect.live.client import MAX_WORKERS, RawClient
from kaudit.errors import ClusterError

# Where a pod's service-account token and CA are mounted, and the variable that
# moves it (for sidecar-style mounts, and for tests outside a pod).
SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICEACCOUNT_DIR_ENV = "KAUDIT_SERVICEACCOUNT_DIR"


@dataclass(frozen=True, slots=True)
class Connection:
    client: RawClient
    context: str | None


def serviceaccount_dir() -> Path:
    """Where the in-cluster token, CA and namespace files are (KAUDIT_SERVICEACCOUNT_DIR moves it)."""
    return Path(os.environ.get(SERVICEACCOUNT_DIR_ENV) or SERVICEACCOUNT_DIR)


def client_configuration(
    context: str | None, kubeconfig: str | None, in_cluster: bool
) -> tuple[Any, str | None]:
    """A kubernetes.client.Configuration with credentials loaded, and the context used.

    Raises ClusterError with one line when the credentials cannot be loaded.
    """
    try:
        # Typed as Any: the client's own annotations are partial.
        k8s_client: Any = importlib.import_module("kubernetes.client")
        k8s_config: Any = importlib.import_module("kubernetes.config")
        ConfigException: type[Exception] = k8s_config.config_exception.ConfigException
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise ClusterError(
            f"the `kubernetes` package is required for live audits: {error}"
        ) from None

    configuration = k8s_client.Configuration()
    used_context: str | None = None
    try:
        if in_cluster:
            account = serviceaccount_dir()
            # The client's own loader, pointed at the (possibly moved) token directory;
            # it re-reads the token as the kubelet rotates it.
            k8s_config.incluster_config.InClusterConfigLoader(
                token_filename=str(account / "token"), cert_filename=str(account / "ca.crt")
            ).load_and_set(client_configuration=configuration)
            used_context = "in-cluster"
        else:
            used_context = _resolve_context(k8s_config, context, kubeconfig)
            k8s_config.load_kube_config(
                config_file=kubeconfig,
                context=used_context,
                client_configuration=configuration,
                persist_config=False,
            )
    except ConfigException as error:
        where = "in-cluster service account" if in_cluster else (kubeconfig or "kubeconfig")
        raise ClusterError(f"cannot load {where}: {_one_line(str(error))}") from None
    except OSError as error:  # unreadable kubeconfig or certificate file
        raise ClusterError(
            f"cannot read {error.filename or kubeconfig}: {error.strerror}"
        ) from None
    except Exception as error:  # exec plugins and token providers raise their own types
        raise ClusterError(f"cannot load credentials: {_one_line(str(error))}") from None
    return configuration, used_context


def connect(
    context: str | None,
    kubeconfig: str | None,
    in_cluster: bool,
    timeout: float,
    retry_budget: float,
) -> Connection:
    k8s_client: Any = importlib.import_module("kubernetes.client")
    configuration, used_context = client_configuration(context, kubeconfig, in_cluster)

    if not configuration.verify_ssl:
        # The user chose insecure-skip-tls-verify; one warning per request is noise.
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    configuration.connection_pool_maxsize = MAX_WORKERS
    pool = k8s_client.ApiClient(configuration).rest_client.pool_manager
    return Connection(RawClient(configuration, pool, timeout, retry_budget), used_context)


def _resolve_context(k8s_config: Any, context: str | None, kubeconfig: str | None) -> str | None:
    """Validate the context up front, to name the available ones in the error."""
    contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    names = [str(c.get("name")) for c in contexts or []]
    if context is None:
        return str(active["name"]) if active else None
    if context not in names:
        available = ", ".join(names) if names else "none"
        raise ClusterError(
            f"context {context!r} not found in {kubeconfig or 'the kubeconfig'} (available: {available})"
        )
    return context


def _one_line(text: str) -> str:
    return " ".join(text.split())
