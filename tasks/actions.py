"""Tasks that start and stop remote action servers."""

from __future__ import annotations

from typing import Any

from jsorc import spawning
from tasks.app import app, runtime


@app.task(name="jsorc.spawn_action")
def spawn_action(name: str, reason: str = "load") -> dict[str, Any] | None:
    placement = spawning.spawn_action(runtime(), name, reason=reason)
    return None if placement is None else placement.to_json()


@app.task(name="jsorc.retire_action")
def retire_action(name: str, reason: str = "unload") -> bool:
    return spawning.retire_action(runtime(), name, reason=reason)
