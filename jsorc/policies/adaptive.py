"""The Adaptive policy: learn each action's cost per mode, then solve for the placement.

Costs are mean milliseconds per call in each mode, from the calls tracked since the
policy began. An action not yet measured in a mode is probed: one probe phase moves
every such action at once (as many to in-process as fit), so n actions need at most
n + 1 phases, never 2^n. With every cost known, the in-process set is the knapsack that
maximises the expected saving per request, sum(share * (remote - local)), under the
memory limit. The plan is redone when the call mix shifts (total variation distance
over `shift_threshold`). Moves to remote come first, so memory never overshoots.
"""

from __future__ import annotations

from typing import Any

from jsorc.policies.knapsack import best_subset
from jsorc.policies.model import (
    MEMORY_FRACTION,
    MODULE,
    REMOTE,
    Assignment,
    Decision,
    Totals,
    View,
    from_json,
    to_json,
    window,
)

DEFAULTS = {
    "node_memory_mb": 4096.0,
    "probe_phase": 5.0,  # seconds a probe placement is held
    "min_calls": 5,  # calls in a mode before its cost is trusted
    "shift_threshold": 0.25,  # total variation distance of the call mix that re-plans
    "replan_calls": 50,  # calls since the plan before a shift is judged
}


def decide(view: View, state: dict[str, Any], params: dict[str, Any]) -> Decision:
    if not view.settled:
        return Decision(None, {**state, "phase_started": view.now} if state else state)
    if not state or sorted(state.get("actions", [])) != sorted(view.actions):
        state = {"actions": sorted(view.actions), "baseline": to_json(view.totals),
                 "phase": "learn", "probes": 0}  # fmt: skip
    seen = window(view.totals, from_json(state["baseline"]))
    if state["phase"] == "probe":
        if view.now - state["phase_started"] < params["probe_phase"]:
            return Decision(None, state)
        state = {**state, "phase": "learn"}
    if state["phase"] == "learn":
        probe = _probe_target(view, seen, params, state.get("probed", []))
        if probe is not None:
            probed = [*state.get("probed", []), *(f"{n}/{m}" for n, m in probe.items())]
            state = {**state, "phase": "probe", "phase_started": view.now,
                     "probes": state["probes"] + 1, "probed": sorted(set(probed))}  # fmt: skip
            return Decision(probe, state, "probing actions not yet measured in a mode")
        return _plan(view, seen, state, params, why="every cost known")
    since_plan = window(view.totals, from_json(state["plan_baseline"]))
    if sum(c for modes in since_plan.values() for c, _ in modes.values()) < params["replan_calls"]:
        return Decision(None, state)
    recent = _mix(since_plan)
    shift = _distance(recent, state["plan_mix"])
    if shift > params["shift_threshold"]:
        return _plan(view, seen, state, params, mix=recent, why=f"call mix shifted by {shift:.2f}")
    return Decision(None, state)


def costs(seen: Totals, min_calls: int) -> dict[str, dict[str, float]]:
    """Mean ms per call per action and mode, where at least `min_calls` were seen."""
    return {
        action: {mode: ms / calls for mode, (calls, ms) in modes.items() if calls >= min_calls}
        for action, modes in seen.items()
    }


def plan(
    view: View, seen: Totals, params: dict[str, Any], mix: dict[str, float] | None = None
) -> Assignment:
    """The placement that minimises expected latency per request under the memory limit,
    for the call `mix` (shares per action; by default, that of every call seen)."""
    known = costs(seen, params["min_calls"])
    mix = _mix(seen) if mix is None else mix
    items = {}
    for name, info in view.actions.items():
        cost = known.get(name, {})
        if info.memory_mb is None or MODULE not in cost or REMOTE not in cost:
            continue
        items[name] = (info.memory_mb, mix.get(name, 0.0) * (cost[REMOTE] - cost[MODULE]))
    chosen = best_subset(items, MEMORY_FRACTION * params["node_memory_mb"])
    return {name: MODULE if name in chosen else REMOTE for name in view.actions}


def _plan(
    view: View,
    seen: Totals,
    state: dict[str, Any],
    params: dict[str, Any],
    *,
    why: str,
    mix: dict[str, float] | None = None,
) -> Decision:
    mix = _mix(seen) if mix is None else mix
    target = plan(view, seen, params, mix)
    state = {**state, "phase": "steady", "plan": target, "plan_mix": mix,
             "plan_baseline": to_json(view.totals)}  # fmt: skip
    return Decision(target, state, f"planned ({why})")


def _probe_target(
    view: View, seen: Totals, params: dict[str, Any], probed: list[str]
) -> Assignment | None:
    """A placement that measures modes not yet known (each action/mode probed at most
    once: an action that gets no calls is not probed forever), or None when none is left.

    Actions with nothing to measure go remote, to leave room for in-process probes."""
    known = costs(seen, params["min_calls"])
    limit = MEMORY_FRACTION * params["node_memory_mb"]

    def could_run(name: str, mode: str) -> bool:
        memory = view.actions[name].memory_mb
        return mode == REMOTE or (memory is not None and memory <= limit)

    wanted = [
        (name, mode)
        for name in sorted(view.actions)
        for mode in (MODULE, REMOTE)
        if mode not in known.get(name, {})
        and f"{name}/{mode}" not in probed
        and could_run(name, mode)
    ]
    target = {name: REMOTE for name in view.actions}
    room = limit
    for name, mode in wanted:
        memory = view.actions[name].memory_mb or 0.0
        if mode == MODULE and memory <= room:
            target[name] = MODULE
            room -= memory
    return target if any(target[name] == mode for name, mode in wanted) else None


def _mix(seen: Totals) -> dict[str, float]:
    calls = {action: sum(c for c, _ in modes.values()) for action, modes in seen.items()}
    total = sum(calls.values())
    return {action: count / total for action, count in calls.items()} if total else {}


def _distance(a: dict[str, float], b: dict[str, float]) -> float:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))
