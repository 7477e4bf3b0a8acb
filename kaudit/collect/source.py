"""What to read: manifests or a cluster, and which namespaces to keep."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kaudit.errors import InputError

# A namespace name is a DNS-1123 label (what the API server validates). Checking it
# before any request keeps user input out of request paths: no '/', '%', '?' or '..'.
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_LABEL_MAX = 63

DEFAULT_REQUEST_TIMEOUT = 30.0  # seconds for one API request (--request-timeout)
DEFAULT_TIMEOUT = 300.0  # seconds for a whole live collection (--timeout)


def validate_namespace_names(names: tuple[str, ...], flag: str) -> None:
    """Raise InputError (naming `flag`) unless every name is a valid namespace name."""
    for name in names:
        if len(name) > _DNS1123_LABEL_MAX or not _DNS1123_LABEL.fullmatch(name):
            raise InputError(
                f"{flag}: {name[:80]!r} is not a valid namespace name "
                "(lower-case letters, digits and '-', at most 63 characters)"
            )


@dataclass(frozen=True, slots=True)
class Source:
    """Where to read the objects from, and which namespaces to keep."""

    manifests: tuple[str, ...] = ()
    context: str | None = None
    kubeconfig: str | None = None
    in_cluster: bool = False
    namespaces: tuple[str, ...] = ()
    exclude_namespaces: tuple[str, ...] = ()
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT  # the whole collection, retries included
    page_size: int = 500

    def __post_init__(self) -> None:
        validate_namespace_names(self.namespaces, "--namespace")
        validate_namespace_names(self.exclude_namespaces, "--exclude-namespace")

    @property
    def is_live(self) -> bool:
        return not self.manifests
