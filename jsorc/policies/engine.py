"""The policy tick: read the policy and its state, build the view, decide, apply moves.

Single-flight (a Redis lock); the policy, its parameters and its working state live in
Redis (the policy also in SQL), so any worker continues where another left off. Moves
go through `admin.load` and are recorded with the policy's reason; moves to remote are
made before moves in-process, so memory never overshoots. While any placement is still
STARTING or RETIRING the policy holds (no action is left half-moved).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from jsorc import admin, keys
from jsorc.admin import Dispatch
from jsorc.errors import BadRequest, JsorcError
from jsorc.locks import single_flight
from jsorc.placement import READY
from jsorc.policies import adaptive, evaluation
from jsorc.policies.model import MODULE, REMOTE, ActionInfo, Decision, Totals, View
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

SETTING = "policy"
# Seconds: a policy tick holds its lock at most this long.
LOCK_TTL = 60.0

Decide = Callable[[View, dict[str, Any], dict[str, Any]], Decision]
POLICIES: dict[str, tuple[Decide | None, dict[str, Any]]] = {
    "default": (None, {}),
    "evaluation": (evaluation.decide, evaluation.DEFAULTS),
    "adaptive": (adaptive.decide, adaptive.DEFAULTS),
}
# Parameter checks: name -> (lowest allowed, highest allowed, integral).
LIMITS: dict[str, tuple[float, float, bool]] = {
    "node_memory_mb": (1.0, 1e9, False),
    "eval_phase": (1.0, 86400.0, False),
    "perf_phase": (1.0, 7 * 86400.0, False),
    "probe_phase": (1.0, 86400.0, False),
    "min_calls": (1, 1_000_000, True),
    "shift_threshold": (0.01, 1.0, False),
    "replan_calls": (1, 10_000_000, True),
}


def set_policy(rt: Runtime, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check and install a policy; its working state starts afresh."""
    checked = check_params(name, params or {})
    policy = {"name": name, "params": checked}
    rt.db.save_settings({SETTING: policy})
    pipe = rt.state.client.pipeline()
    pipe.set(keys.POLICY, json.dumps(policy))
    pipe.delete(keys.POLICY_STATE)
    pipe.execute()
    logger.info("Placement policy is now %s %r.", name, checked)
    return policy


def get_policy(rt: Runtime) -> dict[str, Any]:
    raw = rt.state.client.get(keys.POLICY)
    if raw is None:
        stored = rt.db.fetch_settings().get(SETTING)
        policy = stored or {"name": "default", "params": {}}
        rt.state.client.set(keys.POLICY, json.dumps(policy))
    else:
        policy = json.loads(raw)
    state = json.loads(rt.state.client.get(keys.POLICY_STATE) or "{}")
    return {**policy, "phase": state.get("phase"), "probes": state.get("probes"),
            "best": state.get("best") or state.get("plan")}  # fmt: skip


def check_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    if name not in POLICIES:
        raise BadRequest(f"policy must be one of {', '.join(POLICIES)}, not {name!r}")
    defaults = POLICIES[name][1]
    unknown = set(params) - set(defaults)
    if unknown:
        raise BadRequest(
            f"policy {name!r} has no parameter(s) {sorted(unknown)}; "
            f"it takes {sorted(defaults) or 'none'}"
        )
    checked = dict(defaults)
    for key, value in params.items():
        low, high, integral = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(f"{key} must be a number, not {value!r}")
        if integral and value != int(value):
            raise BadRequest(f"{key} must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise BadRequest(f"{key} must be between {low:g} and {high:g}, not {value!r}")
        checked[key] = int(value) if integral else float(value)
    if "perf_phase" in checked and checked["perf_phase"] < checked["eval_phase"]:
        raise BadRequest("perf_phase must be at least eval_phase")
    return checked


def run_policy_tick(
    rt: Runtime,
    *,
    dispatch: Dispatch,
    totals: Callable[[], Totals],
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """One tick of the policy in force; returns what it did."""
    with single_flight(rt.state.client, keys.POLICY_LOCK, ttl=LOCK_TTL) as lock:
        if lock is None:
            return {"skipped": True}
        policy = get_policy(rt)
        decide, _ = POLICIES.get(policy["name"], (None, {}))
        if decide is None:
            return {"policy": policy["name"], "moves": []}
        view = build_view(rt, totals(), now=clock())
        if not view.actions:
            return {"policy": policy["name"], "moves": []}
        state = json.loads(rt.state.client.get(keys.POLICY_STATE) or "{}")
        decision = decide(view, state, policy["params"])
        rt.state.client.set(keys.POLICY_STATE, json.dumps(decision.state))
        moves = []
        if decision.target is not None:
            why = f"policy {policy['name']}: {decision.reason}"
            moves = apply(rt, view, decision.target, dispatch=dispatch, reason=why)
        return {"policy": policy["name"], "moves": moves, "reason": decision.reason}


def build_view(rt: Runtime, totals: Totals, *, now: float) -> View:
    """The loaded actions (those with a placement), their memory and the call totals."""
    placements = rt.state.fetch_placements()
    configs = rt.state.fetch_configs()
    actions = {
        name: ActionInfo(name, p.mode, (configs.get(name) or {}).get("memory_mb"))
        for name, p in placements.items()
        if p.mode in (MODULE, REMOTE)
    }
    settled = all(p.status == READY for p in placements.values())
    return View(actions=actions, totals=totals, now=now, settled=settled)


def apply(
    rt: Runtime, view: View, target: dict[str, str], *, dispatch: Dispatch, reason: str
) -> list[dict[str, str]]:
    """Load each changed action in its target mode: to remote first, then in-process."""
    changes = [(name, mode) for name, mode in target.items()
               if name in view.actions and view.actions[name].mode != mode]  # fmt: skip
    changes.sort(key=lambda change: change[1] != REMOTE)
    moves = []
    for name, mode in changes:
        try:
            admin.load(rt, name, mode, dispatch=dispatch, reason=reason)
        except JsorcError as exc:
            logger.warning("Policy could not move %r to %s: %s", name, mode, exc)
            continue
        moves.append({"action": name, "to": mode})
    if moves:
        logger.info("%s: %s", reason, ", ".join(f"{m['action']}->{m['to']}" for m in moves))
    return moves
