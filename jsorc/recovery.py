"""Rebuilding Redis's live state from SQL after Redis lost it (a restart or FLUSHALL).

Configs and the placements users asked for are durable in SQL; a regeneration tick
calls `restore` first, which puts back whatever Redis is missing. A restored module
placement is READY at once; a restored remote one is STARTING and handed to `respawn`.
Never overwrites what Redis still has.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from jsorc.placement import MODULE, READY, REMOTE, STARTING, Placement
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Restored:
    configs: list[str] = dataclasses.field(default_factory=list)
    placements: list[str] = dataclasses.field(default_factory=list)


def restore(
    rt: Runtime,
    *,
    respawn: Callable[[str], None],
    live_placements: dict[str, Placement] | None = None,
) -> Restored:
    """Put back what Redis lacks; `live_placements` saves a read when the caller has them."""
    restored = Restored()
    live_configs = rt.state.fetch_configs()
    for name, config in rt.db.fetch_configs().items():
        if name not in live_configs:
            rt.state.save_config(name, config)
            restored.configs.append(name)
    if live_placements is None:
        live_placements = rt.state.fetch_placements()
    for name, mode in rt.db.fetch_placements().items():
        if name in live_placements:
            continue
        status = READY if mode == MODULE else STARTING
        rt.state.save_placement(Placement(name=name, mode=mode, status=status))
        rt.db.record_placement(name, mode, status, "restored from SQL")
        restored.placements.append(name)
        if mode == REMOTE:
            respawn(name)
    if restored.configs or restored.placements:
        logger.warning(
            "Restored from SQL: %d config(s), %d placement(s).",
            len(restored.configs),
            len(restored.placements),
        )
    return restored
