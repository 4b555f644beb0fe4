"""Adaptive vs Evaluation vs the exhaustive optimum, on synthetic apps and on real actions.

Synthetic part: apps of 4, 8 and 12 actions, each with a memory footprint, a share of
the calls, and a mean service time in-process and remote (seeded, so runs repeat). A
simulated clock drives the real policy code (`jsorc.policies.evaluation/adaptive`): each
policy tick sees the call totals the app produced under the placement in force, with
+-10% noise per call batch. For each app it prints the exhaustive optimum (every
placement that fits, scored exactly), what Evaluation and Adaptive settle on (mean ms
per call, exact), how many placements each tried, and simulated time to settle.

Real part (`--real`): the example actions (text_tools, vectors, classifier) behind the
real router, real action servers and Redis; a closed loop of calls while the Adaptive
engine ticks; prints the measured costs, the placement chosen and the exhaustive choice
computed from the same measured costs.

    .venv/bin/python benchmarks/policies.py [--sizes 4 8 12] [--seed 7] [--real]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jsorc.policies import adaptive, evaluation  # noqa: E402
from jsorc.policies.model import (  # noqa: E402
    MEMORY_FRACTION,
    MODULE,
    REMOTE,
    ActionInfo,
    Totals,
    View,
)

# Seconds of simulated time between policy ticks.
TICK_S = 2.0
# Requests per second the synthetic app makes; each request calls every action per share.
REQUESTS_PER_S = 20
# Calls an action gets per request, at most.
MAX_CALLS_PER_REQUEST = 3
# Node memory (MB) for the synthetic apps; about half the actions fit in-process.
NODE_MEMORY_MB = 2048.0
EVAL_PARAMS = {"node_memory_mb": NODE_MEMORY_MB, "eval_phase": 10.0, "perf_phase": 60.0}
ADAPT_PARAMS = {**adaptive.DEFAULTS, "node_memory_mb": NODE_MEMORY_MB, "probe_phase": 10.0}
# Ticks a policy may take at most before the run is cut short (simulated).
MAX_TICKS = 100_000


def synthetic_app(n: int, rng: random.Random) -> dict[str, dict[str, Any]]:
    """n actions: memory (MB), calls per request, and ms per call in each mode."""
    app = {}
    for i in range(n):
        local = rng.uniform(0.2, 20.0)
        remote = local * rng.uniform(0.6, 1.4) + rng.uniform(0.5, 6.0)  # network and queueing
        app[f"act{i:02d}"] = {
            "memory_mb": round(rng.uniform(100, 900)),
            "calls": rng.randint(1, MAX_CALLS_PER_REQUEST),
            "cost": {MODULE: local, REMOTE: remote},
        }
    return app


def expected_ms(app: dict[str, dict[str, Any]], placement: dict[str, str]) -> float:
    """Mean ms per call of the app under `placement` (exact, no noise)."""
    calls = sum(a["calls"] for a in app.values())
    return sum(a["calls"] * a["cost"][placement[n]] for n, a in app.items()) / calls


def exhaustive(app: dict[str, dict[str, Any]]) -> tuple[dict[str, str], float, int]:
    names = sorted(app)
    limit = MEMORY_FRACTION * NODE_MEMORY_MB
    best, best_ms, feasible = None, float("inf"), 0
    for modes in itertools.product((REMOTE, MODULE), repeat=len(names)):
        placement = dict(zip(names, modes, strict=True))
        used = sum(app[n]["memory_mb"] for n, m in placement.items() if m == MODULE)
        if used > limit:
            continue
        feasible += 1
        ms = expected_ms(app, placement)
        if ms < best_ms:
            best, best_ms = placement, ms
    assert best is not None
    return best, best_ms, feasible


class Simulation:
    """The app running under a placement, producing cumulative call totals."""

    def __init__(self, app: dict[str, dict[str, Any]], rng: random.Random) -> None:
        self.app, self.rng = app, rng
        self.placement = {name: REMOTE for name in app}
        self.totals: Totals = {}
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        requests = int(REQUESTS_PER_S * seconds)
        for name, action in self.app.items():
            mode = self.placement[name]
            calls = requests * action["calls"]
            ms = calls * action["cost"][mode] * self.rng.uniform(0.9, 1.1)
            before = self.totals.setdefault(name, {}).get(mode, (0, 0.0))
            self.totals[name][mode] = (before[0] + calls, before[1] + ms)
        self.now += seconds

    def view(self) -> View:
        actions = {n: ActionInfo(n, self.placement[n], a["memory_mb"]) for n, a in self.app.items()}
        return View(actions=actions, totals=self.totals, now=self.now)


def run_policy(app: dict[str, dict[str, Any]], policy: str, seed: int) -> dict[str, Any]:
    sim = Simulation(app, random.Random(seed))
    decide, params = (
        (evaluation.decide, EVAL_PARAMS)
        if policy == "evaluation"
        else (adaptive.decide, ADAPT_PARAMS)
    )
    state: dict[str, Any] = {}
    in_force = {tuple(sorted(sim.placement.items()))}
    for _ in range(MAX_TICKS):
        sim.advance(TICK_S)
        decision = decide(sim.view(), state, params)
        state = decision.state
        if decision.target is not None:
            sim.placement = dict(decision.target)
            in_force.add(tuple(sorted(sim.placement.items())))
        if state.get("phase") in ("perf", "steady"):
            break
    placements_tried = len(in_force)
    return {
        "placement": dict(sim.placement),
        "ms": expected_ms(app, sim.placement),
        "tried": placements_tried,
        "settle_s": sim.now,
        "probes": state.get("probes"),
    }


def synthetic_report(sizes: list[int], seed: int) -> None:
    print("Synthetic apps (simulated clock; policy code as shipped)")
    print(f"node memory {NODE_MEMORY_MB:g} MB (in-process limit {MEMORY_FRACTION:.0%}), "
          f"policy tick {TICK_S:g}s, Evaluation eval_phase {EVAL_PARAMS['eval_phase']:g}s, "
          f"Adaptive probe_phase {ADAPT_PARAMS['probe_phase']:g}s\n")  # fmt: skip
    header = (f"{'n':>3} {'feasible':>8} | {'optimum ms':>10} | {'Evaluation ms':>13} "
              f"{'tried':>6} {'settle s':>9} | {'Adaptive ms':>11} {'tried':>5} "
              f"{'probes':>6} {'settle s':>8} {'vs opt':>7}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for n in sizes:
        app = synthetic_app(n, random.Random(seed * 1000 + n))
        _, optimum_ms, feasible = exhaustive(app)
        ev = run_policy(app, "evaluation", seed)
        ad = run_policy(app, "adaptive", seed)
        gap = (ad["ms"] / optimum_ms - 1) * 100
        print(f"{n:>3} {feasible:>8} | {optimum_ms:>10.3f} | {ev['ms']:>13.3f} {ev['tried']:>6} "
              f"{ev['settle_s']:>9.0f} | {ad['ms']:>11.3f} {ad['tried']:>5} {ad['probes']:>6} "
              f"{ad['settle_s']:>8.0f} {gap:>+6.2f}%")  # fmt: skip
    print("\n'tried': distinct placements in force until the policy settled (the starting one,\n"
          "all remote, included). Evaluation measures every feasible placement once; Adaptive\n"
          "measures the start, its probes, then puts its plan in force.")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real", action="store_true", help="also run the real-action part")
    opts = parser.parse_args(argv)
    started = time.monotonic()
    synthetic_report(opts.sizes, opts.seed)
    if opts.real:
        from benchmarks.policies_real import real_report

        real_report()
    print(f"\n(run took {time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
