"""Objects on the cluster: how to name one, and the client call for each verb on its kind.

`operation()` turns (kind, verb, namespace, name) into the typed-API method with its path
arguments bound; `call()` makes it with the client's timeouts and returns plain JSON.
Not here: what a failure means (creating, deleting and watching decide that).
Hazard: a kind the server does not serve answers 404, just like a missing object.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client as k8s

from jsorc.kube.client import KubeClient
from jsorc.kube.errors import NotFound, translated
from jsorc.kube.kinds import Kind

# CustomObjectsApi says `get` where the typed APIs say `read`.
_CUSTOM_VERBS = {"read": "get"}


@dataclasses.dataclass(frozen=True)
class Ref:
    """One object: its kind, name and (for namespaced kinds) namespace."""

    kind: Kind
    name: str
    namespace: str | None = None

    @classmethod
    def of(cls, kind: Kind, obj: Mapping[str, Any]) -> Ref:
        meta = obj.get("metadata") or {}
        return cls(kind, str(meta.get("name")), meta.get("namespace") if kind.namespaced else None)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.kind} {where}{self.name}"


def operation(
    client: KubeClient, kind: Kind, verb: str, *, namespace: str | None, name: str | None = None
) -> Callable[..., Any]:
    """The client method for `verb` on `kind`, its path arguments (names, scope) bound."""
    scoped = [namespace] if kind.namespaced else []
    named = [name] if name is not None else []
    if kind.custom:
        api = client.typed(k8s.CustomObjectsApi)
        scope = "namespaced" if kind.namespaced else "cluster"
        method = getattr(api, f"{_CUSTOM_VERBS.get(verb, verb)}_{scope}_custom_object")
        return functools.partial(method, kind.group, kind.version, *scoped, kind.plural, *named)
    api = client.typed(kind.api)  # type: ignore[arg-type]
    scope = "namespaced_" if kind.namespaced else ""
    return functools.partial(getattr(api, f"{verb}_{scope}{kind.noun}"), *named, *scoped)


def call(
    client: KubeClient,
    kind: Kind,
    verb: str,
    *,
    namespace: str | None,
    name: str | None = None,
    body: Any = None,
    what: str,
    **params: Any,
) -> dict[str, Any]:
    """Make one call; its JSON answer, or a KubeError whose message starts with `what`."""
    method = operation(client, kind, verb, namespace=namespace, name=name)
    args = () if body is None else (body,)
    with translated(what):
        response = method(*args, _preload_content=False, _request_timeout=client.timeout, **params)
        data = response.data
    return json.loads(data) if data else {}


def read(client: KubeClient, ref: Ref) -> dict[str, Any] | None:
    """The object as the cluster has it, or None when it is not there."""
    try:
        return call(
            client, ref.kind, "read", namespace=ref.namespace, name=ref.name, what=f"read {ref}"
        )
    except NotFound:
        return None


def list_labelled(
    client: KubeClient, kind: Kind, *, namespace: str | None, labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Objects of `kind` carrying all of `labels`; none when the kind is not served.

    The server filters by the selector; the labels are checked again here, because
    whatever this returns may be deleted next.
    """
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    where = f" in {namespace}" if kind.namespaced else ""
    try:
        answer = call(
            client,
            kind,
            "list",
            namespace=namespace,
            label_selector=selector,
            what=f"list {kind.kind} objects{where} labelled {selector}",
        )
    except NotFound:
        return []
    return [obj for obj in answer.get("items") or [] if has_labels(obj, labels)]


def has_labels(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    present = (obj.get("metadata") or {}).get("labels") or {}
    return all(present.get(key) == value for key, value in labels.items())
