"""The manifest source: YAML and JSON files, folders, `kind: List` dumps and stdin.

Workload objects become pods from their pod templates, so a GitOps folder or a
rendered Helm chart can be audited before it is applied; Services with selectors
get EndpointSlices derived from the pods they select when the input carries none.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from frozendict import frozendict

from kaudit.collect.cni import detect_cni
from kaudit.errors import InputError
from kaudit.model import (
    ClusterFacts,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    Ingress,
    IngressClass,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Origin,
    Pod,
    Service,
    Snapshot,
    Workload,
)

STDIN = "-"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# Where each workload kind keeps its pod template.
TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# A child whose controller is also in the input is already represented by it.
PARENT_KINDS: Mapping[str, str] = {"ReplicaSet": "Deployment", "Job": "CronJob"}

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Document:
    """One Kubernetes object read from a file, with where it came from."""

    raw: Mapping[str, Any]
    origin: Origin

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.raw.get("metadata")
        return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""


def manifest_files(paths: Iterable[str]) -> list[str]:
    """Expand folders (recursively, sorted) into manifest files; `-` stays stdin."""
    files: list[str] = []
    for entry in paths:
        if entry == STDIN:
            files.append(STDIN)
            continue
        path = Path(entry)
        if path.is_dir():
            found = sorted(
                str(p)
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
            )
            if not found:
                raise InputError(f"{entry}: folder holds no .yaml, .yml or .json files")
            files.extend(found)
        elif path.is_file():
            files.append(str(path))
        elif path.exists():
            raise InputError(f"{entry}: not a regular file or folder")
        else:
            raise InputError(f"{entry}: no such file or folder")
    return files


def read_documents(file: str, text: str | None = None) -> Iterator[Document]:
    """Every object in one file, with `kind: List` (and `*List`) items unpacked."""
    if text is None:
        try:
            text = sys.stdin.read() if file == STDIN else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{file}: cannot read: {exc}") from None
    shown = "<stdin>" if file == STDIN else file
    if file.lower().endswith(".json"):
        yield from _json_documents(shown, text)
        return
    if text.lstrip().startswith(("{", "[")):
        # kubectl -o json output on stdin; JSON that fails to parse is tried as YAML.
        try:
            data = json.loads(text)
        except ValueError:
            pass
        else:
            yield from _json_items(shown, data)
            return
    yield from _yaml_documents(shown, text)


def _json_documents(file: str, text: str) -> Iterator[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    yield from _json_items(file, data)


def _json_items(file: str, data: Any) -> Iterator[Document]:
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        yield from _unpack(file, item, Origin(file, 1, index), item_lines=None)


def _yaml_documents(file: str, text: str) -> Iterator[Document]:
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            origin = Origin(file, node.start_mark.line + 1, index)
            yield from _unpack(file, data, origin, item_lines=_list_item_lines(node))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}" if mark else file
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _list_item_lines(node: yaml.Node) -> list[int] | None:
    """1-based lines of the `items` of a List document, for precise locations."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return None


def _unpack(
    file: str, data: Any, origin: Origin, item_lines: list[int] | None
) -> Iterator[Document]:
    if data is None:  # an empty document, e.g. a trailing `---`
        return
    if not isinstance(data, Mapping):
        raise InputError(f"{origin}: expected a Kubernetes object, found {type(data).__name__}")
    kind = data.get("kind")
    if not kind:
        raise InputError(f"{origin}: document has no kind")
    if str(kind).endswith("List") and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            line = item_lines[index] if item_lines and index < len(item_lines) else origin.line
            item_origin = Origin(file, line, origin.document)
            if not isinstance(item, Mapping) or not item.get("kind"):
                raise InputError(f"{item_origin}: list item has no kind")
            yield Document(item, item_origin)
        return
    yield Document(data, origin)


