"""`kaudit deploy` on the real control plane: accepted, restricted, sufficient, minimal.

The rendered set is applied with server-side apply into a fresh namespace that
enforces Pod Security "restricted"; a Job made from the CronJob proves admission
accepts its pod. kaudit then runs as the deployed ServiceAccount (a TokenRequest
token), first through a kubeconfig, then through the in-cluster path (token and
CA files, KUBERNETES_SERVICE_HOST/PORT): the audit of the demo is complete, its
own namespace has no finding, and the same identity may do nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaudit.deploy import DeployOptions, Sink, render_manifests, render_yaml
from kaudit.deploy.manifests import CLUSTER_READ_PERMISSIONS
from kaudit.errors import ExitCode
from tests.cluster.request_set import EVERY_KIND, check_request_set, kinds_listed
from tests.jsondig import dig
from tests.plugins.clusterkit import (
    REPO_ROOT,
    AuditLog,
    Cluster,
    apply,
    kubectl,
    kubectl_json,
    wait_for,
)

pytestmark = pytest.mark.cluster

DEMO = REPO_ROOT / "kaudit" / "demo" / "insecure"
# kube-system.yaml is left out: the cluster has its own DNS (and, on kind, its own
# CNI, which deleting the demo's copy afterwards would break).
# Nor its Gateway API file, whose CRDs the cluster does not have.
DEMO_FILES = sorted(
    p for p in DEMO.glob("*.yaml") if p.name not in ("kube-system.yaml", "gateway.yaml")
)
PODSECURITY_WARNING = "would violate PodSecurity"


@dataclass(frozen=True)
class Deployment:
    options: DeployOptions
    manifests: str
    apply_stderr: str

    @property
    def namespace(self) -> str:
        return self.options.namespace

    @property
    def pod_template(self) -> dict[str, Any]:
        cronjob = next(o for o in render_manifests(self.options) if o["kind"] == "CronJob")
        template = dig(cronjob, "spec", "jobTemplate", "spec", "template")
        assert isinstance(template, dict)
        return template


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from kaudit.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def deployment(cluster: Cluster) -> Iterator[Deployment]:
    """`kaudit deploy --sink configmap` applied server-side into a fresh namespace."""
    options = DeployOptions(
        namespace=f"kaudit-e2e-{uuid.uuid4().hex[:6]}",
        sink=Sink.CONFIGMAP,
        image="kaudit:e2e",
        fail_on="never",
    )
    manifests = render_yaml(options)
    proc = kubectl(
        "apply", "--server-side", "--field-manager=kaudit-e2e", "-f", "-", stdin=manifests
    )
    yield Deployment(options, manifests, proc.stderr)
    kubectl("delete", "--ignore-not-found", "--wait=false", "-f", "-", stdin=manifests, check=False)


@pytest.fixture(scope="module")
def demo(cluster: Cluster) -> Iterator[list[str]]:
    """The insecure demo's namespaces and workloads, removed afterwards."""
    namespaces = sorted(
        doc["metadata"]["name"]
        for path in DEMO_FILES
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "Namespace"
    )

    # Another test may have just deleted the demo; wait for it to be gone.
    wait_until_not_terminating(namespaces)
    for path in DEMO_FILES:
        apply(path)
    yield namespaces
    kubectl("delete", "namespace", *namespaces, "--wait=false", check=False)
    # Leave nothing Terminating behind for the next test that applies the demo.
    wait_until_not_terminating(namespaces)


def wait_until_not_terminating(namespaces: list[str]) -> None:
    def none_terminating() -> bool:
        return not any(
            ns["metadata"]["name"] in namespaces and ns["status"].get("phase") == "Terminating"
            for ns in kubectl_json("get", "namespaces")["items"]
        )

    wait_for(f"namespaces {', '.join(namespaces)} to finish terminating", none_terminating, 120)


