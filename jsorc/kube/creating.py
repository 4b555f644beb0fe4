"""Creating objects, including right after an object of the same name was deleted.

A delete returns before the object is gone when finalizers or dependents hold it, so a
create that follows gets 409. A 409 against an object that is being deleted waits (bounded)
for it to go, then creates; a 409 against a live object stays a Conflict. A custom object
whose definition was just created is retried while the server does not serve its kind yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from jsorc.kube.client import KubeClient
from jsorc.kube.errors import Conflict, NotFound, TimedOut
from jsorc.kube.objects import Ref, call, read
from jsorc.kube.watching import wait_for

logger = logging.getLogger(__name__)

# Seconds a create waits for a namesake that is being deleted to go.
GONE_WAIT = 60.0
# Seconds a custom object's create is retried while its definition is not served yet.
DEFINITION_WAIT = 30.0
# Seconds between those retries.
DEFINITION_RETRY = 0.5


def create(
    client: KubeClient, ref: Ref, body: Mapping[str, Any], *, gone_wait: float = GONE_WAIT
) -> dict[str, Any]:
    """Create `body` as `ref`; the object as created."""
    try:
        return _create(client, ref, body)
    except Conflict:
        existing = read(client, ref)
        if existing is not None and not terminating(existing):
            raise
    if existing is not None:
        logger.info("%s is still being deleted; waiting for it to go.", ref)
        try:
            wait_for(client, ref, lambda obj: obj is None, timeout=gone_wait, what=f"{ref} to go")
        except TimedOut as exc:
            raise Conflict(
                f"create {ref}: the old object of that name is still being deleted after "
                f"{gone_wait:g}s; look for finalizers that nothing removes",
                status=409,
            ) from exc
    return _create(client, ref, body)


def terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _create(client: KubeClient, ref: Ref, body: Mapping[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + (DEFINITION_WAIT if ref.kind.custom else 0.0)
    while True:
        try:
            return call(
                client,
                ref.kind,
                "create",
                namespace=ref.namespace,
                body=dict(body),
                what=f"create {ref}",
            )
        except NotFound:
            if time.monotonic() >= deadline:
                raise
            logger.debug("%s is not served yet; retrying its create.", ref.kind.api_version)
            time.sleep(DEFINITION_RETRY)
