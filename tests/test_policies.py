"""Policy decisions on scripted statistics; the right placements are worked out by hand
in each test's comments."""

from __future__ import annotations

from jsorc.policies import adaptive, evaluation
from jsorc.policies.model import MODULE as M
from jsorc.policies.model import REMOTE as R
from jsorc.policies.model import ActionInfo, Totals, View


class Script:
    """Cumulative call totals that grow as a scripted workload runs in a placement."""

    def __init__(self, memory: dict[str, float | None]) -> None:
        self.memory = memory
        self.totals: Totals = {}
        self.placement = {name: R for name in memory}

    def run(self, calls: dict[str, int], cost_ms: dict[str, dict[str, float]]) -> None:
        for name, count in calls.items():
            mode = self.placement[name]
            before = self.totals.setdefault(name, {}).get(mode, (0, 0.0))
            self.totals[name][mode] = (before[0] + count, before[1] + count * cost_ms[name][mode])

    def view(self, now: float) -> View:
        actions = {n: ActionInfo(n, self.placement[n], m) for n, m in self.memory.items()}
        return View(actions=actions, totals=self.totals, now=now)

    def apply(self, target: dict[str, str] | None) -> None:
        if target is not None:
            self.placement = dict(target)


EVAL = {"node_memory_mb": 450.0, "eval_phase": 10.0, "perf_phase": 60.0}
# Per-call cost of each placement of A and B, chosen so that {A: remote, B: module} is
# the best of the three that fit (12 ms a call against 20 and 15).
EVAL_COSTS = {"A": {R: 10.0, M: 7.5}, "B": {R: 10.0, M: 2.0}}


def test_evaluation_tries_every_fitting_placement_then_keeps_the_best() -> None:
    # Limit 0.8 * 450 = 360 MB: A (100) + B (300) = 400 does not fit; the other three do.
    script = Script({"A": 100.0, "B": 300.0})
    state: dict = {}
    seen = []
    for tick in range(4):
        decision = evaluation.decide(script.view(now=tick * 10.0), state, EVAL)
        state = decision.state
        script.apply(decision.target)
        seen.append(dict(script.placement))
        script.run({"A": 50, "B": 50}, EVAL_COSTS)

    # Means per call: (R,R) 10; (R,M) (500+100)/100 = 6; (M,R) (375+500)/100 = 8.75.
    assert seen[:3] == [{"A": R, "B": R}, {"A": R, "B": M}, {"A": M, "B": R}]
    assert seen[3] == {"A": R, "B": M}
    assert state["phase"] == "perf" and state["perf_phase"] == 60.0
    assert state["results"] == [10.0, 6.0, 8.75]


def test_evaluation_doubles_perf_phase_when_the_same_placement_wins_again() -> None:
    script = Script({"A": 100.0, "B": 300.0})
    state: dict = {}
    now = 0.0
    perf_phases = []
    for _ in range(3):  # three rounds: three evals, then a perf phase
        for _ in range(4):
            decision = evaluation.decide(script.view(now=now), state, EVAL)
            state = decision.state
            script.apply(decision.target)
            script.run({"A": 50, "B": 50}, EVAL_COSTS)
            now += 10.0
        perf_phases.append(state["perf_phase"])
        now += state["perf_phase"]
    assert perf_phases == [60.0, 120.0, 240.0]


def test_evaluation_resets_perf_phase_when_a_new_placement_wins() -> None:
    script = Script({"A": 100.0, "B": 300.0})
    state: dict = {}
    now = 0.0
    for costs in (EVAL_COSTS, {"A": {R: 10.0, M: 1.0}, "B": {R: 10.0, M: 9.0}}):
        for _ in range(4):
            decision = evaluation.decide(script.view(now=now), state, EVAL)
            state = decision.state
            script.apply(decision.target)
            script.run({"A": 50, "B": 50}, costs)
            now += 10.0
        now += state["perf_phase"]
    # Second round: (R,M) (500+450)/100 = 9.5; (M,R) (50+500)/100 = 5.5 wins, a new best.
    assert state["best"] == {"A": M, "B": R}
    assert state["perf_phase"] == 60.0


def test_evaluation_keeps_an_action_without_a_memory_figure_remote() -> None:
    # C has no memory figure: it may only be remote. A alone fits (limit 360).
    options = evaluation.candidates(Script({"A": 100.0, "C": None}).view(0), 450.0)
    assert options == [{"A": R, "C": R}, {"A": M, "C": R}]