def server_of(kubeconfig: dict[str, Any]) -> dict[str, Any]:
    current = kubeconfig.get("current-context")
    context = next(
        (c["context"] for c in kubeconfig["contexts"] if c["name"] == current),
        kubeconfig["contexts"][0]["context"],
    )
    cluster: dict[str, Any] = next(
        c["cluster"] for c in kubeconfig["clusters"] if c["name"] == context["cluster"]
    )
    return cluster


def ca_pem(cluster_entry: dict[str, Any]) -> bytes:
    if "certificate-authority-data" in cluster_entry:
        return base64.b64decode(cluster_entry["certificate-authority-data"])
    return Path(cluster_entry["certificate-authority"]).read_bytes()


def service_account_token(namespace: str) -> str:
    """A short-lived token for the kaudit ServiceAccount, from the TokenRequest API."""
    return kubectl("create", "token", "kaudit", "-n", namespace, "--duration=10m").stdout.strip()


@pytest.fixture(scope="module")
def token(deployment: Deployment) -> str:
    return service_account_token(deployment.namespace)


@pytest.fixture(scope="module")
def sa_kubeconfig(cluster: Cluster, token: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig that is only the kaudit ServiceAccount's token."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    entry = server_of(config)
    path = tmp_path_factory.mktemp("sa") / "kaudit-sa.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "target",
                        "cluster": {
                            "server": entry["server"],
                            "certificate-authority-data": base64.b64encode(ca_pem(entry)).decode(),
                        },
                    }
                ],
                "users": [{"name": "kaudit-sa", "user": {"token": token}}],
                "contexts": [
                    {"name": "kaudit-sa", "context": {"cluster": "target", "user": "kaudit-sa"}}
                ],
                "current-context": "kaudit-sa",
            }
        )
    )
    path.chmod(0o600)
    return path


def service_account_user(deployment: Deployment) -> str:
    """The user name the API server gives the deployed ServiceAccount's requests."""
    return f"system:serviceaccount:{deployment.namespace}:kaudit"


def kaudit_pod(deployment: Deployment, name: str) -> dict[str, Any]:
    """A bare Pod with the CronJob's pod template: what every scheduled run creates."""
    template = deployment.pod_template
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": deployment.namespace,
            "labels": template["metadata"]["labels"],
        },
        "spec": template["spec"],
    }


# --- accepted by the API server and by Pod Security admission ---------------------------


def test_applied_server_side_without_pod_security_warnings(
    cluster: Cluster, deployment: Deployment
) -> None:
    assert PODSECURITY_WARNING not in deployment.apply_stderr
    assert "Warning" not in deployment.apply_stderr, deployment.apply_stderr
    ns = kubectl_json("get", "namespace", deployment.namespace)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    cronjob = kubectl_json("get", "cronjob", "kaudit", "-n", deployment.namespace)
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 600
    # The server kept every field: nothing was dropped as unknown.
    rendered = deployment.pod_template["spec"]["containers"][0]
    stored = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert stored["securityContext"] == rendered["securityContext"]
    assert stored["args"] == rendered["args"]


@pytest.mark.parametrize(
    "variant",
    [
        {"sink": Sink.STDOUT, "formats": ("json",)},
        {"sink": Sink.FILE, "formats": ("json", "html"), "storage_class": "standard"},
        {"sink": Sink.CONFIGMAP, "api_server_cidrs": ("127.0.0.1",), "api_server_ports": (6443,)},
    ],
    ids=["stdout", "file", "configmap-api-server"],
)
def test_every_sink_variant_passes_server_side_validation_and_admission(
    cluster: Cluster, deployment: Deployment, variant: dict[str, Any]
) -> None:
    options = DeployOptions(namespace=deployment.namespace, image="kaudit:e2e", **variant)
    dry_run = kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=kaudit-e2e",  # as if the same user re-applied it
        "-f",
        "-",
        stdin=render_yaml(options),
    )
    assert "Warning" not in dry_run.stderr, dry_run.stderr
    # Pods are what admission enforces on: a dry-run Pod from this variant's template.
    pod = kaudit_pod(Deployment(options, "", ""), f"dry-run-{variant['sink']}")
    created = kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(pod))
    assert json.loads(created.stdout)["spec"]["securityContext"]["runAsNonRoot"] is True
    assert "Warning" not in created.stderr, created.stderr


