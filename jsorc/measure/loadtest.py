"""Load tests: run a synthetic app for a duration, closed-loop or open-loop, under a policy.

`create` checks the request and stores it; `prepare` applies the policy's placements and
waits until they are READY, then plans one shard per worker; `run_shard` drives the app
through a Router in this process; `finish` merges the shards' per-second histograms into
the stored report. Not here: Celery (the task layer chains these), rendering (`pages.py`).
Hazard: open-loop latency is measured from each request's scheduled time, so queueing
inside the shard counts (no coordinated omission); a shard has at most MAX_THREADS threads.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jsorc import admin, keys
from jsorc.admin import Dispatch
from jsorc.errors import BadRequest, JsorcError
from jsorc.measure import reports, trackact
from jsorc.measure.histogram import Histogram
from jsorc.placement import FAILED, MODULE, READY, REMOTE
from jsorc.router import Router
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

KIND = "loadtest"
POLICIES = ("all_local", "all_remote", "evaluation", "adaptive")
# Limits of a request: seconds, concurrent requests, requests per second, shards.
MAX_DURATION_S = 3600.0
MAX_CONCURRENCY = 256
MAX_RATE = 10_000.0
MAX_SHARDS = 32
# Threads a shard runs at most (open-loop workers too).
MAX_THREADS = 64
# Seconds between the plan and the common start, so every shard starts together.
START_DELAY_S = 1.0
# Seconds between progress writes of a shard.
PROGRESS_EVERY_S = 0.5
# Error messages kept per shard.
ERRORS_KEPT = 5

Progress = Callable[[int], None]


def apps() -> dict[str, Any]:
    from jsorc_examples.apps import APPS

    return APPS


def check_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request with defaults filled in; BadRequest saying what to fix."""
    app, policy = request.get("app"), request.get("policy", "all_local")
    if app not in apps():
        raise BadRequest(f"no app {app!r}; known: {', '.join(sorted(apps()))}")
    if policy not in POLICIES:
        raise BadRequest(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    duration = float(request.get("duration", 10.0))
    concurrency, rate = request.get("concurrency"), request.get("rate")
    if concurrency is not None and rate is not None:
        raise BadRequest("give a concurrency (closed loop) or a rate (open loop), not both")
    if not 0 < duration <= MAX_DURATION_S:
        raise BadRequest(f"duration must be in (0, {MAX_DURATION_S:g}] seconds")
    if rate is not None and not 0 < float(rate) <= MAX_RATE:
        raise BadRequest(f"rate must be in (0, {MAX_RATE:g}] requests per second")
    concurrency = None if rate is not None else int(concurrency or 1)
    if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
        raise BadRequest(f"concurrency must be 1 to {MAX_CONCURRENCY}")
    shards = int(request.get("shards", 1))
    if not 1 <= shards <= MAX_SHARDS:
        raise BadRequest(f"shards must be 1 to {MAX_SHARDS}")
    if concurrency is not None and shards > concurrency:
        raise BadRequest(f"{shards} shards need a concurrency of at least {shards}")
    return {"app": app, "policy": policy, "duration": duration, "concurrency": concurrency,
            "rate": None if rate is None else float(rate), "shards": shards}  # fmt: skip


def policy_engine(policy: str) -> Any:
    """The module that installs `evaluation` / `adaptive`; BadRequest while it is missing."""
    try:
        engine = importlib.import_module("jsorc.policies.engine")
    except ImportError:
        engine = None
    if engine is None or not hasattr(engine, "set_policy"):
        raise BadRequest(f"policy {policy} is not available yet")
    return engine


def create(rt: Runtime, request: dict[str, Any]) -> int:
    """Check and store a load test; its id (the task layer then runs `prepare`)."""
    checked = check_request(request)
    if checked["policy"] in ("evaluation", "adaptive"):
        policy_engine(checked["policy"])
    return reports.save_report(
        rt.db, KIND, {"request": checked}, name=checked["app"], status="queued",
        started=time.time(),
    )  # fmt: skip


def prepare(
    rt: Runtime, test_id: int, *, dispatch: Dispatch, ready_timeout: float | None = None
) -> list[dict[str, Any]]:
    """Apply the policy's placements, wait for READY; the shard plans."""
    request = reports.fetch_report(rt.db, test_id, kind=KIND)["data"]["request"]
    app = apps()[request["app"]]
    try:
        _apply_policy(rt, request["policy"], app.actions, dispatch=dispatch)
        _wait_ready(rt, app.actions, timeout=ready_timeout or rt.settings.server_start_timeout)
    except JsorcError as exc:
        fail(rt, test_id, f"could not prepare: {exc}")
        raise
    start_at = time.time() + START_DELAY_S
    shards = request["shards"]
    plans = []
    for shard in range(shards):
        plan = {"id": test_id, "shard": shard, "app": request["app"], "start_at": start_at,
                "duration": request["duration"]}  # fmt: skip
        if request["rate"] is not None:
            plan["rate"] = request["rate"] / shards
        else:
            base, extra = divmod(request["concurrency"], shards)
            plan["concurrency"] = base + (1 if shard < extra else 0)
        plans.append(plan)
    reports.update_report(
        rt.db, test_id, status="running",
        data={"request": request, "start_at": start_at, "plans": plans},
    )  # fmt: skip
    return plans


def fail(rt: Runtime, test_id: int, error: str) -> None:
    data = reports.fetch_report(rt.db, test_id, kind=KIND)["data"]
    reports.update_report(
        rt.db, test_id, data={**data, "error": error}, status="failed", stopped=time.time()
    )


def _apply_policy(rt: Runtime, policy: str, actions: list[str], *, dispatch: Dispatch) -> None:
    from jsorc.actions.configs import resolve_config

    for action in actions:
        if rt.state.fetch_config(action) is None:
            admin.configure(rt, action, "jsorc_examples.config")
        resolve_config(action, rt.state.fetch_config(action), allowed=rt.settings.allowed_modules)
    if policy in ("evaluation", "adaptive"):
        for action in actions:
            if rt.state.fetch_placement(action) is None:
                admin.load(rt, action, MODULE, dispatch=dispatch)
        policy_engine(policy).set_policy(rt, policy)
        return
    mode = MODULE if policy == "all_local" else REMOTE
    for action in actions:
        admin.load(rt, action, mode, dispatch=dispatch)


def _wait_ready(rt: Runtime, actions: list[str], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        placements = {name: rt.state.fetch_placement(name) for name in actions}
        failed = [n for n, p in placements.items() if p is not None and p.status == FAILED]
        if failed:
            raise BadRequest(f"action(s) {failed} failed to start")
        if all(p is not None and p.status == READY for p in placements.values()):
            return
        if time.monotonic() > deadline:
            raise BadRequest(f"actions not READY within {timeout:g}s: {placements}")
        time.sleep(0.1)


def run_shard(rt: Runtime, plan: dict[str, Any], *, progress: Progress | None = None) -> dict:
    """Drive the app from this process for the planned window; per-second histograms."""
    app = apps()[plan["app"]]
    result = _ShardResult()
    start_at, end_at = plan["start_at"], plan["start_at"] + plan["duration"]
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules) as router:

        def one_request(scheduled: float) -> None:
            try:
                for step in app.steps:
                    router.call(step.function, *step.args, **step.kwargs)
                error = None
            except Exception as exc:  # the app's failure is a data point, not a crash
                error = f"{type(exc).__name__}: {exc}"
            result.add(scheduled - start_at, time.time() - scheduled, error)

        _sleep_until(start_at)
        if "rate" in plan:
            _open_loop(one_request, rate=plan["rate"], start_at=start_at, end_at=end_at,
                       result=result, progress=progress)  # fmt: skip
        else:
            _closed_loop(one_request, concurrency=plan["concurrency"], end_at=end_at,
                         result=result, progress=progress)  # fmt: skip
    return {"shard": plan["shard"], **result.to_json()}


def _closed_loop(
    one: Callable[[float], None], *, concurrency: int, end_at: float,
    result: _ShardResult, progress: Progress | None,
) -> None:  # fmt: skip
    def user() -> None:
        while time.time() < end_at:
            one(time.time())

    users = min(concurrency, MAX_THREADS)
    threads = [threading.Thread(target=user, daemon=True) for _ in range(users)]
    for thread in threads:
        thread.start()
    _report_progress(threads, result, progress, end_at=end_at)


def _open_loop(
    one: Callable[[float], None], *, rate: float, start_at: float, end_at: float,
    result: _ShardResult, progress: Progress | None,
) -> None:  # fmt: skip
    with ThreadPoolExecutor(max_workers=MAX_THREADS) as pool:
        scheduler = threading.Thread(
            target=_schedule, args=(pool, one, rate, start_at, end_at), daemon=True
        )
        scheduler.start()
        _report_progress([scheduler], result, progress, end_at=end_at)


def _schedule(
    pool: ThreadPoolExecutor, one: Callable[[float], None], rate: float, start_at: float,
    end_at: float,
) -> None:  # fmt: skip
    arrivals = int((end_at - start_at) * rate)
    for i in range(arrivals):
        scheduled = start_at + i / rate
        _sleep_until(scheduled)
        pool.submit(one, scheduled)


def _report_progress(
    threads: list[threading.Thread], result: _ShardResult, progress: Progress | None, *,
    end_at: float,
) -> None:  # fmt: skip
    # Bounded: every thread stops by itself at end_at; a stuck call is waited for at
    # most the router's call timeout beyond it.
    for thread in threads:
        while thread.is_alive():
            thread.join(PROGRESS_EVERY_S)
            if progress is not None:
                progress(result.count)
    if progress is not None:
        progress(result.count)


def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)


