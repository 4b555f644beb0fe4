"""Spawning and retiring action servers: the domain work behind the spawn and retire
tasks. Idempotent under redelivery: one lock per action, and a spawn that finds a live,
answering server adopts it instead of starting a second one. The lock is renewed while
a slow start runs, so a second delivery of the same task never starts in parallel.
"""

from __future__ import annotations

import logging
import time

from jsorc import keys
from jsorc.actions.configs import ActionConfig, parse_config
from jsorc.backends import fetch_spec
from jsorc.errors import ActionNotReady, BackendError, BadRequest, UnknownAction
from jsorc.locks import single_flight
from jsorc.placement import FAILED, READY, REMOTE, RETIRING, Placement
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

# Seconds between readiness probes of a starting server.
READY_POLL = 0.1
# Seconds an action's lock lives unless renewed; it is renewed every third of that while
# a spawn or retire runs, so it outlives any server start.
LOCK_TTL = 30.0
# Seconds a retire waits for a spawn of the same action beyond server_start_timeout.
RETIRE_MARGIN = 10.0


def spawn_action(rt: Runtime, name: str, *, reason: str = "load") -> Placement | None:
    """Bring the remote server of `name` to READY; returns the resulting placement."""
    timeout = rt.settings.server_start_timeout
    with single_flight(rt.state.client, keys.action_lock(name), ttl=LOCK_TTL, renew=True) as lock:
        if lock is None:
            logger.info("Spawn of %r already under way elsewhere.", name)
            return rt.state.fetch_placement(name)
        placement = rt.state.fetch_placement(name)
        if placement is None or placement.mode != REMOTE or placement.status == RETIRING:
            return placement
        try:
            url, spec = _running_server(rt, name) or _start_server(rt, name, timeout=timeout)
        except (BackendError, ActionNotReady, BadRequest) as exc:
            failed = placement.evolve(status=FAILED, error=str(exc))
            rt.state.save_placement(failed)
            rt.db.record_placement(name, REMOTE, FAILED, f"{reason}: {exc}")
            logger.warning("Spawn of %r failed: %s", name, exc)
            return failed
        current = rt.state.fetch_placement(name)
        if current is None or current.mode != REMOTE or current.status == RETIRING:
            rt.backend.retire(name)  # unloaded while starting
            return current
        ready = current.evolve(status=READY, url=url, spec=spec, error="", since=time.time())
        rt.state.save_placement(ready)
        rt.db.record_placement(name, REMOTE, READY, reason)
        logger.info("Action %r is READY at %s (%s).", name, url, reason)
        return ready


def retire_action(rt: Runtime, name: str, *, reason: str = "unload") -> bool:
    """Stop the server of `name`; drop its placement if it was retiring."""
    wait = rt.settings.server_start_timeout + RETIRE_MARGIN
    with single_flight(
        rt.state.client, keys.action_lock(name), ttl=LOCK_TTL, wait=wait, renew=True
    ) as lock:
        if lock is None:
            logger.warning("Retire of %r gave up waiting for its lock.", name)
            return False
        stopped = rt.backend.retire(name)
        placement = rt.state.fetch_placement(name)
        if placement is not None and placement.mode == REMOTE and placement.status == RETIRING:
            rt.state.delete_placement(name)
        rt.db.record_placement(name, REMOTE, "RETIRED", reason)
        return stopped


def action_config(rt: Runtime, name: str) -> ActionConfig:
    raw = rt.state.fetch_config(name)
    if raw is None:
        raw = rt.db.fetch_configs().get(name)
        if raw is None:
            raise UnknownAction(
                f"no config for action {name!r}; register one with "
                f"`jsorc actions config {name} CONFIG`"
            )
        rt.state.save_config(name, raw)
    return parse_config(name, raw, allowed=rt.settings.allowed_modules)


def _running_server(rt: Runtime, name: str) -> tuple[str, dict] | None:
    url = rt.backend.url(name)
    if not url or not rt.backend.alive(name):
        return None
    try:
        return url, fetch_spec(url)
    except ActionNotReady:
        return None


def _start_server(rt: Runtime, name: str, *, timeout: float) -> tuple[str, dict]:
    config = action_config(rt, name)
    rt.backend.retire(name)  # a leftover that no longer answers
    deadline = time.monotonic() + timeout
    url = rt.backend.spawn(config, timeout=timeout)
    while True:
        try:
            return url, fetch_spec(url)
        except ActionNotReady:
            if not rt.backend.alive(name) or time.monotonic() > deadline:
                rt.backend.retire(name)
                raise
            time.sleep(READY_POLL)
