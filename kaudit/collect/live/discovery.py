"""Kinds served by optional API groups (CRDs such as the Gateway API or the admin
network policies): which version of each the server serves, found at run time.

A cluster may serve an optional group in one of several versions, or not at all.
Discovery asks `/apis` once for the groups and their versions, then
`/apis/<group>/<version>` for the resources of each version kaudit can read, and
picks, per kind, the first of kaudit's versions (most preferred first) that serves
it. A kind the server does not serve is not an error: there is simply nothing of
it to read. When discovery itself is refused, the optional kinds are reported
missing like any forbidden list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kaudit.collect.live.client import Forbidden, RawClient, api_path
from kaudit.collect.live.decoding import ListDecoder
from kaudit.model import Resource

T = TypeVar("T")
W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class ListedResource(Generic[W, T]):
    """One list kaudit reads: where it is, and how its items are decoded and built."""

    kind: Resource
    group_path: str  # /api/v1 or /apis/<group>/<version>
    plural: str
    namespaced: bool
    title: str  # for messages: "NetworkPolicies"
    item_type: type[W]  # the item's wire type
    build: Callable[[W], T]  # the model object from the wire type

    @property
    def decoder(self) -> ListDecoder[W]:
        return ListDecoder(self.item_type, self.title)

    @property
    def api_version(self) -> str:
        """`v1`, or `group/version`."""
        return self.group_path.removeprefix("/api/").removeprefix("/apis/")


@dataclass(frozen=True, slots=True)
class OptionalResource(Generic[W, T]):
    """A kind of an optional API group, readable in any of `versions` (most preferred
    first) with the same wire type."""

    kind: Resource
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool
    title: str
    item_type: type[W]
    build: Callable[[W], T]

    def at(self, version: str) -> ListedResource[W, T]:
        return ListedResource(
            self.kind,
            api_path("apis", self.group, version),
            self.plural,
            self.namespaced,
            self.title,
            self.item_type,
            self.build,
        )


@dataclass(frozen=True, slots=True)
class Discovered:
    """The optional kinds to read, each at the version the server serves, and the
    kinds that could not be discovered (discovery refused) with the reason."""

    listed: tuple[ListedResource[Any, Any], ...]
    refused: tuple[tuple[OptionalResource[Any, Any], Forbidden], ...] = ()


def discover(client: RawClient, optional: Iterable[OptionalResource[Any, Any]]) -> Discovered:
    """Resolve each optional kind to the version the server serves (or leave it out)."""
    wanted = tuple(optional)
    if not wanted:
        return Discovered(())
    try:
        served_versions = _group_versions(client.get("/apis"))
    except Forbidden as refusal:
        return Discovered((), tuple((resource, refusal) for resource in wanted))
    resources_of: dict[tuple[str, str], frozenset[str]] = {}
    listed: list[ListedResource[Any, Any]] = []
    refused: list[tuple[OptionalResource[Any, Any], Forbidden]] = []
    for resource in wanted:
        candidates = [v for v in resource.versions if v in served_versions.get(resource.group, ())]
        try:
            version = next(
                (
                    v
                    for v in candidates
                    if resource.plural in _resources(client, resource.group, v, resources_of)
                ),
                None,
            )
        except Forbidden as refusal:
            refused.append((resource, refusal))
            continue
        if version is not None:
            listed.append(resource.at(version))
    return Discovered(tuple(listed), tuple(refused))


def _resources(
    client: RawClient, group: str, version: str, cache: dict[tuple[str, str], frozenset[str]]
) -> frozenset[str]:
    key = (group, version)
    if key not in cache:
        try:
            answer = client.get(api_path("apis", group, version))
        except Forbidden as error:
            if error.status != 404:  # removed between the two requests: not served
                raise
            answer = {}
        cache[key] = _resource_names(answer)
    return cache[key]


def _group_versions(answer: Any) -> Mapping[str, tuple[str, ...]]:
    """An APIGroupList as {group: its served versions}."""
    groups = answer.get("groups") if isinstance(answer, dict) else None
    served: dict[str, tuple[str, ...]] = {}
    for group in groups if isinstance(groups, list) else ():
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            continue
        versions = group.get("versions")
        served[group["name"]] = tuple(
            v["version"]
            for v in (versions if isinstance(versions, list) else ())
            if isinstance(v, dict) and isinstance(v.get("version"), str)
        )
    return served


def _resource_names(answer: Any) -> frozenset[str]:
    """An APIResourceList's top-level resource names (not subresources like `x/status`)."""
    resources = answer.get("resources") if isinstance(answer, dict) else None
    return frozenset(
        r["name"]
        for r in (resources if isinstance(resources, list) else ())
        if isinstance(r, dict) and isinstance(r.get("name"), str) and "/" not in r["name"]
    )
