"""Discovery of optional API groups on the real API server: a CRD served in two
versions, read in kaudit's most preferred one the server serves; a group or version
the server does not serve is left out without an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaudit.collect.live.credentials import connect
from kaudit.collect.live.discovery import OptionalResource, discover
from kaudit.model import Namespace, Resource, wire
from tests.plugins.clusterkit import Cluster

GROUP = "discovery-test.kaudit.dev"
CRD = f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{GROUP}
spec:
  group: {GROUP}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
  - name: v1alpha1
    served: true
    storage: false
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
  - name: v1alpha0
    served: false
    storage: false
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""


Widgets = OptionalResource[wire.Named, Namespace]


def widgets(*versions: str, group: str = GROUP, plural: str = "widgets") -> Widgets:
    return OptionalResource(
        Resource.NAMESPACES,  # any kind: only the resolution is under test
        group,
        versions,
        plural,
        True,
        "Widgets",
        wire.Named,
        Namespace.from_wire,
    )


@pytest.fixture(scope="module")
def served_crd(cluster: Cluster) -> Iterator[Cluster]:
    cluster.apply(CRD)
    cluster.kubectl("wait", "--for=condition=Established", f"crd/widgets.{GROUP}", "--timeout=60s")
    yield cluster
    cluster.kubectl("delete", f"crd/widgets.{GROUP}", "--wait=false")


def paths(served_crd: Cluster, *resources: Widgets) -> list[str]:
    client = connect(None, str(served_crd.kubeconfig), False, 10, 5).client
    found = discover(client, resources)
    assert found.refused == ()
    return [r.group_path for r in found.listed]


def test_the_most_preferred_served_version_is_read(served_crd: Cluster) -> None:
    assert paths(served_crd, widgets("v1", "v1alpha1")) == [f"/apis/{GROUP}/v1"]
    assert paths(served_crd, widgets("v1beta1", "v1alpha1", "v1")) == [f"/apis/{GROUP}/v1alpha1"]


def test_unserved_versions_groups_and_kinds_are_left_out(served_crd: Cluster) -> None:
    assert paths(served_crd, widgets("v1alpha0", "v2")) == []
    assert paths(served_crd, widgets("v1", group="absent.kaudit.dev")) == []
    assert paths(served_crd, widgets("v1", plural="gadgets")) == []
