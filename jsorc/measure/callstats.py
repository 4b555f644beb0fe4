"""Always-on router call statistics: the recorder routers use, and the reader policies use.

Series are labelled (action, function, mode): the placement in force when the call was
made. `read_call_stats` and `call_totals` read the merged totals of every process; pass
`since=snapshot_call_stats(...)` to measure a window, or `reset_call_stats` to start over.
Not here: tracking sessions (`trackact.py`). Hazard: each process flushes about once per
FLUSH_INTERVAL_S, so the newest second of calls may not be in Redis yet.
"""

from __future__ import annotations

from typing import Any

from jsorc.measure.histogram import Histogram
from jsorc.measure.recorder import FLUSH_INTERVAL_S, Recorder
from jsorc.measure.store import LatencyStore, Series, window
from jsorc.state import StateStore

KIND = "call"
# Placement label of a call whose placement the router no longer knew (it moved mid-call).
UNKNOWN = "unknown"

Stats = dict[str, dict[str, dict[str, Any]]]


def call_store(state: StateStore) -> LatencyStore:
    return LatencyStore(state.client, KIND)


def call_recorder(
    state: StateStore, *, interval: float = FLUSH_INTERVAL_S, background: bool = True
) -> Recorder:
    """The recorder a router feeds: labels (action, function, mode), latency in ns."""
    return Recorder(call_store(state).add, interval=interval, background=background)


def snapshot_call_stats(state: StateStore) -> Series:
    """The totals now; a later read with `since=` this gives the window in between."""
    return call_store(state).read()


def reset_call_stats(state: StateStore) -> None:
    """Forget every call statistic (all processes share them)."""
    call_store(state).reset()


def read_call_stats(state: StateStore, *, since: Series | None = None) -> Stats:
    """action -> mode -> {"count", "errors", "mean_ms", "p50_ms", "p90_ms", "p95_ms",
    "p99_ms", "total_ms"}, over every function of the action (since `since`, if given)."""
    return summarise(merge_by(window(snapshot_call_stats(state), since), ("action", "mode")))


def read_function_stats(state: StateStore, *, since: Series | None = None) -> Stats:
    """function ("group.func") -> mode -> the same figures as read_call_stats."""
    return summarise(merge_by(window(snapshot_call_stats(state), since), ("function", "mode")))


def call_totals(
    state: StateStore, *, since: Series | None = None
) -> dict[str, dict[str, tuple[int, float]]]:
    """action -> mode -> (calls, total milliseconds): the cheap form a policy sums."""
    merged = merge_by(window(snapshot_call_stats(state), since), ("action", "mode"))
    return {
        action: {mode: (hist.count, hist.sum_ns / 1e6) for mode, hist in modes.items()}
        for action, modes in merged.items()
    }


def merge_by(series: Series, by: tuple[str, str]) -> dict[str, dict[str, Histogram]]:
    """Series merged into a two-level mapping keyed by two of action/function/mode."""
    position = {"action": 0, "function": 1, "mode": 2}
    out: dict[str, dict[str, Histogram]] = {}
    for labels, hist in series.items():
        if len(labels) != 3:
            continue
        outer, inner = labels[position[by[0]]], labels[position[by[1]]]
        out.setdefault(outer, {}).setdefault(inner, Histogram()).merge(hist)
    return out


def summarise(merged: dict[str, dict[str, Histogram]]) -> Stats:
    return {
        outer: {
            inner: {**hist.summary(), "total_ms": round(hist.sum_ns / 1e6, 4)}
            for inner, hist in sorted(inners.items())
        }
        for outer, inners in sorted(merged.items())
    }
