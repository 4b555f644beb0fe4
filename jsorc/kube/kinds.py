"""The kinds JSORC applies, and which client API serves each one.

A Kind names its typed API class and the noun of its methods (`create_namespaced_<noun>`);
a custom kind has no class and goes through CustomObjectsApi, its plural and scope taken
from a CustomResourceDefinition. The table also fixes the order objects are applied in.
Not here: making calls (objects.py) or deciding what a manifest may contain (checks.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from kubernetes import client as k8s


@dataclasses.dataclass(frozen=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    namespaced: bool
    # The typed API class and its method noun; None for custom objects.
    api: type | None = None
    noun: str = ""
    # Never deleted when dropped from a manifest unless JSORC runs unsafe: deleting one
    # takes data along (a volume's contents, every object of a CRD).
    protected: bool = False
    # Looked for among the objects a manifest dropped. Not so for JSORC's own namespace:
    # it holds JSORC itself, so reconciliation never deletes it, unsafe or not.
    prunable: bool = True
    # The versions a custom kind is served at (its CRD's); empty for built-ins.
    versions: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def custom(self) -> bool:
        return self.api is None


def _kind(kind: str, api_version: str, plural: str, api: type, noun: str, **more: Any) -> Kind:
    return Kind(kind, api_version, plural, api=api, noun=noun, **more)


_CORE, _APPS = k8s.CoreV1Api, k8s.AppsV1Api
_RBAC, _EXT = k8s.RbacAuthorizationV1Api, k8s.ApiextensionsV1Api
_RBAC_V1 = "rbac.authorization.k8s.io/v1"

# In apply order: what others refer to comes first. Deletion runs in reverse.
BUILTIN: tuple[Kind, ...] = (
    _kind(
        "Namespace",
        "v1",
        "namespaces",
        _CORE,
        "namespace",
        namespaced=False,
        protected=True,
        prunable=False,
    ),
    _kind(
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        _EXT,
        "custom_resource_definition",
        namespaced=False,
        protected=True,
    ),
    _kind("ServiceAccount", "v1", "serviceaccounts", _CORE, "service_account", namespaced=True),
    _kind("ClusterRole", _RBAC_V1, "clusterroles", _RBAC, "cluster_role", namespaced=False),
    _kind(
        "ClusterRoleBinding",
        _RBAC_V1,
        "clusterrolebindings",
        _RBAC,
        "cluster_role_binding",
        namespaced=False,
    ),
    _kind("Role", _RBAC_V1, "roles", _RBAC, "role", namespaced=True),
    _kind("RoleBinding", _RBAC_V1, "rolebindings", _RBAC, "role_binding", namespaced=True),
    _kind("ConfigMap", "v1", "configmaps", _CORE, "config_map", namespaced=True),
    _kind("Secret", "v1", "secrets", _CORE, "secret", namespaced=True),
    _kind(
        "PersistentVolumeClaim",
        "v1",
        "persistentvolumeclaims",
        _CORE,
        "persistent_volume_claim",
        namespaced=True,
        protected=True,
    ),
    _kind("Service", "v1", "services", _CORE, "service", namespaced=True),
    _kind("Deployment", "apps/v1", "deployments", _APPS, "deployment", namespaced=True),
    _kind("StatefulSet", "apps/v1", "statefulsets", _APPS, "stateful_set", namespaced=True),
    _kind("DaemonSet", "apps/v1", "daemonsets", _APPS, "daemon_set", namespaced=True),
)
BUILTIN_BY_NAME: dict[str, Kind] = {kind.kind: kind for kind in BUILTIN}
# Custom objects come last: their definitions must exist first.
CUSTOM_ORDER = len(BUILTIN)


class KindTable:
    """Built-in kinds plus the custom kinds that CustomResourceDefinitions declare."""

    def __init__(self, custom: Iterable[Kind] = ()) -> None:
        self._custom = {(kind.group, kind.kind): kind for kind in custom}

    @classmethod
    def for_objects(cls, objects: Iterable[Mapping[str, Any]]) -> KindTable:
        """The table for a manifest: built-ins plus the CRDs the manifest itself declares."""
        crds = [obj for obj in objects if obj.get("kind") == "CustomResourceDefinition"]
        return cls(kind for kind in map(crd_kind, crds) if kind is not None)

    def lookup(self, api_version: str, kind: str) -> Kind | None:
        """The Kind for an object's apiVersion and kind; None when JSORC does not serve it."""
        builtin = BUILTIN_BY_NAME.get(kind)
        if builtin is not None:
            return builtin if builtin.api_version == api_version else None
        group, _, version = api_version.rpartition("/")
        custom = self._custom.get((group, kind))
        if custom is None or version not in custom.versions:
            return None
        return dataclasses.replace(custom, api_version=api_version)

    def all(self) -> list[Kind]:
        return [*BUILTIN, *self._custom.values()]

    def order(self, kind: Kind) -> int:
        return BUILTIN.index(kind) if kind in BUILTIN else CUSTOM_ORDER


def crd_kind(crd: Mapping[str, Any]) -> Kind | None:
    """The custom kind a CustomResourceDefinition declares; None when the CRD is incomplete."""
    spec = _mapping(crd.get("spec"))
    names = _mapping(spec.get("names"))
    group, kind, plural = spec.get("group"), names.get("kind"), names.get("plural")
    served = [_mapping(v) for v in spec.get("versions") or []]
    versions = tuple(str(v["name"]) for v in served if v.get("name") and v.get("served", True))
    if not (group and kind and plural and versions):
        return None
    return Kind(
        kind=str(kind),
        api_version=f"{group}/{versions[0]}",
        plural=str(plural),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        versions=versions,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