def test_a_job_from_the_cronjob_gets_its_pod_admitted(
    cluster: Cluster, deployment: Deployment
) -> None:
    ns = deployment.namespace
    kubectl("create", "job", "kaudit-manual", "--from=cronjob/kaudit", "-n", ns)

    def pod_created() -> bool:
        pods = kubectl_json("get", "pods", "-n", ns, "-l", "job-name=kaudit-manual")["items"]
        return bool(pods)

    wait_for("the Job's pod to be created (admitted)", pod_created, timeout=60)
    events = kubectl_json("get", "events", "-n", ns)["items"]
    assert not [e for e in events if e.get("reason") == "FailedCreate"]


def test_the_namespace_really_enforces_restricted(cluster: Cluster, deployment: Deployment) -> None:
    """The control for the tests above: a pod that drops one requirement is refused."""
    pod = kaudit_pod(deployment, "not-restricted")
    del pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    proc = kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False)
    assert proc.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in proc.stderr
    assert "allowPrivilegeEscalation != false" in proc.stderr


# --- sufficient: the ServiceAccount audits the demo completely --------------------------


@pytest.fixture(scope="module")
def running_kaudit_pod(cluster: Cluster, deployment: Deployment) -> str:
    """A pod like the CronJob's in kaudit's namespace, so the audit judges it too."""
    name = "kaudit-audited"
    apply(json.dumps(kaudit_pod(deployment, name)))
    wait_for(
        "kaudit's pod to be scheduled",
        lambda: bool(
            kubectl_json("get", "pod", name, "-n", deployment.namespace)["spec"].get("nodeName")
        ),
    )
    return name


def configmap_data(deployment: Deployment) -> dict[str, Any]:
    configmap: dict[str, Any] = kubectl_json(
        "get", "configmap", deployment.options.configmap_name, "-n", deployment.namespace
    )
    return configmap


def test_service_account_audits_the_demo_completely_and_its_namespace_is_clean(
    cluster: Cluster,
    deployment: Deployment,
    demo: list[str],
    sa_kubeconfig: Path,
    running_kaudit_pod: str,
) -> None:
    ns = deployment.namespace
    log = AuditLog.start()
    proc = run_cli(
        "audit",
        "--kubeconfig",
        str(sa_kubeconfig),
        "--fail-on",
        "never",
        "--format",
        "json",
        "--quiet",
        "--configmap",
        f"{ns}/{deployment.options.configmap_name}",
        "--configmap-format",
        "json",
        "--configmap-format",
        "md",
    )
    # 0, not 4: every kind was readable, so the RBAC is sufficient.
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stderr == ""
    report = json.loads(proc.stdout)
    assert report["complete"] is True
    assert report["warnings"] == []
    assert report["incompleteRules"] == {}
    assert report["cluster"]["cniChecked"] is True

    # The API server's audit log: only the documented reads, and the one ConfigMap write.
    events = log.events(service_account_user(deployment))
    check_request_set(events, configmap=(ns, deployment.options.configmap_name))
    assert kinds_listed(events) == EVERY_KIND

    # The demo was audited: its planted problems are found.
    found_in = {f["resource"]["namespace"] for f in report["findings"]}
    assert set(demo) <= found_in

    # kaudit audits itself clean: its pod is seen, isolated, and nothing is found.
    (summary,) = [n for n in report["namespaces"] if n["name"] == ns]
    assert summary["pods"] >= 1
    assert summary["policies"] == 2
    assert summary["ingressIsolatedPods"] == summary["pods"]
    assert summary["egressIsolatedPods"] == summary["pods"]
    assert sum(summary["findings"].values()) == 0
    assert [f for f in report["findings"] if f["resource"]["namespace"] == ns] == []
    assert [s for s in report["suppressed"] if s["finding"]["resource"]["namespace"] == ns] == []

    # The ConfigMap sink wrote the same report (the one write the identity may make).
    stored = configmap_data(deployment)
    data = stored["data"]
    assert sorted(data) == ["report.json", "report.md"]
    assert json.loads(data["report.json"])["findings"] == report["findings"]
    assert data["report.md"].startswith("# kaudit report")
    annotations = stored["metadata"]["annotations"]
    assert annotations["kaudit.io/generated-at"] == report["generatedAt"]
    assert "kaudit.io/truncated" not in annotations


