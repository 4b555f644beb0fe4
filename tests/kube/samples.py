"""Small but valid objects of every kind JSORC applies, and where the API serves each.

The paths are written out by hand, from the Kubernetes API reference, so a test that
compares them with the requests the code made checks the kind table independently.
"""

from __future__ import annotations

import copy
from typing import Any

NAMESPACE = "jsorc"
RBAC = "rbac.authorization.k8s.io/v1"

# kind -> (apiVersion, kmock resource, namespaced, collection path in NAMESPACE)
WHERE: dict[str, tuple[str, str, bool, str]] = {
    "Namespace": ("v1", "v1/namespaces", False, "/api/v1/namespaces"),
    "ServiceAccount": (
        "v1",
        "v1/serviceaccounts",
        True,
        "/api/v1/namespaces/jsorc/serviceaccounts",
    ),
    "Service": ("v1", "v1/services", True, "/api/v1/namespaces/jsorc/services"),
    "ConfigMap": ("v1", "v1/configmaps", True, "/api/v1/namespaces/jsorc/configmaps"),
    "Secret": ("v1", "v1/secrets", True, "/api/v1/namespaces/jsorc/secrets"),
    "PersistentVolumeClaim": (
        "v1",
        "v1/persistentvolumeclaims",
        True,
        "/api/v1/namespaces/jsorc/persistentvolumeclaims",
    ),
    "Deployment": (
        "apps/v1",
        "apps/v1/deployments",
        True,
        "/apis/apps/v1/namespaces/jsorc/deployments",
    ),
    "StatefulSet": (
        "apps/v1",
        "apps/v1/statefulsets",
        True,
        "/apis/apps/v1/namespaces/jsorc/statefulsets",
    ),
    "DaemonSet": (
        "apps/v1",
        "apps/v1/daemonsets",
        True,
        "/apis/apps/v1/namespaces/jsorc/daemonsets",
    ),
    "ClusterRole": (RBAC, f"{RBAC}/clusterroles", False, f"/apis/{RBAC}/clusterroles"),
    "ClusterRoleBinding": (
        RBAC,
        f"{RBAC}/clusterrolebindings",
        False,
        f"/apis/{RBAC}/clusterrolebindings",
    ),
    "Role": (RBAC, f"{RBAC}/roles", True, f"/apis/{RBAC}/namespaces/jsorc/roles"),
    "RoleBinding": (
        RBAC,
        f"{RBAC}/rolebindings",
        True,
        f"/apis/{RBAC}/namespaces/jsorc/rolebindings",
    ),
    "CustomResourceDefinition": (
        "apiextensions.k8s.io/v1",
        "apiextensions.k8s.io/v1/customresourcedefinitions",
        False,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ),
    "Widget": (
        "example.com/v1",
        "example.com/v1/widgets",
        True,
        "/apis/example.com/v1/namespaces/jsorc/widgets",
    ),
}

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def pod_template(name: str, *, image: str = "example.org/app:1") -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


def workload(kind: str, name: str, **more: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}}
    spec["template"] = pod_template(name)
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return _object(kind, name, spec=spec, **more)


def sample(kind: str, name: str) -> dict[str, Any]:
    """A minimal object of `kind` that the client's schema and a real API server accept."""
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return workload(kind, name)
    if kind == "CustomResourceDefinition":
        return copy.deepcopy(WIDGET_CRD)
    bodies: dict[str, dict[str, Any]] = {
        "Namespace": {},
        "ServiceAccount": {},
        "Service": {"spec": {"selector": {"app": name}, "ports": [{"port": 80}]}},
        "ConfigMap": {"data": {"greeting": "hello"}},
        "Secret": {"stringData": {"token": "not-a-real-secret"}},
        "PersistentVolumeClaim": {
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            }
        },
        "ClusterRole": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        "Role": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        "ClusterRoleBinding": _binding("ClusterRole"),
        "RoleBinding": _binding("Role"),
        "Widget": {"spec": {"size": 3}},
    }
    return _object(kind, name, **bodies[kind])


def _binding(role_kind: str) -> dict[str, Any]:
    return {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "jsorc", "namespace": NAMESPACE}],
    }


def _object(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    api_version, _, namespaced, _ = WHERE[kind]
    metadata: dict[str, Any] = {"name": name}
    if namespaced:
        metadata["namespace"] = NAMESPACE
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
