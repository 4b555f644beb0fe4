"""The labels and annotations JSORC puts on what it applies, spelled in one place.

OWNER and NAMESPACE together name the manifest an object came from (cluster-scoped objects
are shared by every JSORC install, hence the namespace); VERSION is a hash of the object as
its manifest wants it, so "changed?" is one label compare; APPLIED_KEYS is the key outline
applied last time, so keys dropped from a manifest can be removed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

OWNER = "jsorc.owner"
NAMESPACE = "jsorc.namespace"
VERSION = "jsorc.version"
APPLIED_KEYS = "jsorc.applied-keys"  # an annotation
# On action servers: the action's object-name form, and (annotation) its real name.
ACTION = "jsorc.action"
ACTION_NAME = "jsorc.action-name"
PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"

# Hex characters of the SHA-256 kept as the version (64 bits: no collisions in practice).
VERSION_LENGTH = 16
# Kubernetes label values: at most 63 characters, alphanumeric at both ends.
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def version_of(obj: Mapping[str, Any]) -> str:
    """A hash of `obj` as a manifest wants it, ignoring JSORC's own bookkeeping."""
    meta = dict(obj.get("metadata") or {})
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if k != VERSION}
    meta["annotations"] = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k != APPLIED_KEYS
    }
    canonical = json.dumps({**obj, "metadata": meta}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:VERSION_LENGTH]


def valid_value(value: str) -> bool:
    return bool(_LABEL_VALUE.match(value))


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})