def test_exit_code_follows_fail_on_for_the_service_account(
    cluster: Cluster, deployment: Deployment, demo: list[str], sa_kubeconfig: Path
) -> None:
    common = ["audit", "--kubeconfig", str(sa_kubeconfig), "--format", "json", "--quiet"]
    failing = run_cli(*common, "--fail-on", "high")
    assert failing.returncode == ExitCode.FINDINGS, failing.stderr
    assert any(
        f["severity"] in ("high", "critical") for f in json.loads(failing.stdout)["findings"]
    )
    passing = run_cli(*common, "--fail-on", "never")
    assert passing.returncode == ExitCode.OK, passing.stderr


# --- minimal: the ServiceAccount may do nothing else -------------------------------------

# What system:authenticated may do anywhere (the self-review APIs); not ours to trim.
SELF_REVIEWS = {
    ("authentication.k8s.io", "selfsubjectreviews", "", "create"),
    ("authorization.k8s.io", "selfsubjectaccessreviews", "", "create"),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "", "create"),
}
CLUSTER_READS = {
    (group, resource, "", verb)
    for group, resource in [
        ("", "namespaces"),
        ("", "pods"),
        ("", "services"),
        ("discovery.k8s.io", "endpointslices"),
        ("networking.k8s.io", "ingressclasses"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "networkpolicies"),
        *(
            ("gateway.networking.k8s.io", plural)
            for plural in (
                "gatewayclasses",
                "gateways",
                "grpcroutes",
                "httproutes",
                "listenersets",
                "referencegrants",
                "tcproutes",
                "tlsroutes",
                "udproutes",
            )
        ),
        ("gateway.networking.x-k8s.io", "xlistenersets"),
        ("", "nodes"),
        ("policy.networking.k8s.io", "clusternetworkpolicies"),
        ("policy.networking.k8s.io", "adminnetworkpolicies"),
        ("policy.networking.k8s.io", "baselineadminnetworkpolicies"),
    ]
    for verb in ("get", "list")
} | {
    # CNI policy kinds (Cilium, Calico) and ServiceAccounts, from the ClusterRole's table
    (group, resource, "", verb)
    for group, resources in CLUSTER_READ_PERMISSIONS
    if group in ("cilium.io", "projectcalico.org", "crd.projectcalico.org")
    or resources == ("serviceaccounts",)
    for resource in resources
    for verb in ("get", "list")
}