def test_evaluation_waits_while_a_move_is_under_way() -> None:
    script = Script({"A": 100.0})
    first = evaluation.decide(script.view(now=0.0), {}, EVAL)
    unsettled = View(actions=script.view(0).actions, totals={}, now=30.0, settled=False)
    held = evaluation.decide(unsettled, first.state, EVAL)
    assert held.target is None
    assert held.state["phase_started"] == 30.0  # the window restarts once the move lands


ADAPT = {**adaptive.DEFAULTS, "node_memory_mb": 500.0, "probe_phase": 5.0}
# Worked by hand. Limit 0.8 * 500 = 400 MB. Call shares A 50%, B 30%, C 20%.
# Saving per request if in-process: share * (remote - local):
#   A 0.5 * 10 = 5.0, B 0.3 * 2 = 0.6, C 0.2 * 20 = 4.0.
# Sets that fit: {A,B} 300 MB saves 5.6; {A,C} 350 MB saves 9.0; {B,C} 450 MB does not fit.
# So {A, C} in-process, B remote: 0.5*1 + 0.3*4 + 0.2*5 = 2.7 ms per call.
ADAPT_MEMORY = {"A": 100.0, "B": 200.0, "C": 250.0}
ADAPT_COSTS = {"A": {M: 1.0, R: 11.0}, "B": {M: 2.0, R: 4.0}, "C": {M: 5.0, R: 25.0}}
MIX = {"A": 50, "B": 30, "C": 20}


def settle(script: Script, ticks: int, mix: dict[str, int], start: float = 0.0) -> dict:
    state: dict = {}
    decision = None
    for tick in range(ticks):
        script.run(mix, ADAPT_COSTS)
        decision = adaptive.decide(script.view(now=start + tick * 5.0), state, ADAPT)
        state = decision.state
        script.apply(decision.target)
    return state


def test_adaptive_probes_then_plans_the_knapsack_optimum() -> None:
    script = Script(ADAPT_MEMORY)
    state = settle(script, ticks=4, mix=MIX)

    assert state["phase"] == "steady"
    assert script.placement == {"A": M, "B": R, "C": M}
    # Probe 1 puts A and B in-process (300 MB; C no longer fits), probe 2 puts C.
    assert state["probes"] == 2  # within n + 1 = 4


def test_adaptive_replans_when_the_call_mix_shifts() -> None:
    script = Script(ADAPT_MEMORY)
    state = settle(script, ticks=4, mix=MIX)
    # Now B takes nearly all calls (300 of 310 since the plan); the mix moved by far more
    # than 0.25, so the plan is redone for the recent shares A 5/310, B 300/310, C 5/310.
    for tick in range(3):
        script.run({"A": 5, "B": 300, "C": 5}, ADAPT_COSTS)
        decision = adaptive.decide(script.view(now=100.0 + tick * 5), state, ADAPT)
        state = decision.state
        script.apply(decision.target)
    # Savings: A 5/310*10 = 0.16, B 300/310*2 = 1.94, C 5/310*20 = 0.32.
    # {A,B} 300 MB: 2.10; {A,C} 350 MB: 0.48; {B,C} does not fit: so {A, B} in-process.
    assert script.placement == {"A": M, "B": M, "C": R}


def test_adaptive_never_plans_an_action_in_process_without_a_memory_figure() -> None:
    script = Script({"A": 100.0, "X": None})
    costs = {"A": {M: 1.0, R: 3.0}, "X": {M: 0.1, R: 50.0}}
    state: dict = {}
    for tick in range(4):
        script.run({"A": 10, "X": 10}, costs)
        decision = adaptive.decide(script.view(now=tick * 5.0), state, ADAPT)
        state = decision.state
        script.apply(decision.target)
    assert script.placement == {"A": M, "X": R}


def test_an_action_that_is_never_called_is_not_probed_forever() -> None:
    script = Script({"A": 100.0, "idle": 50.0})
    state: dict = {}
    for tick in range(6):
        script.run({"A": 10}, {"A": {M: 1.0, R: 3.0}})
        state = adaptive.decide(script.view(now=tick * 5.0), state, ADAPT).state
        script.apply(adaptive.decide(script.view(now=tick * 5.0), state, ADAPT).target)
    assert state["phase"] == "steady"
    assert state["probes"] <= 3