class _ShardResult:
    """Per-second histograms of request latency, and a few error messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[int, Histogram] = {}
        self.errors: list[str] = []
        self.count = 0

    def add(self, offset_s: float, latency_s: float, error: str | None) -> None:
        with self._lock:
            bucket = self.seconds.setdefault(max(0, int(offset_s)), Histogram())
            bucket.add(int(latency_s * 1e9), error=error is not None)
            self.count += 1
            if error is not None and len(self.errors) < ERRORS_KEPT:
                self.errors.append(error)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "count": self.count,
                "errors": self.errors,
                "seconds": {str(s): h.to_json() for s, h in sorted(self.seconds.items())},
            }


def save_progress(rt: Runtime, test_id: int, shard: int, done: int) -> None:
    key = keys.loadtest_progress(test_id)
    pipe = rt.state.client.pipeline()
    pipe.hset(key, str(shard), done)
    pipe.expire(key, int(MAX_DURATION_S * 2))
    pipe.execute()


def status(rt: Runtime, test_id: int) -> dict[str, Any]:
    """The stored report's status, with live progress while it runs."""
    stored = reports.fetch_report(rt.db, test_id, kind=KIND)
    done = rt.state.client.hgetall(keys.loadtest_progress(test_id))
    request = stored["data"].get("request", {})
    start_at = stored["data"].get("start_at")
    elapsed = 0.0 if start_at is None else max(0.0, time.time() - start_at)
    return {
        "id": test_id,
        "status": stored["status"],
        "app": request.get("app"),
        "duration": request.get("duration"),
        "elapsed": round(min(elapsed, request.get("duration") or elapsed), 2),
        "requests": sum(int(n) for n in done.values()),
        "error": stored["data"].get("error"),
        "summary": stored["data"].get("summary"),
    }


