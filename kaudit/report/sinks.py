"""Where a scheduled audit leaves its report, besides stdout.

- Files: `keep_previous(path)` renames an existing report to
  `NAME.previous.EXT` before the new one is written, so `kaudit diff
  kaudit.previous.json kaudit.json` compares the last two runs.
- A ConfigMap in kaudit's own namespace: `write_configmap(...)` stores each
  report format under `report.<ext>` with one merge patch, the one write kaudit
  ever makes (its Role allows `patch` on that ConfigMap by name and nothing
  else). ConfigMap data is limited to 1 MiB; a report that does not fit loses
  its lowest-severity findings first, and the ConfigMap says so (key `NOTE`,
  annotation `kaudit.io/truncated`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaudit.collect import Source
from kaudit.collect.live import client_configuration, serviceaccount_dir
from kaudit.errors import ClusterError, InputError
from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, json_object
from kaudit.report.model import Report
from kaudit.report.render import Format, render

# core.MaxSecretSize: the API server rejects a ConfigMap whose data and
# binaryData values add up to more than this many bytes (keys are not counted).
CONFIGMAP_DATA_LIMIT = 1024 * 1024
NOTE_KEY = "NOTE"
TRUNCATED_ANNOTATION = "kaudit.io/truncated"
GENERATED_ANNOTATION = "kaudit.io/generated-at"
# Room kept free for the NOTE value.
_NOTE_RESERVE = 1024


CONFIGMAP_KEYS: Mapping[str, str] = {
    "table": "report.txt",
    "json": "report.json",
    "md": "report.md",
    "html": "report.html",
    "sarif": "report.sarif",
}


# --- files ---------------------------------------------------------------------------


def previous_path(path: Path) -> Path:
    """`reports/kaudit.json` -> `reports/kaudit.previous.json`."""
    return path.with_name(f"{path.stem}.previous{path.suffix}")


def keep_previous(path: str | Path) -> Path | None:
    """Rename an existing report at `path` to its `.previous` name; return that name."""
    current = Path(path)
    if not current.is_file():
        return None
    target = previous_path(current)
    try:
        current.replace(target)  # atomic on one filesystem; overwrites the older run
    except OSError as error:
        raise InputError(
            f"{current}: cannot keep the previous report as {target.name}: {error.strerror or error}"
        ) from None
    return target


# --- ConfigMap -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigMapTarget:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def parse_configmap_target(spec: str, source: Source) -> ConfigMapTarget:
    """`NAMESPACE/NAME`, or `NAME` in the pod's own namespace when running in-cluster."""
    if not source.is_live:
        raise InputError("--configmap needs a live cluster, not --manifests")
    namespace, _, name = spec.strip().rpartition("/")
    if not namespace:
        if not source.in_cluster:
            raise InputError("--configmap: give NAMESPACE/NAME (outside the cluster)")
        try:
            namespace = (serviceaccount_dir() / "namespace").read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InputError(
                f"--configmap: cannot read the pod's namespace: {error.strerror or error}"
            ) from None
    if not name or "/" in namespace:
        raise InputError(f"--configmap: {spec!r} is not NAME or NAMESPACE/NAME")
    return ConfigMapTarget(namespace, name)


def parse_configmap_formats(formats: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats or ("json",)))
    for fmt in chosen:
        if fmt not in CONFIGMAP_KEYS:
            raise InputError(
                f"--configmap-format: unknown format {fmt!r} (expected one of: {', '.join(CONFIGMAP_KEYS)})"
            )
    return chosen


def data_size(data: Mapping[str, str]) -> int:
    return sum(len(value.encode("utf-8")) for value in data.values())


@dataclass(frozen=True, slots=True)
class FittedData:
    data: dict[str, str]
    note: str | None  # why and how the report was cut, None when it fits whole


