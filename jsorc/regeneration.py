"""Regeneration: the periodic tick that brings dead action servers back.

Single-flight across every worker and Beat replica: a tick holds a Redis lock whose TTL
outlasts a tick (checked) and is renewed while it runs; a tick that finds it held, or that
comes within half an interval of the last (a second Beat), is skipped. A tick restores
from SQL what Redis lost, checks every remote action and, when given, the workers (canary).
It decides and marks; respawns go to `respawn` (the task layer enqueues them).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jsorc import keys
from jsorc.backends import fetch_spec
from jsorc.canary import WorkerHealth
from jsorc.errors import ActionNotReady, BackendError
from jsorc.keepalive.watch import KeptAlive
from jsorc.locks import single_flight
from jsorc.placement import FAILED, READY, REMOTE, STARTING, Placement
from jsorc.recovery import restore
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

# Seconds: the lock outlives a tick by at least this much.
MIN_LOCK_TTL = 30.0
# Fraction of backoff_interval during which a second tick counts as a duplicate.
SLOT_FRACTION = 0.5
# Health probes run this many at a time.
PROBE_THREADS = 4  # more only contend for the GIL: measured slower at 16


@dataclasses.dataclass
class TickReport:
    skipped: bool = False
    checked: int = 0
    respawned: list[str] = dataclasses.field(default_factory=list)
    restored: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    services: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    workers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


def run_tick(
    rt: Runtime,
    *,
    respawn: Callable[[str], None],
    kept_alive: KeptAlive | None = None,
    watch_workers: Callable[[], list[WorkerHealth]] | None = None,
) -> TickReport:
    """One regeneration tick; `respawn(name)` is called for each action to bring back,
    `kept_alive` (when given) watches the services named in keep_alive, and
    `watch_workers` (when given) runs the canary round of this tick."""
    started = time.monotonic()
    ttl = max(MIN_LOCK_TTL, 3 * rt.settings.backoff_interval)
    interval = rt.settings.backoff_interval
    with single_flight(
        rt.state.client, keys.REGENERATION_LOCK, ttl=ttl, renew=True, longer_than=interval
    ) as lock:
        if lock is None or not _claim_slot(rt):
            rt.state.count_tick("skipped")
            logger.debug("Regeneration tick skipped: another is running or just ran.")
            return TickReport(skipped=True)
        rt.state.record_tick(time.time())
        report = TickReport()
        placements = rt.state.fetch_placements()
        restored = restore(rt, respawn=respawn, live_placements=placements)
        report.restored = dataclasses.asdict(restored)
        remote = [p for p in placements.values() if p.mode == REMOTE]
        report.checked = len(remote)
        with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
            verdicts = list(pool.map(lambda p: (p, _verdict(rt, p)), remote))
        for placement, why in verdicts:
            if why and rt.settings.automation:
                _mark_starting(rt, placement, why)
                respawn(placement.name)
                report.respawned.append(placement.name)
        if kept_alive is not None and rt.settings.keep_alive:
            healths = kept_alive.tick(rt.settings.keep_alive, automate=rt.settings.automation)
            report.services = [dataclasses.asdict(health) for health in healths]
        if watch_workers is not None:
            report.workers = [dataclasses.asdict(health) for health in watch_workers()]
        rt.state.count_tick("run")
        if report.respawned:
            rt.state.count_tick("respawned", len(report.respawned))
        report.seconds = time.monotonic() - started
        return report


def _claim_slot(rt: Runtime) -> bool:
    slot_ms = int(rt.settings.backoff_interval * SLOT_FRACTION * 1000)
    return bool(rt.state.client.set(keys.REGENERATION_SLOT, "1", nx=True, px=slot_ms))


def _verdict(rt: Runtime, placement: Placement) -> str:
    """_needs_respawn, but a cluster that cannot be asked leaves the action as it is
    (regeneration asks again next tick)."""
    try:
        return _needs_respawn(rt, placement)
    except BackendError as exc:
        logger.warning("Cannot check action %r this tick: %s", placement.name, exc)
        return ""


def _needs_respawn(rt: Runtime, placement: Placement) -> str:
    """Why the placement's server must be started again, or '' when it is fine."""
    if placement.status == FAILED:
        return f"retry after failure: {placement.error}"
    if placement.status == STARTING:
        overdue = time.time() - placement.updated > rt.settings.server_start_timeout + 30
        return "start never finished" if overdue else ""
    if placement.status != READY:
        return ""
    if not rt.backend.alive(placement.name):
        return "server process is gone"
    try:
        fetch_spec(placement.url)
    except ActionNotReady as exc:
        return f"server does not answer: {exc}"
    return ""


def _mark_starting(rt: Runtime, placement: Placement, why: str) -> None:
    logger.info("Regenerating action %r: %s", placement.name, why)
    rt.state.save_placement(placement.evolve(status=STARTING, error=""))
    rt.db.record_placement(placement.name, REMOTE, STARTING, f"regeneration: {why}")
