"""The policy tick against real Redis, SQL and action servers: checked parameters,
moves applied in a safe order and recorded, holding while a move is under way."""

from __future__ import annotations

import re

import pytest

from jsorc import admin
from jsorc.admin import Dispatch
from jsorc.errors import BadRequest
from jsorc.placement import MODULE, REMOTE
from jsorc.policies.engine import get_policy, run_policy_tick, set_policy
from jsorc.runtime import Runtime


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("fastest", {}, "policy must be one of default, evaluation, adaptive"),
        ("evaluation", {"colour": 1}, "has no parameter(s) ['colour']"),
        ("evaluation", {"eval_phase": 0}, "eval_phase must be between 1 and"),
        ("evaluation", {"eval_phase": 30, "perf_phase": 10}, "perf_phase must be at least"),
        ("adaptive", {"min_calls": 2.5}, "min_calls must be a whole number"),
        ("adaptive", {"node_memory_mb": "lots"}, "node_memory_mb must be a number"),
    ],
)
def test_bad_policy_parameters_are_refused_and_change_nothing(
    rt: Runtime, name: str, params: dict, message: str
) -> None:
    set_policy(rt, "adaptive", {"node_memory_mb": 1024})
    with pytest.raises(BadRequest, match=re.escape(message)):
        set_policy(rt, name, params)
    policy = get_policy(rt)
    assert (policy["name"], policy["params"]["node_memory_mb"]) == ("adaptive", 1024.0)


def test_the_policy_survives_a_redis_flush(rt: Runtime) -> None:
    set_policy(rt, "evaluation", {"eval_phase": 3})
    rt.state.client.flushall()
    policy = get_policy(rt)
    assert (policy["name"], policy["params"]["eval_phase"]) == ("evaluation", 3.0)


def test_evaluation_moves_actions_to_remote_first_and_records_why(
    rt: Runtime, inline_dispatch: Dispatch
) -> None:
    # text_tools needs 5 MB and vectors 40 MB; a 50 MB node allows 40 MB in-process, so
    # the candidates (text_tools, vectors) are: (remote, remote), (remote, module),
    # (module, remote); both in-process (45 MB) does not fit.
    for name in ("text_tools", "vectors"):
        admin.configure(rt, name, "jsorc_examples.config")
        admin.load(rt, name, MODULE, dispatch=inline_dispatch)
    set_policy(rt, "evaluation", {"node_memory_mb": 50, "eval_phase": 10, "perf_phase": 60})
    totals: dict = {}
    clock = [1000.0]

    def tick() -> dict:
        report = run_policy_tick(
            rt, dispatch=inline_dispatch, totals=lambda: totals, clock=lambda: clock[0]
        )
        clock[0] += 10.0
        return report

    assert tick()["moves"] == [{"action": "text_tools", "to": REMOTE},
                               {"action": "vectors", "to": REMOTE}]  # fmt: skip
    assert tick()["moves"] == [{"action": "vectors", "to": MODULE}]
    third = tick()
    # vectors leaves first (to remote), then text_tools comes in-process.
    assert third["moves"] == [{"action": "vectors", "to": REMOTE},
                              {"action": "text_tools", "to": MODULE}]  # fmt: skip
    placements = rt.state.fetch_placements()
    assert (placements["text_tools"].mode, placements["vectors"].mode) == (MODULE, REMOTE)
    reasons = [e["reason"] for e in rt.db.placement_history("vectors")]
    assert "policy evaluation: evaluating placement 3 of 3" in reasons


def test_the_policy_holds_while_a_move_is_under_way(rt: Runtime, inline_dispatch: Dispatch) -> None:
    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", MODULE, dispatch=inline_dispatch)
    set_policy(rt, "evaluation", {"node_memory_mb": 50})
    starting = Dispatch(spawn=lambda name: None, retire=lambda name: None)  # never finishes

    first = run_policy_tick(rt, dispatch=starting, totals=lambda: {}, clock=lambda: 0.0)
    assert first["moves"] == [{"action": "text_tools", "to": REMOTE}]
    held = run_policy_tick(rt, dispatch=starting, totals=lambda: {}, clock=lambda: 99.0)
    assert held["moves"] == []
    assert rt.state.fetch_placement("text_tools").status == "STARTING"


def test_the_default_policy_moves_nothing(rt: Runtime, inline_dispatch: Dispatch) -> None:
    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", MODULE, dispatch=inline_dispatch)
    report = run_policy_tick(rt, dispatch=inline_dispatch, totals=lambda: {})
    assert report == {"policy": "default", "moves": []}


def test_actionpolicy_set_and_get_over_the_api(api) -> None:  # noqa: ANN001
    code, reply = api.post(
        "/js_admin/jsorc_actionpolicy_set",
        json_body={"name": "adaptive", "params": {"node_memory_mb": 2048, "min_calls": 10}},
    )
    assert code == 200
    assert reply["policy"]["params"]["node_memory_mb"] == 2048.0
    code, reply = api.post("/js_admin/jsorc_actionpolicy_get", json_body={})
    assert (code, reply["policy"]["name"], reply["policy"]["params"]["min_calls"]) == (
        200,
        "adaptive",
        10,
    )
    code, reply = api.post(
        "/js_admin/jsorc_actionpolicy_set", json_body={"name": "adaptive", "params": {"x": 1}}
    )
    assert code == 400 and "has no parameter(s) ['x']" in reply["error"]
