"""Admin endpoints for measurement: trackact, benchmark, tracksys, loadtest and reports;
and `GET /metrics` (Prometheus text, open like /health).

Work that takes time (load tests, tracksys samples) goes to the task layer through a
MeasureQueue; everything else answers from Redis and SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field

from jsorc.api.models import Body
from jsorc.measure import benchmark, loadtest, reports, trackact, tracksys
from jsorc.measure.metrics import CONTENT_TYPE, exposition, metrics_registry
from jsorc.measure.pages import render_loadtest
from jsorc.measure.queue import MeasureQueue
from jsorc.runtime import Runtime


class ReportBody(Body):
    id: int | None = Field(default=None, ge=1)


class LoadtestBody(Body):
    app: str = Field(min_length=1, max_length=100)
    duration: float = Field(default=10.0, gt=0, le=loadtest.MAX_DURATION_S)
    concurrency: int | None = Field(default=None, ge=1, le=loadtest.MAX_CONCURRENCY)
    rate: float | None = Field(default=None, gt=0, le=loadtest.MAX_RATE)
    policy: str = "all_local"
    shards: int = Field(default=1, ge=1, le=loadtest.MAX_SHARDS)


class LoadtestIdBody(Body):
    id: int = Field(ge=1)
    format: Literal["json", "html"] = "json"


class ListBody(Body):
    kind: str | None = None


def celery_queue() -> MeasureQueue:
    # NOTE: the API process runs beside the task package (`jsorc api`, `jsorc up`, tests);
    # it is imported here, when first needed, as the CLI imports celery_dispatch.
    from tasks.measure import celery_queue as queue

    return queue()


def measure_routes(rt: Runtime, queue: Callable[[], MeasureQueue] = celery_queue) -> APIRouter:
    routes = APIRouter(prefix="/js_admin", tags=["measurement"])

    @routes.post("/jsorc_trackact_start")
    def trackact_start() -> dict[str, Any]:
        return {"success": True, "message": "call tracking started", **trackact.start(rt)}

    @routes.post("/jsorc_trackact_stop")
    def trackact_stop() -> dict[str, Any]:
        return {"success": True, "report": trackact.stop(rt)}

    @routes.post("/jsorc_trackact_report")
    def trackact_report() -> dict[str, Any]:
        current = trackact.current(rt)
        if current is None:
            latest = reports.latest_report(rt.db, trackact.KIND)
            current = {} if latest is None else latest["data"]
        return {"success": True, "report": current}

    @routes.post("/jsorc_benchmark_start")
    def benchmark_start() -> dict[str, Any]:
        return {"success": True, "message": "benchmark started", **benchmark.start(rt)}

    @routes.post("/jsorc_benchmark_stop")
    def benchmark_stop() -> dict[str, Any]:
        return {"success": True, "report": benchmark.stop(rt)}

    @routes.post("/jsorc_benchmark_report")
    def benchmark_report(body: ReportBody | None = None) -> dict[str, Any]:
        return {"success": True, "report": benchmark.report(rt, body.id if body else None)}

    @routes.post("/jsorc_tracksys_start")
    def tracksys_start() -> dict[str, Any]:
        session = tracksys.start(rt)
        queue().sample_system(session["id"])
        return {"success": True, "message": "system tracking started", **session}

    @routes.post("/jsorc_tracksys_stop")
    def tracksys_stop() -> dict[str, Any]:
        return {"success": True, "report": tracksys.stop(rt)}

    @routes.post("/jsorc_tracksys_report")
    def tracksys_report(body: ReportBody | None = None) -> dict[str, Any]:
        return {"success": True, "report": tracksys.report(rt, body.id if body else None)}

    @routes.post("/jsorc_loadtest")
    def loadtest_start(body: LoadtestBody) -> dict[str, Any]:
        test_id = loadtest.create(rt, body.model_dump())
        queue().run_loadtest(test_id)
        return {"success": True, "message": f"load test {test_id} queued", "id": test_id}

    @routes.post("/jsorc_loadtest_status")
    def loadtest_status(body: LoadtestIdBody) -> dict[str, Any]:
        return {"success": True, "loadtest": loadtest.status(rt, body.id)}

    @routes.post("/jsorc_loadtest_report")
    def loadtest_report(body: LoadtestIdBody) -> dict[str, Any]:
        report = reports.fetch_report(rt.db, body.id, kind=loadtest.KIND)
        if body.format == "html":
            return {"success": True, "html": render_loadtest(report)}
        return {"success": True, "report": report}

    @routes.post("/jsorc_reports_list")
    def reports_list(body: ListBody | None = None) -> dict[str, Any]:
        return {
            "success": True,
            "reports": reports.list_reports(rt.db, body.kind if body else None),
        }

    return routes


def metrics_routes(rt: Runtime) -> APIRouter:
    routes = APIRouter(tags=["measurement"])
    registry = metrics_registry(rt)

    @routes.get("/metrics")
    def metrics() -> Response:
        return Response(exposition(registry), media_type=CONTENT_TYPE)

    return routes
