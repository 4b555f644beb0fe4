"""tracksys against a real Prometheus (Debian's), started here on a free port and scraping
the real API's and a real Flower's /metrics; and with Prometheus down (empty, no crash)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_api_client import PrometheusConnect

from jsorc import admin
from jsorc.admin import Dispatch
from jsorc.measure import tracksys
from jsorc.redis_server import free_port
from jsorc.router import Router
from jsorc.runtime import Runtime
from tests.conftest import ApiCaller, wait_until

# Seconds: Prometheus scrapes this often here, and has this long to see both targets.
SCRAPE_INTERVAL_S = 1
TARGETS_UP_TIMEOUT_S = 40
STOP_GRACE_S = 10


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_GRACE_S)


@pytest.fixture
def flower(redis_url: str, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = (tmp_path / "flower.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks.app", "--broker", redis_url, "flower",
         f"--port={port}", "--address=127.0.0.1", f"--db={tmp_path / 'flower.db'}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    yield port
    stop(process)
    log.close()


@pytest.fixture
def prometheus(tmp_path: Path, api: ApiCaller, flower: int) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus)")
    api_target = api.base.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: jsorc-api\n    static_configs:\n      - targets: ['{api_target}']\n"
        f"  - job_name: flower\n    static_configs:\n      - targets: ['127.0.0.1:{flower}']\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    yield f"http://127.0.0.1:{port}"
    stop(process)
    log.close()


def use_prometheus_at(rt: Runtime, url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    rt.db.save_settings({"service.prometheus": {"host": host, "port": int(port)}})


def up_targets(url: str) -> dict[str, float]:
    try:
        answer = PrometheusConnect(url=url, disable_ssl=True).custom_query("up")
    except Exception:  # not listening yet
        return {}
    return {item["metric"]["job"]: float(item["value"][1]) for item in answer}


def test_samples_from_a_real_prometheus(
    prometheus: str, api: ApiCaller, rt: Runtime, inline_dispatch: Dispatch
) -> None:
    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", "remote", dispatch=inline_dispatch)  # a real action server
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules, listen=False) as router:
        for _ in range(5):
            router.call("text_tools.word_count", "through the server")
    wait_until(
        lambda: up_targets(prometheus) == {"jsorc-api": 1.0, "flower": 1.0},
        timeout=TARGETS_UP_TIMEOUT_S, poll=0.5, what="Prometheus scraping the API and Flower",
    )  # fmt: skip

    # Prometheus holds the API's own figures: the 5 calls we made, independently queried.
    calls = 'jsorc_action_calls_total{function="text_tools.word_count",mode="remote"}'
    wait_until(
        lambda: [float(i["value"][1]) for i in PrometheusConnect(url=prometheus).custom_query(
            calls)] == [5.0],
        timeout=TARGETS_UP_TIMEOUT_S, poll=0.5, what="the calls scraped",
    )  # fmt: skip

    use_prometheus_at(rt, prometheus)
    tracksys.start(rt)
    first = tracksys.tick(rt)
    second = tracksys.tick(rt)
    report = tracksys.stop(rt)

    promdata = second["prometheus"]
    assert promdata["up"] is True and promdata["url"] == prometheus
    api_target = "jsorc-api/" + api.base.removeprefix("http://")
    assert promdata["targets"][api_target]["up"] == 1.0
    assert promdata["targets"][api_target]["resident_memory_bytes"] > 0
    assert any(t.startswith("flower/") and f["up"] == 1.0 for t, f in promdata["targets"].items())
    # No node exporter here: node-level PromQL answers nothing, so the node part is empty.
    assert promdata["node"] == {}

    server = second["servers"]["text_tools"]
    assert server["pid"] == rt.backend.pid("text_tools")
    assert server["rss_mb"] > 1 and server["threads"] >= 1
    assert "cpu_percent" not in first["servers"]["text_tools"]
    assert server["cpu_percent"] >= 0  # measured against the previous sample
    assert [s["at"] for s in report["samples"]] == [first["at"], second["at"]]


def test_prometheus_down_gives_empty_samples(rt: Runtime, inline_dispatch: Dispatch) -> None:
    use_prometheus_at(rt, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert tracksys.report(rt) == {} and tracksys.stop(rt) == {}
    tracksys.start(rt)
    taken = tracksys.tick(rt)
    report = tracksys.stop(rt)
    assert taken["prometheus"]["up"] is False
    assert taken["prometheus"]["node"] == {} and taken["prometheus"]["targets"] == {}
    assert taken["servers"] == {}
    assert report["samples"] == [taken]
    assert tracksys.tick(rt) is None  # stopped: no more samples


def test_tracksys_over_the_api_samples_each_interval(api: ApiCaller, rt: Runtime) -> None:
    use_prometheus_at(rt, f"http://127.0.0.1:{free_port()}")
    code, started = api.post("/js_admin/jsorc_tracksys_start", json_body={})
    assert code == 200
    # The worker samples once at start, then every backoff_interval (2 s in tests).
    wait_until(
        lambda: len(tracksys.report(rt).get("samples", [])) >= 2, timeout=30, what="two samples"
    )
    code, stopped = api.post("/js_admin/jsorc_tracksys_stop", json_body={})
    assert code == 200 and stopped["report"]["session"] == started["id"]
    kept = api.post("/js_admin/jsorc_tracksys_report", json_body={"id": stopped["report"]["id"]})
    assert kept[1]["report"]["samples"] == stopped["report"]["samples"]
