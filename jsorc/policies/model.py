"""What a policy sees and says: per-action observations, the view of one tick, moves.

Observations are cumulative totals (calls and milliseconds) per action and mode, so a
policy measures any window as the difference of two snapshots. Pure data; no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

MODULE = "module"
REMOTE = "remote"

# Fraction of the node's memory budget that in-process actions may use together.
MEMORY_FRACTION = 0.8

# action -> mode -> (calls, total milliseconds)
Totals = dict[str, dict[str, tuple[int, float]]]
Assignment = dict[str, str]


@dataclasses.dataclass(frozen=True)
class ActionInfo:
    name: str
    mode: str  # the placement in force
    memory_mb: float | None  # None: unknown, so never placed in-process by a policy


@dataclasses.dataclass(frozen=True)
class View:
    """One tick's inputs: the actions under the policy, call totals, and the time."""

    actions: Mapping[str, ActionInfo]
    totals: Totals
    now: float
    settled: bool = True  # no placement is STARTING or RETIRING

    def assignment(self) -> Assignment:
        return {name: info.mode for name, info in self.actions.items()}


@dataclasses.dataclass(frozen=True)
class Decision:
    """The placement to be in force after this tick (None: keep), and the policy's state."""

    target: Assignment | None
    state: dict[str, Any]
    reason: str = ""


def fits(assignment: Assignment, actions: Mapping[str, ActionInfo], budget_mb: float) -> bool:
    """Whether the in-process actions of `assignment` fit under the memory limit."""
    used = 0.0
    for name, mode in assignment.items():
        if mode != MODULE:
            continue
        memory = actions[name].memory_mb
        if memory is None:
            return False
        used += memory
    return used <= MEMORY_FRACTION * budget_mb


def window(totals: Totals, baseline: Totals) -> Totals:
    """The calls made between `baseline` and `totals`."""
    delta: Totals = {}
    for action, modes in totals.items():
        for mode, (calls, ms) in modes.items():
            before_calls, before_ms = baseline.get(action, {}).get(mode, (0, 0.0))
            if calls > before_calls:
                delta.setdefault(action, {})[mode] = (calls - before_calls, ms - before_ms)
    return delta


def mean_latency(totals: Totals) -> float | None:
    """Mean milliseconds per call over every action and mode; None without calls."""
    calls = sum(c for modes in totals.values() for c, _ in modes.values())
    if calls == 0:
        return None
    return sum(ms for modes in totals.values() for _, ms in modes.values()) / calls


def to_json(totals: Totals) -> dict[str, dict[str, list[float]]]:
    return {a: {m: [c, ms] for m, (c, ms) in modes.items()} for a, modes in totals.items()}


def from_json(raw: Mapping[str, Any] | None) -> Totals:
    return {
        a: {m: (int(pair[0]), float(pair[1])) for m, pair in modes.items()}
        for a, modes in (raw or {}).items()
    }