def fit_configmap_data(
    render: Callable[[Severity], dict[str, str]],
    min_severity: Severity,
    count_at_or_above: Callable[[Severity], int],
    limit: int = CONFIGMAP_DATA_LIMIT,
) -> FittedData:
    """Render the report so that its formats fit in one ConfigMap.

    First whole; then without the lowest severities, one level at a time (the
    findings that matter most stay, and every format stays valid: JSON keeps
    parsing and records its `minSeverity`); as a last resort each value is cut to
    its share of the limit at a line boundary, which the note says.
    """
    budget = limit - _NOTE_RESERVE
    total = count_at_or_above(min_severity)
    for level in sorted(s for s in Severity if s >= min_severity):
        data = render(level)
        if data_size(data) <= budget:
            if level == min_severity:
                return FittedData(data, None)
            kept = count_at_or_above(level)
            note = (
                f"kaudit: the full report exceeds the 1 MiB ConfigMap limit; findings below "
                f"{level.label} were left out ({kept} of {total} findings kept). "
                "Use the file sink (kaudit deploy --sink file) for the full report."
            )
            return FittedData(data, note)
    data = render(Severity.CRITICAL)
    share = budget // max(1, len(data))
    cut = {key: _cut(value, share) for key, value in data.items()}
    note = (
        f"kaudit: even the critical findings exceed the 1 MiB ConfigMap limit; each report "
        f"was cut to {share} bytes (JSON and SARIF are therefore incomplete and do not parse). "
        "Use the file sink (kaudit deploy --sink file) for the full report."
    )
    return FittedData(cut, note)


def _cut(text: str, limit: int) -> str:
    marker = "\n[truncated by kaudit: over the ConfigMap size limit]\n"
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    head = raw[: max(0, limit - len(marker.encode("utf-8")))].decode("utf-8", errors="ignore")
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return head + marker


def configmap_patch(fitted: FittedData, keys: Sequence[str], generated_at: str) -> JsonObject:
    """A JSON merge patch: our keys set, our stale keys (other formats, NOTE) removed."""
    data: dict[str, str | None] = dict.fromkeys(CONFIGMAP_KEYS.values())
    data[NOTE_KEY] = None
    for key in keys:
        data[key] = fitted.data[key]
    if fitted.note:
        data[NOTE_KEY] = fitted.note
    return {
        "metadata": {
            "annotations": {
                GENERATED_ANNOTATION: generated_at,
                TRUNCATED_ANNOTATION: "true" if fitted.note else None,
            }
        },
        "data": json_object(data),
    }


def write_configmap(
    source: Source,
    target: ConfigMapTarget,
    report: Report,
    formats: Sequence[str],
    min_severity: Severity = Severity.INFO,
) -> FittedData:
    """Store `report` in `formats` in the ConfigMap `target` (which must exist)."""
    keys = [CONFIGMAP_KEYS[fmt] for fmt in formats]

    def render_all(level: Severity) -> dict[str, str]:
        return {
            CONFIGMAP_KEYS[fmt]: render(report, Format(fmt), min_severity=level) for fmt in formats
        }

    def count(level: Severity) -> int:
        return sum(1 for f in report.findings if f.severity >= level)

    fitted = fit_configmap_data(render_all, min_severity, count)
    generated = report.generated_at.isoformat().replace("+00:00", "Z")
    _patch_configmap(source, target, configmap_patch(fitted, keys, generated))
    return fitted


def _patch_configmap(source: Source, target: ConfigMapTarget, patch: JsonObject) -> None:
    # The kubernetes client ships no type information: its modules are untyped here.
    k8s_client: Any = importlib.import_module("kubernetes.client")
    exceptions: Any = importlib.import_module("kubernetes.client.exceptions")
    api = k8s_client.CoreV1Api(k8s_client.ApiClient(kube_configuration(source)))
    try:
        api.patch_namespaced_config_map(
            target.name,
            target.namespace,
            patch,
            field_manager="kaudit",
            _content_type="application/merge-patch+json",
            _request_timeout=source.request_timeout,
            _preload_content=False,  # the answer echoes the whole report; not needed
        )
    except exceptions.ApiException as error:
        status = int(error.status or 0)
        if status == 404:
            raise ClusterError(
                f"ConfigMap {target} does not exist; kaudit only updates it "
                "(kaudit deploy --sink configmap creates it)"
            ) from None
        if status == 403:
            raise ClusterError(
                f"not allowed to patch ConfigMap {target} (the kaudit Role grants patch on that "
                "ConfigMap by name; see kaudit deploy --sink configmap)"
            ) from None
        raise ClusterError(
            f"cannot write the report to ConfigMap {target}: HTTP {status} {error.reason}"
        ) from None
    except Exception as error:  # urllib3 connection and TLS errors
        raise ClusterError(f"cannot write the report to ConfigMap {target}: {error}") from None


def kube_configuration(source: Source) -> Any:
    """A kubernetes.client.Configuration for `source`, loaded as the live collector loads it
    (untyped: the kubernetes client ships no type information)."""
    configuration, _ = client_configuration(source.context, source.kubeconfig, source.in_cluster)
    return configuration
