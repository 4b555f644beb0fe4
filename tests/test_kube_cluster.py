"""End to end on a real Kubernetes cluster, only when asked: JSORC_TEST_KUBERNETES=1.

The cluster comes from the usual settings (JSORC_KUBECONFIG, else ~/.kube/config;
JSORC_NAMESPACE, which must exist). Everything made here carries a per-run owner and is
deleted at the end. The Deployment runs JSORC_TEST_IMAGE (a pause image by default).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jsorc.backends.kubernetes import available
from jsorc.kube.client import KubeClient, connect
from jsorc.kube.kinds import BUILTIN_BY_NAME
from jsorc.kube.objects import Ref
from jsorc.kube.reconciling import prune, reconcile
from jsorc.kube.watching import wait_for
from jsorc.settings import Settings

pytestmark = [
    pytest.mark.kubernetes,
    pytest.mark.skipif(
        os.environ.get("JSORC_TEST_KUBERNETES") != "1",
        reason="needs a real Kubernetes cluster: set JSORC_TEST_KUBERNETES=1 (see README)",
    ),
]

# Seconds a real Deployment gets to have a ready pod (an image pull included).
AVAILABLE_WITHIN = 180.0


@pytest.fixture
def cluster() -> Iterator[tuple[KubeClient, Settings, str]]:
    settings = Settings.from_env()
    client = connect(settings)
    owner = f"test-{uuid.uuid4().hex[:8]}"
    yield client, settings, owner
    prune(client, owner=owner, namespace=settings.namespace, unsafe=True)
    client.close()


def manifest(owner: str, *, greeting: str = "hello") -> list[dict[str, Any]]:
    image = os.environ.get("JSORC_TEST_IMAGE", "registry.k8s.io/pause:3.9")
    labels = {"app": owner}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{owner}-settings"},
            "data": {"greeting": greeting},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": owner},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": owner},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "main", "image": image}]},
                },
            },
        },
    ]


def test_a_manifest_is_applied_kept_patched_and_pruned_on_a_real_cluster(
    cluster: tuple[KubeClient, Settings, str],
) -> None:
    client, settings, owner = cluster
    namespace = settings.namespace

    created = reconcile(client, manifest(owner), owner=owner, namespace=namespace, unsafe=False)
    deployment = Ref(BUILTIN_BY_NAME["Deployment"], owner, namespace)
    wait_for(client, deployment, available, timeout=AVAILABLE_WITHIN, what=f"{deployment}")
    kept = reconcile(client, manifest(owner), owner=owner, namespace=namespace, unsafe=False)
    changed = manifest(owner, greeting="bonjour")
    patched = reconcile(client, changed, owner=owner, namespace=namespace, unsafe=False)
    pruned = reconcile(client, changed[:1], owner=owner, namespace=namespace, unsafe=False)

    assert len(created.created) == 3
    assert len(kept.kept) == 3
    assert patched.patched == [f"ConfigMap {namespace}/{owner}-settings"]
    assert set(pruned.deleted) == {
        f"Service {namespace}/{owner}",
        f"Deployment {namespace}/{owner}",
    }
