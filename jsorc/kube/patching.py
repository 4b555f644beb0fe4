"""Patching objects with JSON merge patches (RFC 7386).

A merge patch replaces lists whole and merges mappings key by key, so sending the full
desired object leaves keys that were dropped from it in place. `removals` turns the keys
applied last time (kept as a key outline, no values) into nulls that delete them.
Hazard: keys someone else added are never in that outline, so they are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsorc.kube.client import KubeClient
from jsorc.kube.objects import Ref, call

MERGE_PATCH = "application/merge-patch+json"


def patch(client: KubeClient, ref: Ref, body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a merge patch to `ref`; the object as patched."""
    return call(
        client,
        ref.kind,
        "patch",
        namespace=ref.namespace,
        name=ref.name,
        body=dict(body),
        _content_type=MERGE_PATCH,
        what=f"patch {ref}",
    )


def outline(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The nested keys of `obj`'s mappings, without their values (lists count as values)."""
    return {key: outline(value) if isinstance(value, Mapping) else 0 for key, value in obj.items()}


def removals(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Nulls for every key in the outline `before` that `after` no longer has."""
    dropped: dict[str, Any] = {}
    for key, inner in before.items():
        if key not in after:
            dropped[key] = None
        elif isinstance(inner, Mapping) and isinstance(after[key], Mapping):
            nested = removals(inner, after[key])
            if nested:
                dropped[key] = nested
    return dropped


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `extra` merged in, mapping by mapping (neither is changed)."""
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result
