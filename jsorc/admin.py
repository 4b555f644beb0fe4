"""The admin operations behind the API and the CLI: configure, load, unload, status.

Each checks its input first and changes nothing when it refuses. Work that takes time
(starting or stopping a server) goes to `dispatch`, which the task layer backs with
Celery; here it is only a pair of callables.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from jsorc.actions.configs import ActionConfig, check_module, resolve_config
from jsorc.errors import ActionNotLoaded, BadRequest
from jsorc.placement import MODES, MODULE, READY, REMOTE, RETIRING, STARTING, Placement
from jsorc.runtime import Runtime
from jsorc.spawning import action_config

logger = logging.getLogger(__name__)

UNLOAD_MODES = ("auto", *MODES)


@dataclasses.dataclass(frozen=True)
class Dispatch:
    spawn: Callable[[str], None]
    retire: Callable[[str], None]
    refresh_service: Callable[[str], None] = lambda name: None


def configure(rt: Runtime, name: str, config: Any) -> ActionConfig:
    """Register (or replace) the config of action `name`."""
    parsed = resolve_config(name, config, allowed=rt.settings.allowed_modules)
    rt.db.save_config(name, parsed.to_dict())
    rt.state.save_config(name, parsed.to_dict())
    logger.info("Configured action %r (module %r).", name, parsed.module)
    return parsed


def load(
    rt: Runtime,
    name: str,
    mode: str,
    *,
    dispatch: Dispatch,
    keep_service: bool = False,
    reason: str = "load",
) -> Placement:
    """Place action `name` in `mode`; a remote load returns at once with STARTING."""
    if mode not in MODES:
        raise BadRequest(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    config = action_config(rt, name)
    check_module(config.loaded_module, allowed=rt.settings.allowed_modules)
    current = rt.state.fetch_placement(name)
    if current is not None and current.mode == mode and current.status in (READY, STARTING):
        return current
    if current is not None and current.status == RETIRING:
        raise BadRequest(f"action {name!r} is being retired; load it again in a moment")

    if mode == MODULE:
        placement = Placement(name=name, mode=MODULE, status=READY)
    else:
        placement = Placement(name=name, mode=REMOTE, status=STARTING)
    rt.db.save_placement(name, placement.mode)
    rt.state.save_placement(placement)
    rt.db.record_placement(name, placement.mode, placement.status, reason)
    if mode == REMOTE:
        dispatch.spawn(name)
    elif current is not None and current.mode == REMOTE and not keep_service:
        dispatch.retire(name)
    return placement


def unload(
    rt: Runtime, name: str, mode: str = "auto", *, dispatch: Dispatch, keep_service: bool = False
) -> Placement:
    """Remove the placement of `name`; a remote one's server is retired unless kept."""
    if mode not in UNLOAD_MODES:
        raise BadRequest(f"mode must be one of {', '.join(UNLOAD_MODES)}, not {mode!r}")
    action_config(rt, name)
    current = rt.state.fetch_placement(name)
    if current is None:
        raise ActionNotLoaded(f"action {name!r} is not loaded; nothing to unload")
    if mode != "auto" and current.mode != mode:
        raise BadRequest(f"action {name!r} is loaded as {current.mode}, not {mode}")
    rt.db.delete_placement(name)
    if current.mode == MODULE or keep_service:
        rt.state.delete_placement(name)
        rt.db.record_placement(name, current.mode, "UNLOADED", "unload")
        return current.evolve(status="UNLOADED")
    retiring = current.evolve(status=RETIRING)
    rt.state.save_placement(retiring)
    rt.db.record_placement(name, REMOTE, RETIRING, "unload")
    dispatch.retire(name)
    return retiring


def status(rt: Runtime, name: str | None = None) -> dict[str, Any]:
    """One action's state, or every configured action's."""
    if name is not None:
        action_config(rt, name)
        return _describe(rt, name, rt.state.fetch_placement(name))
    placements = rt.state.fetch_placements()
    names = sorted(set(rt.state.fetch_configs()) | set(placements))
    return {n: _describe(rt, n, placements.get(n)) for n in names}


def _describe(rt: Runtime, name: str, placement: Placement | None) -> dict[str, Any]:
    config = rt.state.fetch_config(name) or {}
    described = {
        "name": name,
        "mode": "none",
        "status": None,
        "url": None,
        "functions": [],
        "error": None,
    }
    if placement is not None:
        described.update(placement.to_json())
    described["memory_mb"] = config.get("memory_mb")
    described["module"] = config.get("module")
    return described
