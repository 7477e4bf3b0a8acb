"""The live source: list the audited kinds from a running cluster's API server.

The official `kubernetes` client resolves the kubeconfig or the in-cluster service
account and supplies a configured urllib3 pool. The lists themselves are issued as
raw GETs and decoded from JSON straight into the wire schema, then the model: the
client's generated model classes are several times slower on big lists, and raw
lists keep the input identical to what `kubectl get -o json` shows.

Modules, down the order they import each other: `client` (raw GETs, whole-request
timeouts and the collection's deadline, retries, the Secrets guard), `credentials` (kubeconfig or service account), `decoding` (list
pages into kaudit.model.wire), `discovery` (the lists kaudit reads, and which version
of each optional API group's kinds the server serves), `paging` (every page of a
list, prefetched) and `collector` (`collect_live`: what to list, in which scope, and
the Snapshot).
"""

from kaudit.collect.live.client import DEFAULT_RETRY_BUDGET, DeadlineExceeded, api_path
from kaudit.collect.live.collector import (
    CNI_DAEMONSETS_PATH,
    LISTED_RESOURCES,
    OPTIONAL_RESOURCES,
    collect_live,
)
from kaudit.collect.live.credentials import (
    SERVICEACCOUNT_DIR,
    SERVICEACCOUNT_DIR_ENV,
    client_configuration,
    serviceaccount_dir,
)

__all__ = [
    "CNI_DAEMONSETS_PATH",
    "DEFAULT_RETRY_BUDGET",
    "LISTED_RESOURCES",
    "OPTIONAL_RESOURCES",
    "SERVICEACCOUNT_DIR",
    "SERVICEACCOUNT_DIR_ENV",
    "DeadlineExceeded",
    "api_path",
    "client_configuration",
    "collect_live",
    "serviceaccount_dir",
]
