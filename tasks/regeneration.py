"""The regeneration task Beat fires every backoff_interval, and the canary it sends."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from celery.utils.nodenames import worker_direct

from jsorc import canary
from jsorc.regeneration import run_tick
from tasks.actions import spawn_action
from tasks.app import app, runtime
from tasks.services import kept_alive

# Seconds the tick waits for workers to answer a ping.
PING_TIMEOUT = 0.5


@app.task(name="jsorc.regenerate", ignore_result=False)
def regenerate() -> dict[str, Any]:
    rt = runtime()
    rt.refresh_settings()
    report = run_tick(
        rt,
        respawn=lambda name: spawn_action.delay(name, reason="regeneration"),
        kept_alive=kept_alive(),
        watch_workers=watch_workers,
    )
    return dataclasses.asdict(report)


@app.task(name="jsorc.canary", ignore_result=True)
def canary_task(worker: str, token: str) -> None:
    canary.answer(runtime().state.client, worker)


def watch_workers() -> list[canary.WorkerHealth]:
    """One canary round: every worker that answers a ping gets a canary on its own queue."""
    rt = runtime()
    deadline = canary.DEADLINE_TICKS * rt.settings.backoff_interval
    replies = app.control.ping(timeout=PING_TIMEOUT) or []
    return canary.watch(
        rt.state.client,
        rt.db,
        workers=[name for reply in replies for name in reply],
        send=lambda worker, token: canary_task.apply_async(
            (worker, token), queue=worker_direct(worker), expires=deadline
        ),
        deadline=deadline,
        now=time.time(),
    )
