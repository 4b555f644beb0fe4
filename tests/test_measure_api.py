"""Measurement over the served API: benchmark, trackact, GET /metrics, load-test refusals,
and the request timer's helpers (context manager, decorator, ASGI middleware)."""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from jsorc.measure.benchmark import BenchmarkMiddleware, RequestTimer
from jsorc.measure.histogram import RELATIVE_ERROR
from jsorc.redis_server import free_port
from jsorc.router import Router
from jsorc.runtime import Runtime
from tests.conftest import TEST_TOKEN, ApiCaller, wait_until

NS_PER_MS = 1_000_000


def post(api: ApiCaller, endpoint: str, /, **body: Any) -> tuple[int, dict]:
    return api.post(f"/js_admin/{endpoint}", json_body=body)


def test_an_empty_benchmark_reports_empty(api: ApiCaller) -> None:
    assert post(api, "jsorc_benchmark_report") == (200, {"success": True, "report": {}})
    assert post(api, "jsorc_benchmark_stop") == (200, {"success": True, "report": {}})
    assert post(api, "jsorc_benchmark_start")[0] == 200
    code, body = post(api, "jsorc_benchmark_stop")
    assert code == 200 and body["report"]["requests"] == {}


def test_benchmark_reports_each_request_type_and_name(api: ApiCaller, rt: Runtime) -> None:
    timer = RequestTimer(rt.state, background=False)
    timer.record("walker", "run", 99 * NS_PER_MS)  # before the benchmark: not counted
    timer.flush()
    assert post(api, "jsorc_benchmark_start")[0] == 200
    for ms in (10, 20, 30, 40):
        timer.record("walker", "run", ms * NS_PER_MS)
    timer.record("walker", "other", 50 * NS_PER_MS, failed=True)
    timer.flush()
    code, body = post(api, "jsorc_benchmark_stop")
    report = body["report"]
    walker, seconds = report["requests"]["walker"], report["seconds"]
    assert walker["run"]["count"] == 4 and walker["run"]["mean_ms"] == 25.0
    assert walker["all"]["count"] == 5 and walker["all"]["mean_ms"] == 30.0
    assert walker["all"]["errors"] == 1
    assert walker["all"]["throughput_rps"] == pytest.approx(5 / seconds, rel=1e-2)
    # nearest-rank p50 of 10..50 ms is 30 ms, p99 is 50 ms
    assert abs(walker["all"]["p50_ms"] - 30) <= 30 * RELATIVE_ERROR
    assert abs(walker["all"]["p99_ms"] - 50) <= 50 * RELATIVE_ERROR
    # kept in SQL, listed, and read back by id
    code, listed = post(api, "jsorc_reports_list", kind="benchmark")
    assert [r["id"] for r in listed["reports"]] == [report["id"]]
    code, again = post(api, "jsorc_benchmark_report", id=report["id"])
    assert again["report"]["requests"] == report["requests"]


def test_the_request_timer_helpers(rt: Runtime) -> None:
    timer = RequestTimer(rt.state, background=False)

    @timer.timed("job")
    def nightly() -> str:
        return "done"

    with timer.request("walker", "init"):
        pass
    with pytest.raises(ValueError), timer.request("walker", "init"):
        raise ValueError("the request fails")
    assert nightly() == "done"

    web = FastAPI()

    @web.get("/hello")
    def hello() -> dict:
        return {"hello": "world"}

    web.add_middleware(BenchmarkMiddleware, timer=timer, request_type="http")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what="app listening")
        caller = ApiCaller(f"http://127.0.0.1:{port}")
        assert caller.get("/hello")[0] == 200
        assert caller.get("/missing")[0] == 404
    finally:
        server.should_exit = True
        thread.join(10)
    timer.flush()
    from jsorc.measure.benchmark import request_store

    counts = {labels: (h.count, h.errors) for labels, h in request_store(rt.state).read().items()}
    assert counts == {
        ("walker", "init"): (2, 1),
        ("job", "test_the_request_timer_helpers.<locals>.nightly"): (1, 0),
        ("http", "GET /hello"): (1, 0),
        ("http", "GET /missing"): (1, 0),
    }


