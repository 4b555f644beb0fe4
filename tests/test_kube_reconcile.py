"""Reconciliation of whole manifests against an HTTP-level emulator of the API server:
create all, re-apply and keep all, patch only what changed, delete what was dropped,
keep volume claims unless unsafe, and never touch another owner's objects.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jsorc.kube import errors
from jsorc.kube.client import KubeClient
from jsorc.kube.reconciling import prune, reconcile
from tests.kube.emulator import ApiServerEmulator
from tests.kube.samples import NAMESPACE, WHERE, WIDGET_CRD, sample

OWNER = "stack"
# Kinds and how many of each the big manifest holds. No Namespace: kmock 0.8 cannot
# serve /api/v1/namespaces (see test_kube_verbs).
COUNTS = {
    "ServiceAccount": 2,
    "ClusterRole": 1,
    "ClusterRoleBinding": 1,
    "Role": 1,
    "RoleBinding": 1,
    "ConfigMap": 10,
    "Secret": 3,
    "PersistentVolumeClaim": 2,
    "Service": 5,
    "Deployment": 5,
    "StatefulSet": 1,
    "DaemonSet": 1,
    "Widget": 3,
}


def big_manifest() -> list[dict[str, Any]]:
    objects = [copy.deepcopy(WIDGET_CRD)]
    for kind, count in COUNTS.items():
        objects += [sample(kind, f"{kind.lower()}-{n}") for n in range(count)]
    return objects


def described(objects: list[dict[str, Any]]) -> set[str]:
    """How a report names objects: "Kind namespace/name", or "Kind name" cluster-wide."""
    names = set()
    for obj in objects:
        where = f"{NAMESPACE}/" if WHERE[obj["kind"]][2] else ""
        names.add(f"{obj['kind']} {where}{obj['metadata']['name']}")
    return names


def stored(emulator: ApiServerEmulator) -> set[str]:
    """The same names, for every object the emulator holds."""
    names = set()
    for kind, (_, resource, namespaced, _) in WHERE.items():
        namespace = NAMESPACE if namespaced else None
        for name in emulator.names(resource, namespace):
            names.add(f"{kind} {NAMESPACE + '/' if namespaced else ''}{name}")
    return names


def apply(client: KubeClient, objects: list[dict[str, Any]], **options: Any) -> Any:
    options = {"owner": OWNER, "namespace": NAMESPACE, "unsafe": False, **options}
    return reconcile(client, objects, **options)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_a_manifest_of_dozens_of_objects_is_created_in_full(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = big_manifest()
    assert len(manifest) == 37

    report = apply(client, manifest)

    assert set(report.created) == described(manifest)
    assert len(report.created) == 37
    assert report.patched == report.kept == report.deleted == report.retained == []
    assert stored(emulator) == described(manifest)
    deployment = emulator.get("apps/v1/deployments", NAMESPACE, "deployment-0")
    assert deployment["metadata"]["labels"]["jsorc.owner"] == OWNER
    assert deployment["metadata"]["labels"]["jsorc.namespace"] == NAMESPACE
    assert deployment["metadata"]["labels"]["jsorc.version"]


def test_definitions_are_created_before_what_depends_on_them(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = list(reversed(big_manifest()))

    apply(client, manifest)

    posts = [path for method, path in emulator.writes() if method == "POST"]
    first = {path: posts.index(path) for path in posts}
    where = {kind: collection for kind, (_, _, _, collection) in WHERE.items()}
    assert first[where["CustomResourceDefinition"]] < first[where["Widget"]]
    assert first[where["ServiceAccount"]] < first[where["RoleBinding"]]
    assert first[where["ConfigMap"]] < first[where["Deployment"]]
    assert first[where["Service"]] < first[where["Deployment"]]


def test_applying_the_same_manifest_again_keeps_everything(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = big_manifest()
    apply(client, manifest)
    writes_before = len(emulator.writes())

    report = apply(client, manifest)

    assert set(report.kept) == described(manifest)
    assert report.created == report.patched == report.deleted == []
    assert len(emulator.writes()) == writes_before


def test_changing_one_object_patches_only_that_object(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = big_manifest()
    apply(client, manifest)
    writes_before = len(emulator.writes())
    find(manifest, "ConfigMap", "configmap-3")["data"] = {"greeting": "bonjour"}

    report = apply(client, manifest)

    assert report.patched == ["ConfigMap jsorc/configmap-3"]
    assert len(report.kept) == 36
    new_writes = emulator.writes()[writes_before:]
    assert new_writes == [("PATCH", "/api/v1/namespaces/jsorc/configmaps/configmap-3")]
    sent = [r for r in emulator.requests() if r.method.value == "PATCH"][-1].data
    assert sent["data"] == {"greeting": "bonjour"}
    assert emulator.get("v1/configmaps", NAMESPACE, "configmap-3")["data"] == {
        "greeting": "bonjour"
    }
    assert apply(client, manifest).patched == []  # the new version sticks


def test_a_key_dropped_from_the_manifest_is_removed_from_the_object(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    settings = sample("ConfigMap", "settings")
    settings["data"] = {"host": "db", "port": "5432"}
    settings["metadata"]["labels"] = {"tier": "gold"}
    apply(client, [settings])
    del settings["data"]["port"]
    del settings["metadata"]["labels"]

    apply(client, [settings])

    sent = [r for r in emulator.requests() if r.method.value == "PATCH"][-1].data
    assert sent["data"] == {"host": "db", "port": None}
    assert sent["metadata"]["labels"]["tier"] is None
    live = emulator.get("v1/configmaps", NAMESPACE, "settings")
    assert live["data"] == {"host": "db"}
    assert "tier" not in live["metadata"]["labels"]


def test_objects_dropped_from_the_manifest_are_deleted_but_volume_claims_kept(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = big_manifest()
    apply(client, manifest)
    dropped = [
        ("ConfigMap", "configmap-7"),
        ("ConfigMap", "configmap-8"),
        ("Deployment", "deployment-4"),
        ("ClusterRole", "clusterrole-0"),
        ("Widget", "widget-2"),
        ("PersistentVolumeClaim", "persistentvolumeclaim-1"),
    ]
    gone = [find(manifest, kind, name) for kind, name in dropped]
    remaining = [obj for obj in manifest if obj not in gone]

    report = apply(client, remaining)

    pvc = "PersistentVolumeClaim jsorc/persistentvolumeclaim-1"
    assert set(report.deleted) == described(gone) - {pvc}
    assert report.retained == [pvc]
    assert set(report.kept) == described(remaining)
    assert stored(emulator) == described(remaining) | {pvc}


def test_unsafe_deletes_a_dropped_volume_claim_too(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    claim, config = sample("PersistentVolumeClaim", "data"), sample("ConfigMap", "settings")
    apply(client, [claim, config])

    report = apply(client, [config], unsafe=True)

    assert report.deleted == ["PersistentVolumeClaim jsorc/data"]
    assert emulator.names("v1/persistentvolumeclaims", NAMESPACE) == set()


def test_another_owners_objects_are_left_alone(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    apply(client, [sample("ConfigMap", "theirs")], owner="service-redis")
    apply(client, [sample("ConfigMap", "mine")])

    report = apply(client, [])

    assert report.deleted == ["ConfigMap jsorc/mine"]
    assert emulator.names("v1/configmaps", NAMESPACE) == {"theirs"}


def test_an_object_held_by_another_owner_is_a_conflict(client: KubeClient) -> None:
    apply(client, [sample("ConfigMap", "shared")], owner="service-redis")

    with pytest.raises(errors.Conflict, match="belongs to 'service-redis'"):
        apply(client, [sample("ConfigMap", "shared")])


def test_an_object_made_by_hand_is_adopted(emulator: ApiServerEmulator, client: KubeClient) -> None:
    emulator.put("v1/configmaps", NAMESPACE, "settings", sample("ConfigMap", "settings"))

    report = apply(client, [sample("ConfigMap", "settings")])

    assert report.patched == ["ConfigMap jsorc/settings"]
    labels = emulator.get("v1/configmaps", NAMESPACE, "settings")["metadata"]["labels"]
    assert labels["jsorc.owner"] == OWNER


def test_a_failure_half_way_deletes_nothing(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = big_manifest()
    apply(client, manifest)
    find(manifest, "Deployment", "deployment-2")["spec"]["replicas"] = 3
    remaining = [obj for obj in manifest if obj["metadata"]["name"] != "configmap-9"]
    status = {"kind": "Status", "code": 503, "message": "etcd is down"}
    emulator.react(lambda h: h["patch"][:1] << 503 << status)

    with pytest.raises(errors.Unavailable, match="etcd is down"):
        apply(client, remaining)

    assert stored(emulator) == described(manifest)
    assert not [write for write in emulator.writes() if write[0] == "DELETE"]


def test_an_unsafe_manifest_is_rejected_before_any_request(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = big_manifest()
    pod = find(manifest, "Deployment", "deployment-1")["spec"]["template"]["spec"]
    pod["containers"][0]["securityContext"] = {"privileged": True}

    with pytest.raises(errors.ManifestError, match="deployment-1.*privileged"):
        apply(client, manifest)
    assert emulator.requests() == []


def test_prune_deletes_all_an_owner_applied(
    emulator: ApiServerEmulator, client: KubeClient
) -> None:
    manifest = [sample("ConfigMap", "a"), sample("Service", "b"), sample("Deployment", "c")]
    apply(client, manifest)

    report = prune(client, owner=OWNER, namespace=NAMESPACE, unsafe=False)

    assert set(report.deleted) == described(manifest)
    assert stored(emulator) == set()
    assert prune(client, owner=OWNER, namespace=NAMESPACE, unsafe=False).deleted == []
