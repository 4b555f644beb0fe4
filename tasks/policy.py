"""The placement-policy tick Beat fires every few seconds."""

from __future__ import annotations

from typing import Any

from jsorc.measure.callstats import call_totals
from jsorc.policies.engine import run_policy_tick
from tasks.app import app, celery_dispatch, runtime


@app.task(name="jsorc.policy_tick")
def policy_tick() -> dict[str, Any]:
    rt = runtime()
    return run_policy_tick(rt, dispatch=celery_dispatch(), totals=lambda: call_totals(rt.state))
