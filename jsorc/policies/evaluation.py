"""The Evaluation policy (Jaseci's semantics, its defects fixed).

Each round tries every placement whose in-process memory fits under 80% of the budget,
for `eval_phase` seconds each, measuring the mean call latency of that window; then the
best is kept for `perf_phase` seconds, doubled each time the same placement wins again.
Fixed: every change of a candidate is applied (the whole target placement is returned);
the previous best is refreshed every round; measurements come from the always-on call
statistics, not from a user benchmark; an action without a memory figure stays remote.
Hazard: 2^n candidates; fine for a handful of actions, which is why Adaptive exists.
"""

from __future__ import annotations

import itertools
from typing import Any

from jsorc.policies.model import (
    MODULE,
    REMOTE,
    Assignment,
    Decision,
    View,
    fits,
    from_json,
    mean_latency,
    to_json,
    window,
)

DEFAULTS = {"node_memory_mb": 4096.0, "eval_phase": 10.0, "perf_phase": 60.0}


def candidates(view: View, budget_mb: float) -> list[Assignment]:
    """Every placement of the view's actions that fits, in a stable order."""
    names = sorted(view.actions)
    options = []
    for modes in itertools.product((REMOTE, MODULE), repeat=len(names)):
        assignment = dict(zip(names, modes, strict=True))
        if fits(assignment, view.actions, budget_mb):
            options.append(assignment)
    return options


def decide(view: View, state: dict[str, Any], params: dict[str, Any]) -> Decision:
    if not view.settled:
        # A move is still under way: its window starts once it has landed.
        return Decision(None, {**state, "phase_started": view.now} if state else state)
    phase = state.get("phase")
    if phase is None or sorted(state.get("actions", [])) != sorted(view.actions):
        return _start_round(view, params, previous=state)
    elapsed = view.now - state["phase_started"]
    if phase == "eval" and elapsed >= params["eval_phase"]:
        return _next_candidate(view, state, params)
    if phase == "perf" and elapsed >= state["perf_phase"]:
        return _start_round(view, params, previous=state)
    return Decision(None, state)


def _start_round(view: View, params: dict[str, Any], *, previous: dict[str, Any]) -> Decision:
    options = candidates(view, params["node_memory_mb"])
    state = {
        "phase": "eval",
        "actions": sorted(view.actions),
        "candidates": options,
        "index": 0,
        "results": [],
        "phase_started": view.now,
        "baseline": to_json(view.totals),
        "perf_phase": previous.get("perf_phase", params["perf_phase"]),
        "previous_best": previous.get("best"),
        "best": None,
        "tried": previous.get("tried", 0) + 1,
    }
    return Decision(options[0], state, f"evaluating placement 1 of {len(options)}")


def _next_candidate(view: View, state: dict[str, Any], params: dict[str, Any]) -> Decision:
    measured = mean_latency(window(view.totals, from_json(state["baseline"])))
    results = [*state["results"], measured]
    index = state["index"] + 1
    state = {**state, "results": results, "index": index, "tried": state["tried"] + 1}
    if index < len(state["candidates"]):
        state.update(phase_started=view.now, baseline=to_json(view.totals))
        total = len(state["candidates"])
        return Decision(
            state["candidates"][index], state, f"evaluating placement {index + 1} of {total}"
        )
    return _keep_best(view, state, params)


def _keep_best(view: View, state: dict[str, Any], params: dict[str, Any]) -> Decision:
    scored = [(ms, i) for i, ms in enumerate(state["results"]) if ms is not None]
    if not scored:
        # No calls at all in the round: nothing to learn; try again after a perf phase.
        best = view.assignment()
    else:
        best = state["candidates"][min(scored)[1]]
    same = best == state.get("previous_best")
    perf_phase = state["perf_phase"] * 2 if same else params["perf_phase"]
    state = {
        **state,
        "phase": "perf",
        "best": best,
        "previous_best": best,
        "perf_phase": perf_phase,
        "phase_started": view.now,
        "baseline": to_json(view.totals),
    }
    why = "the same placement won again" if same else "a new best placement"
    return Decision(best, state, f"{why}; keeping it for {perf_phase:g}s")