def finish(rt: Runtime, test_id: int, shard_results: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the shards into the stored report; the report's data."""
    stored = reports.fetch_report(rt.db, test_id, kind=KIND)
    data = stored["data"]
    request, start_at = data["request"], data["start_at"]
    end_at = start_at + request["duration"]
    total, seconds = Histogram(), {}
    for shard in shard_results:
        for second, raw in shard["seconds"].items():
            hist = Histogram.from_json(raw)
            seconds.setdefault(int(second), Histogram()).merge(hist)
            total.merge(hist)
    timeline = [
        {"t": second, **hist.summary(), "throughput_rps": hist.count}
        for second, hist in sorted(seconds.items())
    ]
    summary = {**total.summary(), "throughput_rps": round(total.count / request["duration"], 3)}
    data.update(
        summary=summary,
        timeline=timeline,
        shards=[{"shard": s["shard"], "count": s["count"], "errors": s["errors"]}
                for s in shard_results],
        # from the request on, so the policy's own moves while preparing (t < 0) show
        placement_changes=trackact.placement_changes(
            rt, started=stored["started"], stopped=time.time()
        ),
        placements={
            name: p.mode for name, p in rt.state.fetch_placements().items()
            if name in apps()[request["app"]].actions
        },
        end_at=end_at,
    )  # fmt: skip
    reports.update_report(rt.db, test_id, data=data, status="done", stopped=time.time())
    rt.state.client.delete(keys.loadtest_progress(test_id))
    logger.info("Load test %d done: %d requests.", test_id, total.count)
    return data
