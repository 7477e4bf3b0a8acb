"""Report sinks without a cluster: the previous-run file and the ConfigMap size limit."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.report.model import Report
from kaudit.report.render import Format, render
from kaudit.report.sinks import (
    CONFIGMAP_DATA_LIMIT,
    NOTE_KEY,
    ConfigMapTarget,
    FittedData,
    configmap_patch,
    data_size,
    fit_configmap_data,
    keep_previous,
    parse_configmap_formats,
    parse_configmap_target,
    previous_path,
)
from tests.jsondig import dig

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "kaudit" / "demo" / "insecure"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from kaudit.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )


@pytest.fixture(scope="module")
def demo_report() -> Report:
    return audit(load_snapshot(Source(manifests=(str(DEMO),))))


# --- files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "previous"),
    [
        ("reports/kaudit.json", "reports/kaudit.previous.json"),
        ("/reports/kaudit.html", "/reports/kaudit.previous.html"),
        ("audit.2026.json", "audit.2026.previous.json"),
        ("report", "report.previous"),
    ],
)
def test_previous_path(path: str, previous: str) -> None:
    assert previous_path(Path(path)) == Path(previous)


def test_keep_previous_renames_and_replaces_the_older_run(tmp_path: Path) -> None:
    report = tmp_path / "kaudit.json"
    assert keep_previous(report) is None  # first run: nothing to keep
    report.write_text("run 1")
    assert keep_previous(report) == tmp_path / "kaudit.previous.json"
    assert not report.exists()
    report.write_text("run 2")
    keep_previous(report)
    assert (tmp_path / "kaudit.previous.json").read_text() == "run 2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaudit.previous.json"]


def test_audit_keep_previous_feeds_kaudit_diff(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "kaudit.json"
    args = ["audit", "--manifests", str(DEMO), "--fail-on", "never", "--quiet"]
    first = run_cli(*args, "--format", f"json={target}", "--keep-previous")
    assert first.returncode == 0, first.stderr
    assert not previous_path(target).exists()
    first_report = target.read_text()
    hardened = str(REPO_ROOT / "kaudit" / "demo" / "hardened")
    second = run_cli(
        "audit",
        "--manifests",
        hardened,
        "--fail-on",
        "never",
        "--quiet",
        "--format",
        f"json={target}",
        "--keep-previous",
    )
    assert second.returncode == 0, second.stderr
    assert previous_path(target).read_text() == first_report
    diff = run_cli(
        "diff", str(previous_path(target)), str(target), "--format", "json", "--fail-on", "never"
    )
    assert diff.returncode == 0, diff.stderr
    changes = json.loads(diff.stdout)
    assert changes["fixed"], "the hardened demo fixes findings of the insecure one"


def test_without_keep_previous_the_file_is_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "kaudit.json"
    target.write_text("old")
    proc = run_cli(
        "audit", "--manifests", str(DEMO), "--fail-on", "never", "--format", f"json={target}"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text())["schemaVersion"]
    assert not previous_path(target).exists()


# --- ConfigMap: target and formats --------------------------------------------------------


def test_configmap_target_outside_the_cluster_needs_a_namespace() -> None:
    live = Source(kubeconfig="kc")
    assert parse_configmap_target("kaudit/report", live) == ConfigMapTarget("kaudit", "report")
    with pytest.raises(InputError, match="NAMESPACE/NAME"):
        parse_configmap_target("report", live)
    with pytest.raises(InputError, match="not NAME or NAMESPACE/NAME"):
        parse_configmap_target("a/b/c", live)
    with pytest.raises(InputError, match="needs a live cluster"):
        parse_configmap_target("kaudit/report", Source(manifests=("x.yaml",)))


def test_configmap_target_in_cluster_uses_the_pod_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "namespace").write_text("security\n")
    monkeypatch.setenv("KAUDIT_SERVICEACCOUNT_DIR", str(tmp_path))
    target = parse_configmap_target("kaudit-report", Source(in_cluster=True))
    assert target == ConfigMapTarget("security", "kaudit-report")
    monkeypatch.setenv("KAUDIT_SERVICEACCOUNT_DIR", str(tmp_path / "missing"))
    with pytest.raises(InputError, match="cannot read the pod's namespace"):
        parse_configmap_target("kaudit-report", Source(in_cluster=True))


@pytest.mark.parametrize(
    ("formats", "expected"),
    [(None, ("json",)), (["JSON", "md", "json"], ("json", "md")), (["sarif"], ("sarif",))],
)
def test_configmap_formats(formats: list[str] | None, expected: tuple[str, ...]) -> None:
    assert parse_configmap_formats(formats) == expected


def test_configmap_needs_a_cluster_on_the_command_line() -> None:
    proc = run_cli("audit", "--manifests", str(DEMO), "--configmap", "kaudit/report")
    assert proc.returncode == 2
    assert "--configmap needs a live cluster" in proc.stderr
    proc = run_cli("audit", "--manifests", str(DEMO), "--configmap-format", "pdf")
    assert proc.returncode == 2
    assert "--configmap-format: unknown format 'pdf'" in proc.stderr


# --- ConfigMap: the 1 MiB limit ----------------------------------------------------------


def renderer(report: Report, formats: tuple[Format, ...]) -> Callable[[Severity], dict[str, str]]:
    def render_all(level: Severity) -> dict[str, str]:
        return {f"report.{fmt.value}": render(report, fmt, min_severity=level) for fmt in formats}

    return render_all


def counter(report: Report) -> Callable[[Severity], int]:
    return lambda level: sum(1 for f in report.findings if f.severity >= level)


FORMATS = (Format.JSON, Format.MARKDOWN)


def test_a_report_that_fits_is_stored_whole(demo_report: Report) -> None:
    fitted = fit_configmap_data(renderer(demo_report, FORMATS), Severity.INFO, counter(demo_report))
    assert fitted.note is None
    assert fitted.data == renderer(demo_report, FORMATS)(Severity.INFO)
    assert data_size(fitted.data) < CONFIGMAP_DATA_LIMIT


@pytest.mark.parametrize("dropped_below", [Severity.LOW, Severity.HIGH, Severity.CRITICAL])
def test_too_big_drops_the_lowest_severities_first(
    demo_report: Report, dropped_below: Severity
) -> None:
    render_all = renderer(demo_report, FORMATS)
    count = counter(demo_report)
    # A limit that holds the findings from `dropped_below` up, but not one level lower.
    limit = data_size(render_all(dropped_below)) + 1024
    lower = [s for s in Severity if s < dropped_below and count(s) > count(dropped_below)]
    assert data_size(render_all(max(lower))) + 1024 > limit

    fitted = fit_configmap_data(render_all, Severity.INFO, count, limit=limit)

    assert fitted.data == render_all(dropped_below)
    assert fitted.note is not None
    assert f"findings below {dropped_below.label} were left out" in fitted.note
    assert f"({count(dropped_below)} of {count(Severity.INFO)} findings kept)" in fitted.note
    stored = json.loads(fitted.data["report.json"])  # still a valid, parseable report
    assert stored["minSeverity"] == dropped_below.label
    assert data_size(fitted.data) + len(fitted.note.encode()) <= limit


def test_even_critical_too_big_is_cut_with_a_marker(demo_report: Report) -> None:
    # Room for the Markdown of the critical findings (with the exposure summary), not the JSON.
    limit = 11000
    fitted = fit_configmap_data(
        renderer(demo_report, FORMATS), Severity.INFO, counter(demo_report), limit=limit
    )
    assert fitted.note is not None
    assert "each report was cut to" in fitted.note
    whole = renderer(demo_report, FORMATS)(Severity.CRITICAL)
    share = (limit - 1024) // len(FORMATS)
    assert len(whole["report.json"].encode()) > share  # the JSON is cut
    assert len(whole["report.md"].encode()) <= share  # the Markdown fits its share
    assert fitted.data["report.md"] == whole["report.md"]
    cut = fitted.data["report.json"]
    assert cut.endswith("[truncated by kaudit: over the ConfigMap size limit]\n")
    assert len(cut.encode()) <= share
    assert whole["report.json"].startswith(cut.split("\n[truncated")[0])
    assert data_size(fitted.data) + len(fitted.note.encode()) <= limit


def test_cut_keeps_utf8_whole() -> None:
    text = "é" * 5000  # two bytes each
    fitted = fit_configmap_data(
        lambda level: {"report.txt": text}, Severity.INFO, lambda level: 0, limit=4000
    )
    value = fitted.data["report.txt"]
    value.encode("utf-8")  # no split character
    assert value.startswith("é")


@pytest.mark.parametrize(
    ("fitted", "keys", "data", "truncated"),
    [
        (
            FittedData({"report.json": "{}"}, None),
            ["report.json"],
            {
                "report.txt": None,
                "report.json": "{}",
                "report.md": None,
                "report.html": None,
                "report.sarif": None,
                NOTE_KEY: None,
            },
            None,
        ),
        (
            FittedData({"report.md": "# r", "report.txt": "t"}, "cut"),
            ["report.md", "report.txt"],
            {
                "report.txt": "t",
                "report.json": None,
                "report.md": "# r",
                "report.html": None,
                "report.sarif": None,
                NOTE_KEY: "cut",
            },
            "true",
        ),
    ],
)
def test_patch_sets_our_keys_and_clears_stale_ones(
    fitted: FittedData, keys: list[str], data: dict[str, str | None], truncated: str | None
) -> None:
    patch = configmap_patch(fitted, keys, "2026-11-27T03:17:00Z")
    assert patch["data"] == data
    assert dig(patch, "metadata", "annotations") == {
        "kaudit.io/generated-at": "2026-11-27T03:17:00Z",
        "kaudit.io/truncated": truncated,
    }
