"""The regeneration task Beat fires every backoff_interval."""

from __future__ import annotations

import dataclasses
from typing import Any

from jsorc.regeneration import run_tick
from tasks.actions import spawn_action
from tasks.app import app, runtime
from tasks.services import kept_alive


@app.task(name="jsorc.regenerate", ignore_result=False)
def regenerate() -> dict[str, Any]:
    rt = runtime()
    rt.refresh_settings()
    report = run_tick(
        rt,
        respawn=lambda name: spawn_action.delay(name, reason="regeneration"),
        kept_alive=kept_alive(),
    )
    return dataclasses.asdict(report)
