"""The real-action part of benchmarks/policies.py: Adaptive and Evaluation driving the
example actions through the real router, real action servers and a private Redis.

A closed loop of "requests" (text_tools.word_count x3, vectors.cosine_similarity x2,
classifier.predict x1) runs in a thread while a policy ticks every second. The node
budget is set so that the three cannot all be in-process. Printed: the costs each mode
measured, the placement each policy settled on, how long that took and how many
placements it tried, the exhaustive choice over the same measured costs, and the mean
ms per call measured afterwards under each settled placement.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jsorc import admin, spawning
from jsorc.admin import Dispatch
from jsorc.measure.callstats import call_totals, reset_call_stats
from jsorc.policies import adaptive
from jsorc.policies.engine import get_policy, run_policy_tick, set_policy
from jsorc.policies.model import MEMORY_FRACTION, MODULE, REMOTE, mean_latency, window
from jsorc.redis_server import RedisServer
from jsorc.router import Router
from jsorc.runtime import Runtime
from jsorc.settings import Settings

ACTIONS = ("text_tools", "vectors", "classifier")
# Memory figures from jsorc_examples.config: 5 + 40 + 120 MB; 150 MB * 0.8 = 120 MB fits
# the classifier alone, or text_tools and vectors together.
NODE_MEMORY_MB = 150.0
REQUEST = [
    ("text_tools.word_count", ("the quick brown fox jumps over the lazy dog",)),
    ("text_tools.word_count", ("JSORC places actions",)),
    ("text_tools.word_count", ("one two three four",)),
    ("vectors.cosine_similarity", ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])),
    ("vectors.cosine_similarity", ([0.5, 0.5], [1.0, 0.0])),
    ("classifier.predict", ([6.1, 2.8, 4.7, 1.2],)),
]
# Seconds between policy ticks, and a policy's time limit to settle.
TICK_S = 1.0
SETTLE_LIMIT_S = 120.0
# Seconds of calls measured under each settled placement.
MEASURE_S = 4.0


def real_report() -> None:
    print("\nReal actions through real action servers (Redis, router and servers on 127.0.0.1)")
    with tempfile.TemporaryDirectory() as home:
        redis_server = RedisServer(directory=Path(home) / "redis").start()
        settings = Settings(home=Path(home), redis_url=redis_server.url, backoff_interval=5)
        rt = Runtime.from_settings(settings)
        dispatch = Dispatch(spawn=lambda n: spawning.spawn_action(rt, n),
                            retire=lambda n: spawning.retire_action(rt, n))  # fmt: skip
        try:
            _run(rt, dispatch)
        finally:
            for name in rt.backend.names():
                rt.backend.retire(name)
            rt.close()
            redis_server.stop()


def _run(rt: Runtime, dispatch: Dispatch) -> None:
    for name in ACTIONS:
        admin.configure(rt, name, "jsorc_examples.config")
    results = {}
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules) as router:
        load = _Load(router)
        load.start()
        try:
            for policy, params in (
                ("adaptive", {"node_memory_mb": NODE_MEMORY_MB, "probe_phase": 3.0,
                              "min_calls": 20}),
                ("evaluation", {"node_memory_mb": NODE_MEMORY_MB, "eval_phase": 3.0,
                                "perf_phase": 600.0}),
            ):  # fmt: skip
                for name in ACTIONS:
                    admin.load(rt, name, REMOTE, dispatch=dispatch)
                time.sleep(1.0)
                reset_call_stats(rt.state)
                set_policy(rt, policy, params)
                results[policy] = _settle(rt, dispatch, policy)
                results[policy]["measured_ms"] = _measure(rt)
        finally:
            load.stop()
    _print(results)


def _settle(rt: Runtime, dispatch: Dispatch, policy: str) -> dict[str, Any]:
    started = time.monotonic()
    seen = set()
    while time.monotonic() - started < SETTLE_LIMIT_S:
        run_policy_tick(rt, dispatch=dispatch, totals=lambda: call_totals(rt.state))
        placement = {n: p.mode for n, p in rt.state.fetch_placements().items()}
        seen.add(tuple(sorted(placement.items())))
        if get_policy(rt)["phase"] in ("perf", "steady"):
            break
        time.sleep(TICK_S)
    return {"placement": placement, "settle_s": time.monotonic() - started, "tried": len(seen),
            "totals": call_totals(rt.state)}  # fmt: skip


def _measure(rt: Runtime) -> float | None:
    time.sleep(1.5)  # calls in flight finish, statistics flush
    before = call_totals(rt.state)
    time.sleep(MEASURE_S)
    return mean_latency(window(call_totals(rt.state), before))


def _exhaustive(costs: dict[str, dict[str, float]], shares: dict[str, float]) -> dict[str, str]:
    memory = {"text_tools": 5.0, "vectors": 40.0, "classifier": 120.0}
    best, best_ms = None, float("inf")
    for modes in itertools.product((REMOTE, MODULE), repeat=len(ACTIONS)):
        placement = dict(zip(ACTIONS, modes, strict=True))
        used = sum(memory[n] for n, m in placement.items() if m == MODULE)
        if used > MEMORY_FRACTION * NODE_MEMORY_MB or any(m not in costs[n] for n, m in
                                                          placement.items()):  # fmt: skip
            continue
        ms = sum(shares[n] * costs[n][m] for n, m in placement.items())
        if ms < best_ms:
            best, best_ms = placement, ms
    return best or {}


def _print(results: dict[str, dict[str, Any]]) -> None:
    totals = results["adaptive"]["totals"]
    costs = adaptive.costs(totals, 20)
    calls = {a: sum(c for c, _ in modes.values()) for a, modes in totals.items()}
    shares = {a: c / sum(calls.values()) for a, c in calls.items()}
    print(f"node memory {NODE_MEMORY_MB:g} MB; calls per request: word_count 3, "
          "cosine_similarity 2, predict 1")  # fmt: skip
    print(f"{'action':<12} {'in-process ms':>14} {'remote ms':>10}   (measured by Adaptive)")
    for name in ACTIONS:
        cost = costs.get(name, {})
        print(f"{name:<12} {cost.get(MODULE, float('nan')):>14.3f} "
              f"{cost.get(REMOTE, float('nan')):>10.3f}")  # fmt: skip
    print(f"exhaustive choice over these costs: {_short(_exhaustive(costs, shares))}")
    for policy, result in results.items():
        measured = result["measured_ms"]
        print(f"{policy:<10} settled on {_short(result['placement'])} in "
              f"{result['settle_s']:.1f}s after {result['tried']} placement(s); then "
              f"{measured:.3f} ms per call" if measured else "no calls measured")  # fmt: skip


def _short(placement: dict[str, str]) -> str:
    return ", ".join(
        f"{n}={'in' if m == MODULE else 'remote'}" for n, m in sorted(placement.items())
    )


class _Load:
    """A closed loop of requests in a thread, until stopped."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            for function, args in REQUEST:
                try:
                    self.router.call(function, *args)
                except Exception:  # a move under way; the next call goes to the new place
                    time.sleep(0.01)
