"""Waiting for one object to reach a state: list it, then watch it, for a bounded time.

The classic list-then-watch loop: a watch resumes from the list's resourceVersion; a 410
Gone (the server forgot that version) or a watch that ends or falls quiet leads to a fresh
list. Not here: deciding what state to wait for (callers pass a condition).
Hazard: events are filtered by name here too, as not every server honours field selectors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import urllib3
from kubernetes import watch as k8s_watch

from jsorc.kube.client import KubeClient
from jsorc.kube.errors import Gone, NotFound, TimedOut, translated
from jsorc.kube.objects import Ref, call, operation

logger = logging.getLogger(__name__)

# Seconds one watch request may stay quiet before it is dropped and the object re-listed.
WATCH_QUIET = 30.0

# The object as last seen (None: it is not there) -> whether the wait is over.
Condition = Callable[[dict[str, Any] | None], bool]


def wait_for(
    client: KubeClient, ref: Ref, condition: Condition, *, timeout: float, what: str
) -> dict[str, Any] | None:
    """Return the object (None if absent) once `condition` holds; TimedOut after `timeout`s."""
    deadline = time.monotonic() + timeout
    while True:
        obj, version = _list_one(client, ref)
        if condition(obj):
            return obj
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut(f"gave up after {timeout:g}s waiting for {what}")
        try:
            for event_type, seen in _watch(client, ref, version, seconds=remaining):
                obj = None if event_type == "DELETED" else seen
                if condition(obj):
                    return obj
                if time.monotonic() > deadline:
                    break
        except Gone:
            logger.info("Watch of %s expired (410 Gone); listing it again.", ref)


def _list_one(client: KubeClient, ref: Ref) -> tuple[dict[str, Any] | None, str | None]:
    """The object (or None) and the resourceVersion of the list it was found in."""
    try:
        answer = call(
            client,
            ref.kind,
            "list",
            namespace=ref.namespace,
            field_selector=f"metadata.name={ref.name}",
            what=f"list {ref}",
        )
    except NotFound:
        return None, None
    found = [obj for obj in answer.get("items") or [] if _named(obj, ref.name)]
    return (found[0] if found else None), (answer.get("metadata") or {}).get("resourceVersion")


def _watch(
    client: KubeClient, ref: Ref, version: str | None, *, seconds: float
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event type, object) for `ref` until the watch ends, falls quiet or the time is up."""
    method = operation(client, ref.kind, "list", namespace=ref.namespace)
    params: dict[str, Any] = {
        "field_selector": f"metadata.name={ref.name}",
        # The server ends the watch after this many whole seconds...
        "timeout_seconds": max(1, int(seconds)),
        # ...and the client drops it when no event came for this long.
        "_request_timeout": (client.timeout[0], min(seconds, WATCH_QUIET)),
    }
    if version:
        params["resource_version"] = version
    watcher = k8s_watch.Watch()
    stream = watcher.stream(method, **params)
    try:
        while True:
            with translated(f"watch {ref}"):
                try:
                    event = next(stream)
                except StopIteration:
                    return
                except urllib3.exceptions.ReadTimeoutError:
                    return  # quiet for too long: list again
            obj = event.get("raw_object") or {}
            if _named(obj, ref.name):
                yield str(event.get("type")), obj
    finally:
        watcher.stop()
        stream.close()


def _named(obj: dict[str, Any], name: str) -> bool:
    return (obj.get("metadata") or {}).get("name") == name