def resource_rules(kubeconfig: Path, namespace: str) -> set[tuple[str, str, str, str]]:
    """The identity's own view of its permissions in `namespace` (SelfSubjectRulesReview)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    proc = kubectl(
        "create",
        "--validate=false",
        "-f",
        "-",
        "-o",
        "json",
        stdin=json.dumps(review),
        kubeconfig=kubeconfig,
    )
    status = json.loads(proc.stdout)["status"]
    assert not status.get("incomplete"), status.get("evaluationError")
    return {
        (group, resource, name, verb)
        for rule in status["resourceRules"]
        for group in rule.get("apiGroups", [""])
        for resource in rule["resources"]
        for name in rule.get("resourceNames") or [""]
        for verb in rule["verbs"]
    }


def test_service_account_rules_are_exactly_the_rendered_ones(
    cluster: Cluster, deployment: Deployment, sa_kubeconfig: Path, demo: list[str]
) -> None:
    ns = deployment.namespace
    report_writer = {("", "configmaps", deployment.options.configmap_name, "patch")}
    cni_reads = {("apps", "daemonsets", "", "get"), ("apps", "daemonsets", "", "list")}
    assert resource_rules(sa_kubeconfig, ns) == SELF_REVIEWS | CLUSTER_READS | report_writer
    assert resource_rules(sa_kubeconfig, "kube-system") == SELF_REVIEWS | CLUSTER_READS | cni_reads
    assert resource_rules(sa_kubeconfig, "shop") == SELF_REVIEWS | CLUSTER_READS


@pytest.mark.parametrize(
    ("args", "namespaced", "refusal"),
    [
        (("get", "secrets", "--all-namespaces"), False, 'cannot list resource "secrets"'),
        (("get", "secrets"), True, 'cannot list resource "secrets"'),
        # patch only: kaudit never reads its ConfigMap back
        (("get", "configmap", "kaudit-report"), True, 'cannot get resource "configmaps"'),
        (
            ("create", "configmap", "other", "--from-literal=a=b"),
            True,
            'cannot create resource "configmaps"',
        ),
        (
            ("delete", "networkpolicy", "default-deny-all"),
            True,
            'cannot delete resource "networkpolicies"',
        ),
        (
            ("label", "namespace", "shop", "audited=true"),
            False,
            'cannot patch resource "namespaces"',
        ),
        (("create", "token", "kaudit"), True, 'cannot create resource "serviceaccounts/token"'),
        (("get", "daemonsets", "-n", "default"), False, 'cannot list resource "daemonsets"'),
        (("get", "persistentvolumes"), False, 'cannot list resource "persistentvolumes"'),
        (
            ("get", "pods", "--all-namespaces", "--watch", "--request-timeout=5s"),
            False,
            'cannot watch resource "pods"',
        ),
        (
            ("delete", "pods", "--all", "-n", "shop", "--dry-run=server"),
            False,
            'cannot delete resource "pods"',
        ),
        (
            ("create", "namespace", "kaudit-was-here", "--dry-run=server"),
            False,
            'cannot create resource "namespaces"',
        ),
    ],
)
def test_service_account_is_refused_anything_else(
    cluster: Cluster,
    deployment: Deployment,
    sa_kubeconfig: Path,
    demo: list[str],
    args: tuple[str, ...],
    namespaced: bool,
    refusal: str,
) -> None:
    full = (*args, "-n", deployment.namespace) if namespaced else args
    proc = kubectl(*full, kubeconfig=sa_kubeconfig, check=False)
    assert proc.returncode != 0, proc.stdout
    assert "forbidden" in proc.stderr.lower()
    assert refusal in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("verb", "resource", "namespace", "allowed"),
    [
        ("patch", "configmaps/kaudit-report", "OWN", True),
        ("patch", "configmaps/kube-root-ca.crt", "OWN", False),
        ("update", "configmaps/kaudit-report", "OWN", False),
        ("delete", "configmaps/kaudit-report", "OWN", False),
        ("create", "configmaps", "OWN", False),
        ("patch", "configmaps/kaudit-report", "shop", False),
        ("list", "daemonsets.apps", "kube-system", True),
        ("list", "daemonsets.apps", "OWN", False),
        ("list", "networkpolicies.networking.k8s.io", "shop", True),
        ("watch", "networkpolicies.networking.k8s.io", "shop", False),
        ("create", "networkpolicies.networking.k8s.io", "OWN", False),
        ("get", "secrets", "kube-system", False),
        ("impersonate", "serviceaccounts", "kube-system", False),
        ("create", "pods --subresource=exec", "shop", False),
        ("get", "pods --subresource=log", "shop", False),
        ("get", "pods", "shop", True),
        ("create", "jobs.batch", "OWN", False),
    ],
)
def test_can_i(
    cluster: Cluster,
    deployment: Deployment,
    sa_kubeconfig: Path,
    verb: str,
    resource: str,
    namespace: str,
    allowed: bool,
) -> None:
    where = deployment.namespace if namespace == "OWN" else namespace
    proc = kubectl(
        "auth", "can-i", verb, *resource.split(), "-n", where, kubeconfig=sa_kubeconfig, check=False
    )
    assert proc.stdout.strip() == ("yes" if allowed else "no"), proc.stderr
    assert proc.returncode == (0 if allowed else 1)


def test_service_account_may_read_what_it_audits(
    cluster: Cluster, deployment: Deployment, sa_kubeconfig: Path
) -> None:
    """The control for the refusals above: the same kubeconfig does work."""
    for args in (
        ("get", "networkpolicies", "--all-namespaces"),
        ("get", "endpointslices", "--all-namespaces"),
        ("get", "daemonsets", "-n", "kube-system"),
        ("get", "namespace", deployment.namespace),
    ):
        proc = kubectl(*args, kubeconfig=sa_kubeconfig, check=False)
        assert proc.returncode == 0, proc.stderr


# --- the in-cluster code path ----------------------------------------------------------


def test_in_cluster_path_with_token_and_ca_files(
    cluster: Cluster,
    deployment: Deployment,
    demo: list[str],
    running_kaudit_pod: str,
    tmp_path: Path,
) -> None:
    entry = server_of(yaml.safe_load(cluster.kubeconfig.read_text()))
    server = urllib.parse.urlsplit(entry["server"])
    assert server.hostname
    assert server.port
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(service_account_token(deployment.namespace))
    (account / "ca.crt").write_bytes(ca_pem(entry))
    (account / "namespace").write_text(deployment.namespace)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
    }
    env |= {
        "KUBERNETES_SERVICE_HOST": server.hostname,
        "KUBERNETES_SERVICE_PORT": str(server.port),
        "KAUDIT_SERVICEACCOUNT_DIR": str(account),
        "HOME": str(tmp_path),  # no ~/.kube/config to fall back on
    }
    before = configmap_data(deployment)["metadata"].get("resourceVersion")
    # What the CronJob runs, with the ConfigMap named as in-cluster users may: no namespace.
    args = list(deployment.pod_template["spec"]["containers"][0]["args"])
    args[args.index("--configmap") + 1] = deployment.options.configmap_name
    log = AuditLog.start()
    proc = run_cli(*args, env=env)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stderr == ""
    assert "SEVERITY" in proc.stdout  # the table for the Job's log
    events = log.events(service_account_user(deployment))
    check_request_set(events, configmap=(deployment.namespace, deployment.options.configmap_name))
    assert kinds_listed(events) == EVERY_KIND
    stored = configmap_data(deployment)
    assert stored["metadata"]["resourceVersion"] != before
    report = json.loads(stored["data"]["report.json"])
    assert report["cluster"]["context"] == "in-cluster"
    assert report["cluster"]["server"] == f"https://{server.hostname}:{server.port}"
    assert report["complete"] is True
    assert [
        f for f in report["findings"] if f["resource"]["namespace"] == deployment.namespace
    ] == []


def test_in_cluster_without_service_account_files_is_a_cluster_error(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "1",
        "KAUDIT_SERVICEACCOUNT_DIR": str(tmp_path / "none"),
    }
    proc = run_cli("audit", "--in-cluster", "--quiet", env=env)
    assert proc.returncode == ExitCode.CLUSTER
    assert proc.stderr.startswith("kaudit: error:")
    assert len(proc.stderr.strip().splitlines()) == 1
