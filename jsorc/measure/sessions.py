"""Measurement sessions in Redis: one per kind (trackact, benchmark, tracksys) at a time.

A session is an id, a start time and the snapshot its window is measured from. Starting
one while one runs replaces it (as in Jaseci); ending is atomic, so two stops never both
get the session. Not here: what the snapshot holds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from jsorc import keys
from jsorc.errors import StateUnavailable
from jsorc.state import StateStore


def start_session(state: StateStore, kind: str, snapshot: Any = None) -> dict[str, Any]:
    session = {"id": uuid.uuid4().hex, "started": time.time(), "snapshot": snapshot}
    key = keys.measure_session(kind)
    try:
        pipe = state.client.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping={k: json.dumps(v) for k, v in session.items()})
        pipe.execute()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StateUnavailable(f"Redis state store unreachable: {exc}") from exc
    return session


def fetch_session(state: StateStore, kind: str) -> dict[str, Any] | None:
    try:
        raw = state.client.hgetall(keys.measure_session(kind))
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StateUnavailable(f"Redis state store unreachable: {exc}") from exc
    return {k: json.loads(v) for k, v in raw.items()} if raw else None


def end_session(state: StateStore, kind: str) -> dict[str, Any] | None:
    """The running session, now ended; None when none ran."""
    key = keys.measure_session(kind)
    try:
        pipe = state.client.pipeline()
        pipe.hgetall(key)
        pipe.delete(key)
        raw, _ = pipe.execute()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StateUnavailable(f"Redis state store unreachable: {exc}") from exc
    return {k: json.loads(v) for k, v in raw.items()} if raw else None


def report_or_session(
    rt: Any,
    kind: str,
    report_id: int | None,
    *,
    build: Callable[[Any, dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Report `report_id`; else the running session of `kind` so far (`build(rt, session)`);
    else the last saved report of that kind; else {}."""
    from jsorc.measure import reports

    if report_id is not None:
        return reports.fetch_report(rt.db, report_id, kind=kind)["data"]
    session = fetch_session(rt.state, kind)
    if session is not None:
        return build(rt, session)
    latest = reports.latest_report(rt.db, kind)
    return {} if latest is None else latest["data"]
