"""trackact: the router call history over a tracked window, with its placement changes.

`start` snapshots the always-on call statistics; `stop` reads them again and reports the
difference per action (count, mean, percentiles, per placement mode and per function),
with each placement event of the window from SQL, and keeps the report in SQL.
Non-goal: recording calls (routers always do). Hazard: see callstats' flush delay.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from jsorc.errors import BadRequest
from jsorc.measure import reports
from jsorc.measure.callstats import merge_by, snapshot_call_stats, summarise
from jsorc.measure.sessions import end_session, fetch_session, start_session
from jsorc.measure.store import Series, series_from_json, series_to_json, window
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

KIND = "trackact"


def start(rt: Runtime) -> dict[str, Any]:
    snapshot = series_to_json(snapshot_call_stats(rt.state))
    session = start_session(rt.state, KIND, snapshot)
    logger.info("Call tracking started (%s).", session["id"])
    return {"id": session["id"], "started": session["started"]}


def stop(rt: Runtime) -> dict[str, Any]:
    """The report of the window since `start`, kept in SQL (its `id` names it)."""
    session = end_session(rt.state, KIND)
    if session is None:
        raise BadRequest("call tracking is not running; start it with `jsorc trackact start`")
    stopped = time.time()
    report = build_report(
        rt, since=series_from_json(session["snapshot"] or []),
        started=session["started"], stopped=stopped,
    )  # fmt: skip
    report["id"] = reports.save_report(
        rt.db, KIND, report, started=session["started"], stopped=stopped
    )
    logger.info("Call tracking stopped (%s); report %d.", session["id"], report["id"])
    return report


def current(rt: Runtime) -> dict[str, Any] | None:
    """The window so far while tracking runs; None when it does not."""
    session = fetch_session(rt.state, KIND)
    if session is None:
        return None
    return build_report(
        rt, since=series_from_json(session["snapshot"] or []),
        started=session["started"], stopped=time.time(),
    )  # fmt: skip


def build_report(rt: Runtime, *, since: Series, started: float, stopped: float) -> dict[str, Any]:
    calls = window(snapshot_call_stats(rt.state), since)
    by_action = summarise(merge_by(calls, ("action", "mode")))
    by_function = summarise(merge_by(calls, ("function", "mode")))
    changes = placement_changes(rt, started=started, stopped=stopped)
    placements = rt.state.fetch_placements()
    actions: dict[str, Any] = {}
    for action in sorted(set(by_action) | {c["action"] for c in changes}):
        placed = placements.get(action)
        actions[action] = {
            "placement": placed.mode if placed else "none",
            "modes": by_action.get(action, {}),
            "functions": {
                function: modes
                for function, modes in by_function.items()
                if any(labels[0] == action and labels[1] == function for labels in calls)
            },
            "placement_changes": [c for c in changes if c["action"] == action],
        }
    return {
        "kind": KIND,
        "started": started,
        "stopped": stopped,
        "seconds": round(stopped - started, 3),
        "actions": actions,
        "placement_changes": changes,
    }


def placement_changes(rt: Runtime, *, started: float, stopped: float) -> list[dict[str, Any]]:
    """Placement events from SQL between `started` and `stopped` (epoch seconds)."""
    out = []
    for event in rt.db.placement_history():
        at = reports.epoch(dt.datetime.fromisoformat(event["at"]))
        if started <= at <= stopped:
            out.append({**event, "at": at})
    return out
