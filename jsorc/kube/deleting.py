"""Deleting objects: deleting what is already gone succeeds.

Deletion is in the background: the call returns once the API server accepted it, and the
object's dependents (a Deployment's pods) go after it. Not here: waiting until the object
is gone (creating.py waits when a new namesake needs the name).
"""

from __future__ import annotations

import logging

from jsorc.kube.client import KubeClient
from jsorc.kube.errors import NotFound
from jsorc.kube.objects import Ref, call

logger = logging.getLogger(__name__)


def delete(client: KubeClient, ref: Ref) -> bool:
    """Delete `ref`; False when it was not there (which is not an error)."""
    try:
        call(
            client,
            ref.kind,
            "delete",
            namespace=ref.namespace,
            name=ref.name,
            propagation_policy="Background",
            what=f"delete {ref}",
        )
    except NotFound:
        logger.debug("%s was already gone.", ref)
        return False
    logger.info("Deleted %s.", ref)
    return True
