"""Measurement tasks: load-test runs as a chord of per-worker shards, tracksys sampling."""

from __future__ import annotations

from typing import Any

from celery import chord, group

from jsorc.measure import loadtest, tracksys
from jsorc.measure.queue import MeasureQueue
from jsorc.measure.sessions import fetch_session
from tasks.app import app, celery_dispatch, runtime


@app.task(name="jsorc.loadtest_run")
def loadtest_run(test_id: int) -> int:
    plans = loadtest.prepare(runtime(), test_id, dispatch=celery_dispatch())
    chord(group(loadtest_shard.s(plan) for plan in plans))(loadtest_finish.s(test_id))
    return len(plans)


@app.task(name="jsorc.loadtest_shard")
def loadtest_shard(plan: dict[str, Any]) -> dict[str, Any]:
    rt = runtime()

    def progress(done: int) -> None:
        loadtest.save_progress(rt, plan["id"], plan["shard"], done)

    return loadtest.run_shard(rt, plan, progress=progress)


@app.task(name="jsorc.loadtest_finish")
def loadtest_finish(results: list[dict[str, Any]], test_id: int) -> dict[str, Any]:
    return loadtest.finish(runtime(), test_id, results)["summary"]


@app.task(name="jsorc.tracksys_sample")
def tracksys_sample(session_id: str) -> bool:
    """One sample, then the next one backoff_interval later, while the session runs."""
    rt = runtime()
    rt.refresh_settings()
    session = fetch_session(rt.state, tracksys.KIND)
    if session is None or session["id"] != session_id:
        return False
    tracksys.tick(rt)
    tracksys_sample.apply_async((session_id,), countdown=rt.settings.backoff_interval)
    return True


def celery_queue() -> MeasureQueue:
    return MeasureQueue(
        run_loadtest=lambda test_id: loadtest_run.delay(test_id),
        sample_system=lambda session_id: tracksys_sample.delay(session_id),
    )
