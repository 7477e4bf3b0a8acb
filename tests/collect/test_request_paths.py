"""Request paths the live collector builds: quoted segments, and no path that reaches Secrets."""

from __future__ import annotations

import pytest

from kaudit.collect import Source
from kaudit.collect.live.client import api_path, refuse_secrets
from kaudit.collect.live.collector import _CONSEQUENCES
from kaudit.errors import InputError
from kaudit.model import Resource


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces/kube-system/secrets",
        "/api/v1/namespaces/kube-system/secre%74s",
        "/api/v1/namespaces/kube-system/secre%74s?limit=1",
        "/api/v1/namespaces/x/../../../api/v1/secrets#",
        "/api/v1/namespaces/x/%2e%2e/kube-system/secrets/token",
        "/api/v1/secrets",
    ],
)
def test_paths_that_decode_to_secrets_are_refused(path: str) -> None:
    with pytest.raises(InputError, match="kaudit never reads Secrets"):
        refuse_secrets(path)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/namespaces/secrets-store/pods", "/api/v1/pods", "/apis/apps/v1/daemonsets"],
)
def test_ordinary_paths_pass(path: str) -> None:
    refuse_secrets(path)


def test_api_path_quotes_every_segment() -> None:
    assert api_path("api", "v1", "namespaces", "a/b?c#d%e") == (
        "/api/v1/namespaces/a%2Fb%3Fc%23d%25e"
    )


@pytest.mark.parametrize(
    "name", ["kube-system/secrets", "a%2f", "..", "Shop", "-a", "a-", "", "x" * 64, "a b"]
)
def test_source_refuses_names_that_are_not_namespaces(name: str) -> None:
    with pytest.raises(InputError, match=r"--namespace: .* is not a valid namespace name"):
        Source(namespaces=(name,))
    with pytest.raises(InputError, match="--exclude-namespace: "):
        Source(exclude_namespaces=(name,))


def test_source_accepts_namespace_names() -> None:
    assert Source(namespaces=("kube-system", "a", "x" * 63, "0-1")).namespaces[0] == "kube-system"


def test_every_listed_kind_says_what_its_absence_leaves_unchecked() -> None:
    assert set(_CONSEQUENCES) == set(Resource)
