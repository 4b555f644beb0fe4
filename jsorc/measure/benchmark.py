"""benchmark: request-level latency and throughput, per request type and name.

Applications time their own requests (a walker run, an API call) with `RequestTimer`
(context manager or decorator) or `BenchmarkMiddleware` (ASGI); samples are always
recorded, and `start`/`stop` measure the window between two snapshots, as trackact does.
A report gives per type and name: count, errors, throughput (req/s), mean and p50-p99 (ms),
plus the pooled "all" per type. An empty window reports {} for requests, not an error.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from jsorc.measure import reports
from jsorc.measure.histogram import Histogram
from jsorc.measure.recorder import FLUSH_INTERVAL_S, Recorder
from jsorc.measure.sessions import end_session, report_or_session, start_session
from jsorc.measure.store import LatencyStore, Series, series_from_json, series_to_json, window
from jsorc.runtime import Runtime
from jsorc.state import StateStore

logger = logging.getLogger(__name__)

KIND = "benchmark"
SERIES_KIND = "request"
POOLED = "all"
# HTTP statuses from this one up count as failed requests.
FAILED_STATUS = 500

F = TypeVar("F", bound=Callable[..., Any])


class RequestTimer:
    """Times an application's requests into the shared request statistics."""

    def __init__(
        self, state: StateStore, *, interval: float = FLUSH_INTERVAL_S, background: bool = True
    ) -> None:
        store = LatencyStore(state.client, SERIES_KIND)
        self.recorder = Recorder(store.add, interval=interval, background=background)

    @contextmanager
    def request(self, request_type: str, name: str) -> Iterator[None]:
        failed = True
        started = time.perf_counter_ns()
        try:
            yield
            failed = False
        finally:
            self.record(request_type, name, time.perf_counter_ns() - started, failed=failed)

    def timed(self, request_type: str, name: str | None = None) -> Callable[[F], F]:
        """Decorator: each call of the function is one request (named after it by default)."""

        def decorate(func: F) -> F:
            label = name or func.__qualname__

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self.request(request_type, label):
                    return func(*args, **kwargs)

            return wrapper  # type: ignore[return-value]

        return decorate

    def record(self, request_type: str, name: str, ns: int, *, failed: bool = False) -> None:
        self.recorder.record((request_type, name), ns, failed)

    def flush(self) -> int:
        return self.recorder.flush()

    def close(self) -> None:
        self.recorder.close()


class BenchmarkMiddleware:
    """ASGI middleware recording every HTTP request as (request_type, "METHOD /path")."""

    def __init__(self, app: Any, *, timer: RequestTimer, request_type: str = "api") -> None:
        self.app = app
        self.timer = timer
        self.request_type = request_type

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": FAILED_STATUS}

        async def watched_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter_ns()
        try:
            await self.app(scope, receive, watched_send)
        finally:
            name = f"{scope.get('method', '')} {scope.get('path', '')}"
            failed = status["code"] >= FAILED_STATUS
            self.timer.record(
                self.request_type, name, time.perf_counter_ns() - started, failed=failed
            )


def request_store(state: StateStore) -> LatencyStore:
    return LatencyStore(state.client, SERIES_KIND)


def start(rt: Runtime) -> dict[str, Any]:
    snapshot = series_to_json(request_store(rt.state).read())
    session = start_session(rt.state, KIND, snapshot)
    logger.info("Benchmark started (%s).", session["id"])
    return {"id": session["id"], "started": session["started"]}


def stop(rt: Runtime) -> dict[str, Any]:
    """The report of the benchmark, kept in SQL; an empty one when none was running."""
    session = end_session(rt.state, KIND)
    if session is None:
        return {}
    stopped = time.time()
    report = build_report(rt, session, stopped=stopped)
    report["id"] = reports.save_report(
        rt.db, KIND, report, started=session["started"], stopped=stopped
    )
    logger.info("Benchmark stopped (%s); report %d.", session["id"], report["id"])
    return report


def report(rt: Runtime, report_id: int | None = None) -> dict[str, Any]:
    """Report `report_id`; else the running benchmark so far; else the last one; else {}."""

    def so_far(rt: Runtime, session: dict[str, Any]) -> dict[str, Any]:
        return build_report(rt, session, stopped=time.time())

    return report_or_session(rt, KIND, report_id, build=so_far)


def build_report(rt: Runtime, session: dict[str, Any], *, stopped: float) -> dict[str, Any]:
    since = series_from_json(session.get("snapshot") or [])
    seconds = max(stopped - session["started"], 1e-9)
    requests = summarise(window(request_store(rt.state).read(), since), seconds=seconds)
    return {
        "kind": KIND,
        "started": session["started"],
        "stopped": stopped,
        "seconds": round(seconds, 6),
        "requests": requests,
    }


def summarise(series: Series, *, seconds: float) -> dict[str, dict[str, Any]]:
    """type -> name -> figures, with the pooled figures of each type under "all"."""
    by_type: dict[str, dict[str, Histogram]] = {}
    for labels, hist in series.items():
        if len(labels) == 2:
            by_type.setdefault(labels[0], {})[labels[1]] = hist
    out: dict[str, dict[str, Any]] = {}
    for request_type, names in sorted(by_type.items()):
        pooled = Histogram()
        for hist in names.values():
            pooled.merge(hist)
        rows = {name: figures(hist, seconds) for name, hist in sorted(names.items())}
        rows[POOLED] = figures(pooled, seconds)
        out[request_type] = rows
    return out


def figures(hist: Histogram, seconds: float) -> dict[str, Any]:
    return {**hist.summary(), "throughput_rps": round(hist.count / seconds, 3)}
