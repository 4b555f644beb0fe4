"""What every cluster backend offers, and the readiness probe they share.

A backend starts, finds and stops the server of one action. Readiness is the same
everywhere: the server answers its spec endpoint with the action's functions.
"""

from __future__ import annotations

import json
from typing import Protocol

import urllib3

from jsorc.actions.configs import ActionConfig
from jsorc.errors import ActionNotReady

SPEC_PATH = "/jaseci_actions_spec/"
# Seconds the readiness probe waits for an answer.
PROBE_TIMEOUT = 2.0

# One pool per action server probed; a tick probes each server once, so few connections.
_probe_pool = urllib3.PoolManager(num_pools=4096, maxsize=4, retries=False)


class ClusterBackend(Protocol):
    def spawn(self, config: ActionConfig, *, timeout: float) -> str:
        """Start the action's server; return its base URL once it is listening."""

    def alive(self, name: str) -> bool:
        """Whether the server of `name` is still running (cheap; no HTTP)."""

    def url(self, name: str) -> str | None:
        """The base URL of the recorded server of `name`, if any."""

    def retire(self, name: str) -> bool:
        """Stop the server of `name`; False when there was none."""

    def names(self) -> list[str]:
        """Actions that have a server record."""


def fetch_spec(url: str, *, timeout: float = PROBE_TIMEOUT) -> dict[str, list[str]]:
    """The action spec a server answers with; ActionNotReady when it does not answer."""
    try:
        response = _probe_pool.request(
            "GET", url.rstrip("/") + SPEC_PATH, timeout=urllib3.Timeout(total=timeout)
        )
    except urllib3.exceptions.HTTPError as exc:
        raise ActionNotReady(f"action server at {url} does not answer: {exc}") from exc
    if response.status != 200:
        raise ActionNotReady(f"action server at {url} answered {response.status} to its spec")
    try:
        spec = json.loads(response.data)
    except ValueError as exc:
        raise ActionNotReady(f"action server at {url} sent a spec that is not JSON") from exc
    if not isinstance(spec, dict):
        raise ActionNotReady(f"action server at {url} sent a spec that is not an object")
    return spec
