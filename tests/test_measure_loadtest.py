"""Load tests end to end: the real worker runs the shards, remote placements spawn real
action servers, and the HTML report is opened in headless Chromium to check its plots."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jsorc.measure.pages import render_loadtest
from jsorc.runtime import Runtime
from tests.conftest import ApiCaller, wait_until

# Seconds a load test may take beyond its duration (servers starting, shards, merge).
SLACK_S = 90
CHROMIUM_TIMEOUT_S = 60


def post(api: ApiCaller, endpoint: str, /, **body: Any) -> tuple[int, dict]:
    return api.post(f"/js_admin/{endpoint}", json_body=body)


def run_loadtest(api: ApiCaller, **request: Any) -> dict:
    code, reply = post(api, "jsorc_loadtest", **request)
    assert code == 200, reply
    test_id = reply["id"]

    def finished() -> dict | None:
        status = post(api, "jsorc_loadtest_status", id=test_id)[1]["loadtest"]
        return status if status["status"] in ("done", "failed") else None

    status = wait_until(finished, timeout=request["duration"] + SLACK_S, poll=0.25,
                        what="load test finished")  # fmt: skip
    assert status["status"] == "done", status
    return post(api, "jsorc_loadtest_report", id=test_id)[1]["report"]


def check_consistent(report: dict, *, shards: int) -> dict:
    data = report["data"]
    summary = data["summary"]
    assert summary["count"] > 0 and summary["errors"] == 0, data["shards"]
    assert sum(s["count"] for s in data["shards"]) == summary["count"]
    assert sum(p["count"] for p in data["timeline"]) == summary["count"]
    assert len(data["shards"]) == shards
    assert summary["throughput_rps"] == round(summary["count"] / data["request"]["duration"], 3)
    return data


def test_two_apps_under_two_policies_and_their_html_report(
    api: ApiCaller, rt: Runtime, tmp_path: Path
) -> None:
    local = run_loadtest(
        api, app="document_digest", duration=2, concurrency=2, shards=2, policy="all_local"
    )
    data = check_consistent(local, shards=2)
    assert data["placements"] == {"text_tools": "module"}

    remote = run_loadtest(
        api, app="flower_triage", duration=3, rate=20, shards=2, policy="all_remote"
    )
    data = check_consistent(remote, shards=2)
    # open loop: 20 req/s for 3 s over two shards is 2 x int(3 * 10) arrivals
    assert data["summary"]["count"] == 60
    assert data["placements"] == {"classifier": "remote", "text_tools": "remote"}
    moves = {(c["action"], c["mode"], c["status"]) for c in data["placement_changes"]}
    assert {("classifier", "remote", "READY"), ("text_tools", "remote", "READY")} <= moves
    assert set(rt.backend.names()) >= {"classifier", "text_tools"}

    listed = post(api, "jsorc_reports_list", kind="loadtest")[1]["reports"]
    assert [r["id"] for r in listed] == [remote["id"], local["id"]]

    page = post(api, "jsorc_loadtest_report", id=remote["id"], format="html")[1]["html"]
    assert page == render_loadtest(remote)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    check_in_chromium(page, tmp_path, changes=len(data["placement_changes"]))


def check_in_chromium(page: str, tmp_path: Path, *, changes: int) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    html_file = tmp_path / "report.html"
    html_file.write_text(page)
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
         html_file.as_uri()],
        capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=True,
    ).stdout  # fmt: skip
    # The page's own script counted the plots the browser laid out with a size.
    assert re.search(r'<body[^>]*data-plots-rendered="2"', dom), dom[:500]
    assert len(re.findall(r'<polyline class="series', dom)) == 4  # p50, p95, p99, mean
    assert len(re.findall(r'<rect class="bar"', dom)) >= 3
    assert len(re.findall(r'class="placement-change"', dom)) == 2 * changes
    report = json.loads(re.search(r'id="report">(.*?)</script>', dom, re.S).group(1))
    assert report["summary"]["count"] == 60