def test_trackact_over_the_api(api: ApiCaller, rt: Runtime) -> None:
    post(api, "jsorc_actions_config", name="text_tools", config="jsorc_examples.config")
    post(api, "jsorc_actions_load", name="text_tools", mode="module")
    assert post(api, "jsorc_trackact_stop")[0] == 400  # not running: says how to start
    assert post(api, "jsorc_trackact_start")[0] == 200
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules, listen=False) as router:
        for _ in range(4):
            router.call("text_tools.keywords", "a rose is a rose")
    code, body = post(api, "jsorc_trackact_stop")
    assert code == 200
    modes = body["report"]["actions"]["text_tools"]["modes"]
    assert list(modes) == ["module"] and modes["module"]["count"] == 4


def test_metrics_expose_calls_placements_ticks_and_services(api: ApiCaller, rt: Runtime) -> None:
    post(api, "jsorc_actions_config", name="text_tools", config="jsorc_examples.config")
    post(api, "jsorc_actions_load", name="text_tools", mode="module")
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules, listen=False) as router:
        for _ in range(3):
            router.call("text_tools.word_count", "one two")
    rt.state.count_tick("run", 2)
    rt.state.save_service_health("redis", {"state": "RUNNING", "restarts": 1})

    response = api.http.request("GET", api.base + "/metrics")  # open: no token
    assert response.status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.data.decode())
        for s in family.samples
    }
    labels = (("action", "text_tools"), ("function", "text_tools.word_count"), ("mode", "module"))
    assert samples[("jsorc_action_calls_total", labels)] == 3
    assert samples[("jsorc_action_call_latency_seconds_count", labels)] == 3
    inf = tuple(sorted((*labels, ("le", "+Inf"))))
    assert samples[("jsorc_action_call_latency_seconds_bucket", inf)] == 3
    placed = (("action", "text_tools"), ("mode", "module"), ("status", "READY"))
    assert samples[("jsorc_placement", placed)] == 1
    assert samples[("jsorc_regeneration_ticks_total", (("outcome", "run"),))] == 2
    assert samples[("jsorc_service_up", (("service", "redis"), ("state", "RUNNING")))] == 1
    assert samples[("jsorc_state_up", ())] == 1
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"app": "no_such_app"}, 400, "no app 'no_such_app'"),
        ({"app": "document_digest", "policy": "random"}, 400, "policy must be one of"),
        ({"app": "document_digest", "concurrency": 2, "rate": 5}, 400, "not both"),
        ({"app": "document_digest", "duration": -1}, 422, "duration"),
        ({"app": "document_digest", "shards": 4, "concurrency": 2}, 400, "concurrency of at"),
    ],
)
def test_loadtest_refuses_bad_requests(
    api: ApiCaller, rt: Runtime, body: dict, status: int, says: str
) -> None:
    code, reply = post(api, "jsorc_loadtest", **body)
    assert (code, reply["success"]) == (status, False) and says in reply["error"]
    assert post(api, "jsorc_reports_list", kind="loadtest")[1]["reports"] == []


def test_a_policy_without_its_module_is_not_available_yet(
    api: ApiCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jsorc.policies.engine", None)  # import fails
    code, reply = post(api, "jsorc_loadtest", app="document_digest", policy="adaptive")
    assert (code, reply["error"]) == (400, "policy adaptive is not available yet")


def test_the_cli_words_run_a_load_test_with_a_summary(
    api: ApiCaller, rt: Runtime, tmp_path: Path
) -> None:
    from jsorc.cli import build_parser
    from jsorc.client import Client
    from jsorc.measure import commands

    client = Client(api.base, token=TEST_TOKEN)
    out = io.StringIO()
    html = tmp_path / "report.html"
    args = build_parser().parse_args(
        ["loadtest", "document_digest", "--duration", "1", "--concurrency", "1",
         "--html", str(html)]
    )  # fmt: skip
    assert commands.run(client, args, out=out) == 0
    (report,) = client.reports("loadtest")
    count = client.loadtest_report(report["id"])["data"]["summary"]["count"]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"load test {report['id']}: document_digest for 1 s")
    assert lines[2].split()[:2] == [str(count), "0"]  # count, errors
    assert html.read_text() == client.loadtest_report(report["id"], html=True)

    out = io.StringIO()
    assert commands.run(client, build_parser().parse_args(["benchmark", "report"]), out=out) == 0
    assert json.loads(out.getvalue()) == {}
    assert client.measure("trackact", "start")["success"] is True
    assert client.measure("trackact", "stop")["actions"] == {}
