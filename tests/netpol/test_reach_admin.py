"""`kaudit reach` answers with the admin tiers, and no longer calls them unevaluated."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import kaudit

INPUT = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: b, labels: {app: client}}
spec: {containers: [{name: c}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: isolate, action: Deny, from: [{namespaces: {}}]}
"""


def test_reach_names_the_baseline_rule_that_denies(tmp_path: Path) -> None:
    manifest = tmp_path / "in.yaml"
    manifest.write_text(INPUT)
    pair = kaudit("reach", "-f", str(manifest), "--from", "b/client", "--to", "a/web")
    assert pair.returncode == 0, pair.stderr
    assert pair.stderr == ""  # nothing was left out
    assert pair.stdout.splitlines()[0] == "b/client -> a/web 80/TCP: DENIED"
    assert (
        "ingress of a/web: denied by BaselineAdminNetworkPolicy default ingress[0] 'isolate' "
        "(Baseline tier)"
    ) in pair.stdout
    matrix = kaudit("reach", "-f", str(manifest), "--port", "80", "--format", "json")
    assert matrix.returncode == 0, matrix.stderr
    assert json.loads(matrix.stdout)["allowed"] == {
        "a/web": {"a/web": True, "b/client": False},
        "b/client": {"a/web": False, "b/client": True},
    }
    # Near miss: without the baseline policy the pair connects.
    manifest.write_text(INPUT.split("---\napiVersion: policy")[0])
    assert (
        "ALLOWED"
        in kaudit("reach", "-f", str(manifest), "--from", "b/client", "--to", "a/web").stdout
    )