@dataclass
class _Builder:
    """Accumulates objects by kind, then derives pods and endpoints."""

    namespaces: dict[str, Namespace] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    workloads: list[Document] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    slices: list[EndpointSlice] = field(default_factory=list)
    endpoints: list[EndpointSlice] = field(default_factory=list)
    policies: list[NetworkPolicy] = field(default_factory=list)
    ingresses: list[Ingress] = field(default_factory=list)
    ingress_classes: list[IngressClass] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)

    def add(self, doc: Document) -> None:
        kind, raw, origin = doc.kind, doc.raw, doc.origin
        try:
            if kind == "Namespace":
                ns = Namespace.from_raw(raw, origin)
                self.namespaces[ns.name] = ns
            elif kind == "Pod":
                self.pods.append(Pod.from_raw(raw, origin))
            elif kind in TEMPLATE_PATHS:
                self.workloads.append(doc)
            elif kind == "Service":
                self.services.append(Service.from_raw(raw, origin))
            elif kind == "EndpointSlice":
                self.slices.append(EndpointSlice.from_raw(raw, origin))
            elif kind == "Endpoints":
                self.endpoints.append(EndpointSlice.from_endpoints(raw, origin))
            elif kind == "NetworkPolicy":
                self.policies.append(NetworkPolicy.from_raw(raw, origin))
            elif kind == "Ingress":
                self.ingresses.append(Ingress.from_raw(raw, origin))
            elif kind == "IngressClass":
                self.ingress_classes.append(IngressClass.from_raw(raw, origin))
            else:
                self.ignored[kind] += 1
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{origin}: invalid {kind} {doc.name or '(unnamed)'}: {_reason(exc)}"
            ) from None

    def template_pods(self) -> list[Pod]:
        """One pod per workload, from its template, unless real pods already stand for it."""
        present = {(d.kind, _namespace_of(d.raw), d.name) for d in self.workloads}
        result = []
        for doc in self.workloads:
            if _owned_by_present_parent(doc, present):
                continue
            template = _dig(doc.raw, TEMPLATE_PATHS[doc.kind])
            namespace = _namespace_of(doc.raw)
            selector = LabelSelector.from_raw(_dig(doc.raw, ("spec", "selector")))
            live = [
                p
                for p in self.pods
                if p.namespace == namespace and not selector.is_empty and selector.matches(p.labels)
            ]
            if live:
                continue
            raw_pod = {
                "metadata": {
                    **_mapping(template.get("metadata")),
                    "name": doc.name,
                    "namespace": namespace,
                },
                "spec": _mapping(template.get("spec")),
            }
            try:
                pod = Pod.from_raw(
                    raw_pod, doc.origin, workload=Workload(doc.kind, doc.name), from_template=True
                )
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise InputError(
                    f"{doc.origin}: invalid {doc.kind} {doc.name}: {_reason(exc)}"
                ) from None
            result.append(pod)
        return result

    def build(self, inputs: tuple[str, ...]) -> Snapshot:
        pods = self.pods + self.template_pods()
        slices = list(self.slices)
        sliced = {(s.namespace, s.service_name) for s in slices}
        slices += [e for e in self.endpoints if (e.namespace, e.service_name) not in sliced]
        covered = {(s.namespace, s.service_name) for s in slices}
        slices += [
            derive_slice(svc, pods)
            for svc in self.services
            if svc.has_selector and (svc.namespace, svc.name) not in covered
        ]
        namespaces = dict(self.namespaces)
        objects: list[Any] = [*pods, *self.services, *slices, *self.policies, *self.ingresses]
        for obj in objects:
            namespaces.setdefault(obj.namespace, Namespace.implicit(obj.namespace))
        return Snapshot(
            facts=ClusterFacts(
                source="manifests",
                inputs=inputs,
                cni=detect_cni(pods),
                cni_checked="kube-system" in namespaces,
                ignored_kinds=frozendict(sorted(self.ignored.items())),
            ),
            namespaces=tuple(sorted(namespaces.values(), key=lambda n: n.name)),
            pods=tuple(pods),
            services=tuple(self.services),
            endpoint_slices=tuple(slices),
            network_policies=tuple(self.policies),
            ingresses=tuple(self.ingresses),
            ingress_classes=tuple(self.ingress_classes),
        )


def derive_slice(service: Service, pods: Iterable[Pod]) -> EndpointSlice:
    """The EndpointSlice the endpointslice controller would publish for `service`."""
    selected = [p for p in pods if service.selects(p) and not p.terminated]
    endpoints = tuple(
        Endpoint(addresses=p.pod_ips[:1], ready=p.ready, serving=p.ready, target_pod=p.name)
        for p in selected
    )
    ports = tuple(
        EndpointPort(
            port=_resolve_target(service, sp.effective_target, selected),
            protocol=sp.protocol,
            name=sp.name,
        )
        for sp in service.ports
    )
    return EndpointSlice(
        namespace=service.namespace,
        name=f"{service.name}-derived",
        service_name=service.name,
        address_type="IPv4",
        endpoints=endpoints,
        ports=ports,
        managed_by="kaudit (derived from manifests)",
        derived=True,
        origin=service.origin,
    )


def _resolve_target(service: Service, target: int | str, pods: list[Pod]) -> int | None:
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    for pod in pods:
        for port in pod.ports:
            if port.name == target:
                return port.container_port
    return None


def load_manifests(paths: Iterable[str]) -> Snapshot:
    """Read every object from `paths` (files, folders, `-` for stdin) into a Snapshot."""
    paths = list(paths)
    if not paths:
        raise InputError("--manifests: no path given")
    builder = _Builder()
    files = manifest_files(paths)
    if files.count(STDIN) > 1:
        raise InputError("--manifests: stdin (-) given more than once")
    for file in files:
        for doc in read_documents(file):
            builder.add(doc)
    return builder.build(tuple(paths))


def _dig(raw: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    value: Any = raw
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return _mapping(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _namespace_of(raw: Mapping[str, Any]) -> str:
    return str(_mapping(raw.get("metadata")).get("namespace") or "default")


def _owned_by_present_parent(doc: Document, present: set[tuple[str, str, str]]) -> bool:
    parent_kind = PARENT_KINDS.get(doc.kind)
    if parent_kind is None:
        return False
    for ref in _mapping(doc.raw.get("metadata")).get("ownerReferences") or []:
        ref = _mapping(ref)
        if (
            ref.get("kind") == parent_kind
            and (parent_kind, _namespace_of(doc.raw), ref.get("name")) in present
        ):
            return True
    return False


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
