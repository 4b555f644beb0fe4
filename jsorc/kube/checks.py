"""The checks a manifest must pass before any of it is applied.

Only kinds JSORC knows (built-in, or custom with its definition in the same manifest);
every namespaced object in JSORC's namespace; role bindings only to service accounts there;
no privileged containers, node paths, node network, PIDs or IPC unless JSORC runs unsafe.
Every problem is reported at once, each saying what to change.
Not here: what custom objects ask an operator to do; that is beyond what can be seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsorc.kube.errors import ManifestError
from jsorc.kube.kinds import BUILTIN_BY_NAME, Kind, KindTable

UNSAFE_HINT = "or set JSORC_UNSAFE=1 if you really mean it"
# Kinds whose pods are described at spec.template.spec.
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
BINDINGS = ("RoleBinding", "ClusterRoleBinding")
# Names: DNS subdomains (at most 253 characters) for most kinds, DNS labels (at most 63)
# for the kinds whose names become host names, and path segments for RBAC objects.
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_RBAC = re.compile(r"^[-a-zA-Z0-9.:_]{1,253}$")
_HOST_NAMED = ("Service", "Namespace")
_HOST_SHARING = {
    "hostNetwork": "shares the node's network",
    "hostPID": "sees the node's processes",
    "hostIPC": "shares the node's IPC",
}
_ROOT_CAPABILITIES = {"ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"}


def check_manifest(
    objects: Iterable[Mapping[str, Any]],
    *,
    namespace: str,
    unsafe: bool,
    kinds: KindTable | None = None,
    source: str = "the manifest",
) -> None:
    """Raise ManifestError listing every problem of the manifest; return when it has none."""
    found = problems(objects, namespace=namespace, unsafe=unsafe, kinds=kinds)
    if found:
        listed = "\n".join(f"  - {problem}" for problem in found)
        raise ManifestError(f"{source} was rejected, nothing was applied:\n{listed}")


def problems(
    objects: Iterable[Mapping[str, Any]],
    *,
    namespace: str,
    unsafe: bool,
    kinds: KindTable | None = None,
) -> list[str]:
    objects = list(objects)
    kinds = kinds or KindTable.for_objects(objects)
    found: list[str] = []
    seen: set[tuple[str, str, str, Any]] = set()
    for number, obj in enumerate(objects, 1):
        meta = _mapping(obj.get("metadata"))
        where = f"{obj.get('kind') or 'object'} {meta.get('name') or f'#{number}'}"
        kind = kinds.lookup(str(obj.get("apiVersion")), str(obj.get("kind")))
        if kind is None:
            found.append(_unknown_kind(where, obj))
            continue
        scope = meta.get("namespace") or namespace if kind.namespaced else ""
        key = (kind.group, kind.kind, scope, meta.get("name"))
        if key in seen:
            found.append(f"{where}: declared twice; give one of them another name")
        seen.add(key)
        found += _name_problems(where, kind, meta.get("name"))
        found += _namespace_problems(where, kind, meta, namespace)
        found += _binding_problems(where, obj, namespace, unsafe=unsafe)
        if not unsafe:
            found += _pod_problems(where, obj)
    return found


def _unknown_kind(where: str, obj: Mapping[str, Any]) -> str:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return f"{where}: needs both apiVersion and kind"
    builtin = BUILTIN_BY_NAME.get(kind)
    if builtin is not None:
        expected = builtin.api_version
        return f"{where}: {kind} is served at apiVersion {expected!r}, not {api_version!r}"
    allowed = ", ".join(sorted(BUILTIN_BY_NAME))
    return (
        f"{where}: kind {kind!r} ({api_version}) is not allowed; JSORC applies {allowed}, "
        "and custom kinds whose CustomResourceDefinition is in the same manifest"
    )


def _name_problems(where: str, kind: Kind, name: Any) -> list[str]:
    if not isinstance(name, str) or not name:
        return [f"{where}: needs metadata.name"]
    if kind.kind in _HOST_NAMED:
        ok, rule = _LABEL.match(name), "lower-case letters, digits and '-', at most 63"
    elif kind.kind.endswith(("Role", "RoleBinding")):
        ok, rule = _RBAC.match(name), "letters, digits, '-', '.', ':' and '_'"
    else:
        ok = _SUBDOMAIN.match(name) and len(name) <= 253
        rule = "lower-case letters, digits, '-' and '.', at most 253"
    return [] if ok else [f"{where}: {name!r} is not a valid {kind.kind} name ({rule})"]


def _namespace_problems(
    where: str, kind: Kind, meta: Mapping[str, Any], namespace: str
) -> list[str]:
    if kind.kind == "Namespace" and meta.get("name") != namespace:
        return [f"{where}: the only namespace a manifest may declare is JSORC's own, {namespace!r}"]
    declared = meta.get("namespace")
    if kind.namespaced and declared not in (None, namespace):
        return [
            f"{where}: namespace {declared!r} is outside JSORC's namespace {namespace!r}; "
            f"drop metadata.namespace or set it to {namespace!r}"
        ]
    return []


def _binding_problems(
    where: str, obj: Mapping[str, Any], namespace: str, *, unsafe: bool
) -> list[str]:
    if obj.get("kind") not in BINDINGS:
        return []
    found = []
    for subject in obj.get("subjects") or []:
        subject = _mapping(subject)
        name = subject.get("name")
        if subject.get("kind") != "ServiceAccount":
            if not unsafe:
                found.append(
                    f"{where}: grants rights to {subject.get('kind')} {name!r}; bind only "
                    f"ServiceAccounts in {namespace!r} ({UNSAFE_HINT})"
                )
        elif subject.get("namespace", namespace) != namespace:
            found.append(
                f"{where}: grants rights to ServiceAccount {subject.get('namespace')}/{name}, "
                f"outside JSORC's namespace {namespace!r}"
            )
    return found


def _pod_problems(where: str, obj: Mapping[str, Any]) -> list[str]:
    if obj.get("kind") not in WORKLOADS:
        return []
    spec = _mapping(_mapping(_mapping(obj.get("spec")).get("template")).get("spec"))
    found = [
        f"{where}: spec.template.spec.{flag} {meaning}; remove it ({UNSAFE_HINT})"
        for flag, meaning in _HOST_SHARING.items()
        if spec.get(flag)
    ]
    for volume in spec.get("volumes") or []:
        if "hostPath" in _mapping(volume):
            found.append(
                f"{where}: volume {_mapping(volume).get('name')!r} mounts a path of the node "
                f"(hostPath); use a PersistentVolumeClaim, emptyDir or ConfigMap ({UNSAFE_HINT})"
            )
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(group) or []:
            found += _container_problems(where, _mapping(container))
    return found


def _container_problems(where: str, container: Mapping[str, Any]) -> list[str]:
    context = _mapping(container.get("securityContext"))
    name = container.get("name")
    found = []
    if context.get("privileged"):
        found.append(
            f"{where}: container {name!r} is privileged; remove securityContext.privileged "
            f"({UNSAFE_HINT})"
        )
    added = set(_mapping(context.get("capabilities")).get("add") or [])
    if added & _ROOT_CAPABILITIES:
        found.append(
            f"{where}: container {name!r} adds {sorted(added & _ROOT_CAPABILITIES)}, as good as "
            f"privileged; drop them from securityContext.capabilities.add ({UNSAFE_HINT})"
        )
    return found


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
