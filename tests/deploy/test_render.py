"""`kaudit deploy`: the rendered in-cluster set, object by object (no cluster needed)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kaudit import __version__
from kaudit.cli import app
from kaudit.collect import live
from kaudit.deploy import (
    CLUSTER_READ_PERMISSIONS,
    CNI_READ_PERMISSIONS,
    DeployOptions,
    Sink,
    audit_arguments,
    render_manifests,
    render_yaml,
)
from kaudit.errors import InputError
from tests.jsondig import dig, dig_list

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind"}


def objects_by_kind(options: DeployOptions) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in render_manifests(options):
        grouped.setdefault(str(obj["kind"]), []).append(obj)
    return grouped


def only(options: DeployOptions, kind: str) -> dict[str, Any]:
    (obj,) = objects_by_kind(options)[kind]
    return obj


def pod_spec(options: DeployOptions) -> dict[str, Any]:
    spec: dict[str, Any] = only(options, "CronJob")["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]
    return spec


# --- which objects, in which order -------------------------------------------------------


@pytest.mark.parametrize(
    ("sink", "kinds"),
    [
        (
            Sink.STDOUT,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
                "NetworkPolicy",
                "NetworkPolicy",
                "CronJob",
            ],
        ),
        (
            Sink.FILE,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
                "PersistentVolumeClaim",
                "NetworkPolicy",
                "NetworkPolicy",
                "CronJob",
            ],
        ),
        (
            Sink.CONFIGMAP,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
                "ConfigMap",
                "Role",
                "RoleBinding",
                "NetworkPolicy",
                "NetworkPolicy",
                "CronJob",
            ],
        ),
    ],
)
def test_objects_in_creation_order(sink: Sink, kinds: list[str]) -> None:
    assert [o["kind"] for o in render_manifests(DeployOptions(sink=sink))] == kinds


@pytest.mark.parametrize(
    ("namespace", "cluster_role", "cni_role"),
    [
        ("kaudit", "kaudit-reader", "kaudit-cni-reader"),
        ("security", "kaudit-security-reader", "kaudit-security-cni-reader"),
    ],
)
def test_names_are_unique_per_install(namespace: str, cluster_role: str, cni_role: str) -> None:
    grouped = objects_by_kind(DeployOptions(namespace=namespace))
    assert [o["metadata"]["name"] for o in grouped["ClusterRole"]] == [cluster_role]
    assert [o["metadata"]["name"] for o in grouped["ClusterRoleBinding"]] == [cluster_role]
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in grouped["Role"]] == [
        ("kube-system", cni_role)
    ]
    for obj in render_manifests(DeployOptions(namespace=namespace)):
        if obj["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding", "Role"):
            expected = "kube-system" if obj["kind"] == "RoleBinding" else namespace
            assert dig(obj, "metadata", "namespace") == expected, obj["kind"]
        assert dig(obj, "metadata", "labels", "app.kubernetes.io/instance") == namespace
        assert dig(obj, "metadata", "labels", "app.kubernetes.io/version") == __version__


def test_namespace_enforces_restricted_pod_security() -> None:
    labels = only(DeployOptions(), "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


# --- RBAC ---------------------------------------------------------------------------------


def _permission_set(permissions: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for r in permissions
        for group in r["apiGroups"]
        for resource in r["resources"]
        for verb in r["verbs"]
    }


def test_cluster_role_reads_exactly_what_the_collector_lists() -> None:
    role = only(DeployOptions(), "ClusterRole")
    expected = {
        (group, resource, verb)
        for group, resource in [
            ("", "namespaces"),
            ("", "pods"),
            ("", "services"),
            ("discovery.k8s.io", "endpointslices"),
            ("networking.k8s.io", "networkpolicies"),
            ("networking.k8s.io", "ingresses"),
            ("networking.k8s.io", "ingressclasses"),
            ("", "nodes"),
            ("policy.networking.k8s.io", "clusternetworkpolicies"),
            ("policy.networking.k8s.io", "adminnetworkpolicies"),
            ("policy.networking.k8s.io", "baselineadminnetworkpolicies"),
        ]
        for verb in ("get", "list")
    }
    assert _permission_set(role["rules"]) == expected
    assert not any("resourceNames" in r or "nonResourceURLs" in r for r in role["rules"])


def test_read_permissions_match_the_live_collector_resources() -> None:
    """If the collector starts listing another kind, the ClusterRole must follow."""
    listed = {
        (
            r.group_path.removeprefix("/apis/").rsplit("/", 1)[0]
            if r.group_path != "/api/v1"
            else "",
            r.plural,
        )
        for r in live.LISTED_RESOURCES
    } | {(r.group, r.plural) for r in live.OPTIONAL_RESOURCES}
    granted = {(group, res) for group, resources in CLUSTER_READ_PERMISSIONS for res in resources}
    assert granted == listed
    # The kube-system DaemonSets the collector reads to recognise the CNI.
    assert CNI_READ_PERMISSIONS == (("apps", ("daemonsets",)),)
    assert live.CNI_DAEMONSETS_PATH == "/apis/apps/v1/namespaces/kube-system/daemonsets"


@pytest.mark.parametrize("sink", list(Sink))
def test_no_secrets_and_no_write_verbs_outside_the_report_configmap(sink: Sink) -> None:
    for obj in render_manifests(DeployOptions(sink=sink)):
        if obj["kind"] not in ("ClusterRole", "Role"):
            continue
        for permission in dig_list(obj, "rules"):
            resources, verbs = dig_list(permission, "resources"), dig_list(permission, "verbs")
            assert "secrets" not in resources
            assert "*" not in resources and "*" not in verbs
            writes = WRITE_VERBS & set(verbs)
            if writes:
                assert sink is Sink.CONFIGMAP
                assert dig(obj, "metadata", "name") == "kaudit-report-writer"
                assert permission == {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": ["kaudit-report"],
                    "verbs": ["patch"],
                }


def test_cni_role_reads_daemonsets_in_kube_system_only() -> None:
    role = objects_by_kind(DeployOptions())["Role"][0]
    assert role["metadata"]["namespace"] == "kube-system"
    assert _permission_set(role["rules"]) == {
        ("apps", "daemonsets", "get"),
        ("apps", "daemonsets", "list"),
    }


def test_configmap_sink_ships_the_configmap_so_no_create_is_needed() -> None:
    options = DeployOptions(sink=Sink.CONFIGMAP, configmap_name="audit-results")
    grouped = objects_by_kind(options)
    (configmap,) = grouped["ConfigMap"]
    assert configmap["metadata"]["name"] == "audit-results"
    assert "data" not in configmap  # kaudit fills it; re-applying keeps its data
    writer = next(r for r in grouped["Role"] if r["metadata"]["namespace"] == "kaudit")
    assert writer["rules"][0]["resourceNames"] == ["audit-results"]
    binding = next(b for b in grouped["RoleBinding"] if b["metadata"]["namespace"] == "kaudit")
    assert binding["roleRef"]["name"] == writer["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kaudit", "namespace": "kaudit"}
    ]


@pytest.mark.parametrize("kind", ["ClusterRoleBinding", "RoleBinding"])
def test_bindings_name_only_the_kaudit_service_account(kind: str) -> None:
    for binding in objects_by_kind(DeployOptions(namespace="sec"))[kind]:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "kaudit", "namespace": "sec"}
        ]


# --- NetworkPolicies ------------------------------------------------------------------


def test_default_deny_both_directions() -> None:
    deny = objects_by_kind(DeployOptions())["NetworkPolicy"][0]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize(
    ("cidrs", "ports", "expected_peers", "expected_ports"),
    [
        (
            (),
            (443, 6443),
            [
                {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}},
                {"ipBlock": {"cidr": "::/0"}},
            ],
            [443, 6443],
        ),
        (
            ("172.18.0.3", "10.0.0.0/8"),
            (6443,),
            [{"ipBlock": {"cidr": "172.18.0.3/32"}}, {"ipBlock": {"cidr": "10.0.0.0/8"}}],
            [6443],
        ),
        (("fd00::1",), (443,), [{"ipBlock": {"cidr": "fd00::1/128"}}], [443]),
        (("10.1.2.3/16",), (443,), [{"ipBlock": {"cidr": "10.1.0.0/16"}}], [443]),
    ],
)
def test_egress_only_to_the_api_server_and_dns(
    cidrs: tuple[str, ...],
    ports: tuple[int, ...],
    expected_peers: list[dict[str, Any]],
    expected_ports: list[int],
) -> None:
    options = DeployOptions(api_server_cidrs=cidrs, api_server_ports=ports)
    egress = objects_by_kind(options)["NetworkPolicy"][1]
    assert egress["spec"]["policyTypes"] == ["Egress"]
    assert "ingress" not in egress["spec"]
    api, dns = egress["spec"]["egress"]
    assert api["to"] == expected_peers
    assert api["ports"] == [{"protocol": "TCP", "port": p} for p in expected_ports]
    assert dns == {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


# --- CronJob ---------------------------------------------------------------------------


def test_cronjob_schedule_concurrency_history_and_deadline() -> None:
    options = DeployOptions(
        schedule="*/30 * * * *", time_zone="Europe/Berlin", deadline_seconds=900
    )
    spec = only(options, "CronJob")["spec"]
    assert spec["schedule"] == "*/30 * * * *"
    assert spec["timeZone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 3
    job = spec["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 900
    fail_job = job["podFailurePolicy"]["rules"][0]
    assert fail_job["action"] == "FailJob"
    assert fail_job["onExitCodes"]["values"] == [1, 2, 4]  # findings, usage, incomplete
    assert "timeZone" not in only(DeployOptions(), "CronJob")["spec"]


def test_pod_passes_the_restricted_profile_fields() -> None:
    spec = pod_spec(DeployOptions())
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = spec["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    assert all("hostPath" not in v for v in spec["volumes"])


def test_token_only_where_needed_and_resources_set() -> None:
    options = DeployOptions(memory_limit="1Gi", image="registry.example/kaudit:1.2.3")
    assert only(options, "ServiceAccount")["automountServiceAccountToken"] is False
    spec = pod_spec(options)
    assert spec["automountServiceAccountToken"] is True
    assert spec["serviceAccountName"] == "kaudit"
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    assert container["image"] == "registry.example/kaudit:1.2.3"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    # kaudit-pod-default-ndots (KA404) must not fire on kaudit's own pods.
    assert spec["dnsConfig"] == {"options": [{"name": "ndots", "value": "2"}]}


@pytest.mark.parametrize(
    ("options", "args"),
    [
        (
            DeployOptions(),
            ["audit", "--in-cluster", "--quiet", "--fail-on", "high", "--format", "table"],
        ),
        (
            DeployOptions(formats=("json",), fail_on="critical"),
            ["audit", "--in-cluster", "--quiet", "--fail-on", "critical", "--format", "json"],
        ),
        (
            DeployOptions(sink=Sink.FILE, formats=("json", "html")),
            [
                "audit",
                "--in-cluster",
                "--quiet",
                "--fail-on",
                "high",
                "--format",
                "table",
                "--format",
                "json=/reports/kaudit.json",
                "--format",
                "html=/reports/kaudit.html",
                "--keep-previous",
            ],
        ),
        (
            DeployOptions(sink=Sink.CONFIGMAP, namespace="sec", fail_on="never"),
            [
                "audit",
                "--in-cluster",
                "--quiet",
                "--fail-on",
                "never",
                "--format",
                "table",
                "--configmap",
                "sec/kaudit-report",
                "--configmap-format",
                "json",
            ],
        ),
        (
            DeployOptions(audit_args=("--exclude-namespace=dev", "--include-system")),
            [
                "audit",
                "--in-cluster",
                "--quiet",
                "--fail-on",
                "high",
                "--format",
                "table",
                "--exclude-namespace=dev",
                "--include-system",
            ],
        ),
    ],
)
def test_audit_arguments_per_sink(options: DeployOptions, args: list[str]) -> None:
    assert audit_arguments(options.validate()) == args
    assert pod_spec(options)["containers"][0]["args"] == args


def test_file_sink_mounts_a_claim_writable_by_the_user() -> None:
    options = DeployOptions(sink=Sink.FILE, storage_size="1Gi", storage_class="standard")
    claim = only(options, "PersistentVolumeClaim")
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
        "storageClassName": "standard",
    }
    spec = pod_spec(options)
    assert {"name": "reports", "persistentVolumeClaim": {"claimName": "kaudit-reports"}} in spec[
        "volumes"
    ]
    assert {"name": "reports", "mountPath": "/reports"} in spec["containers"][0]["volumeMounts"]
    assert spec["securityContext"]["fsGroup"] == 65532
    assert "fsGroup" not in pod_spec(DeployOptions())["securityContext"]


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"namespace": "Kaudit"}, "--namespace"),
        ({"namespace": "a" * 64}, "--namespace"),
        ({"schedule": "every day"}, "--schedule"),
        ({"schedule": "TZ=UTC 0 3 * * *"}, "--time-zone"),
        ({"image": "kaudit latest"}, "--image"),
        ({"image_pull_policy": "Sometimes"}, "--image-pull-policy"),
        ({"fail_on": "urgent"}, "--fail-on"),
        ({"formats": ("pdf",)}, "--format"),
        ({"formats": ("json", "table")}, "the stdout sink takes one format"),
        ({"sink": Sink.FILE, "formats": ("json", "json")}, "each format once"),
        ({"api_server_cidrs": ("kubernetes.default",)}, "--api-server"),
        ({"api_server_ports": (0,)}, "--api-server-port"),
        ({"api_server_ports": ()}, "--api-server-port"),
        ({"deadline_seconds": 30}, "--deadline"),
        ({"memory_limit": "lots"}, "--memory-limit"),
        ({"configmap_name": "Report!"}, "--configmap-name"),
        ({"audit_args": ("--in-cluster",)}, "--audit-arg"),
        ({"audit_args": ("--format=json",)}, "--audit-arg"),
        ({"audit_args": ("--context=prod",)}, "--audit-arg"),
        ({"audit_args": ("-f",)}, "--audit-arg"),
    ],
)
def test_bad_options_are_input_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        render_manifests(dataclasses.replace(DeployOptions(), **changes))


@pytest.mark.parametrize("schedule", ["0 3 * * *", "@daily", "@hourly", "*/15 * * * 1-5"])
def test_good_schedules(schedule: str) -> None:
    assert only(DeployOptions(schedule=schedule), "CronJob")["spec"]["schedule"] == schedule


# --- the command --------------------------------------------------------------------------


def test_command_prints_a_yaml_stream_for_kubectl(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "deploy",
            "-n",
            "audit",
            "--sink",
            "configmap",
            "--api-server",
            "10.0.0.1",
            "--fail-on",
            "medium",
        ],
    )
    assert result.exit_code == 0, result.output
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert documents == render_manifests(
        DeployOptions(
            namespace="audit",
            sink=Sink.CONFIGMAP,
            api_server_cidrs=("10.0.0.1",),
            fail_on="medium",
        )
    )
    target = tmp_path / "kaudit.yaml"
    result = runner.invoke(app, ["deploy", "--output", str(target)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert [d["kind"] for d in yaml.safe_load_all(target.read_text()) if d][-1] == "CronJob"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--sink", "s3"], "'s3' is not one of"),
        (["--namespace", "Bad_Name"], "--namespace"),
        (["--api-server-port", "70000"], "--api-server-port"),
    ],
)
def test_command_rejects_bad_flags_with_exit_code_2(args: list[str], fragment: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from kaudit.cli import main; main()", "deploy", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert fragment in proc.stderr


# --- kaudit audits itself clean, before anything is applied ---------------------------


@pytest.mark.parametrize(
    "options",
    [
        DeployOptions(),
        DeployOptions(sink=Sink.FILE, namespace="security"),
        DeployOptions(
            sink=Sink.CONFIGMAP, api_server_cidrs=("172.18.0.3",), api_server_ports=(6443,)
        ),
    ],
    ids=["stdout-any-api-address", "file", "configmap-api-server"],
)
def test_rendered_set_audited_offline_has_no_finding_in_its_namespace(
    options: DeployOptions, tmp_path: Path
) -> None:
    from kaudit.audit import audit
    from kaudit.collect import Source, load_snapshot

    manifest = tmp_path / "kaudit.yaml"
    manifest.write_text(render_yaml(options))
    report = audit(load_snapshot(Source(manifests=(str(manifest),))))
    (summary,) = [n for n in report.namespaces if n.name == options.namespace]
    assert summary.pods == 1  # the CronJob's pod template, judged like a running pod
    assert summary.policies == 2
    assert summary.ingress_isolated_pods == summary.egress_isolated_pods == 1
    assert [f for f in report.findings if f.resource.namespace == options.namespace] == []
    assert [s for s in report.suppressed if s.finding.resource.namespace == options.namespace] == []
