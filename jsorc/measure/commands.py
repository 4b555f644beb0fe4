"""The measurement words of the `jsorc` command line: trackact, benchmark, tracksys,
loadtest (with a progress bar and a summary table) and reports.

Only argument parsing and printing; the work is the API's, reached through a Client.
Hazard: the progress loop is bounded by the test's duration plus PREPARE_TIMEOUT_S.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

COMMANDS = ("trackact", "benchmark", "tracksys", "loadtest", "reports")
# Seconds between progress polls, and the longest wait for placements and the merge.
POLL_S = 0.5
PREPARE_TIMEOUT_S = 300.0
BAR_WIDTH = 30
COLUMNS = ("count", "errors", "throughput_rps", "mean_ms", "p50_ms", "p90_ms", "p95_ms",
           "p99_ms")  # fmt: skip


def add_parsers(sub: Any) -> None:
    for subject, verbs in (("trackact", ("start", "stop", "report")),
                           ("benchmark", ("start", "stop", "report")),
                           ("tracksys", ("start", "stop", "report"))):  # fmt: skip
        parser = sub.add_parser(subject, help=f"{subject}: {', '.join(verbs)}")
        parser.add_argument("verb", choices=verbs)
        parser.add_argument("--id", type=int, help="with report: a stored report's id")
    load = sub.add_parser("loadtest", help="run a synthetic app under load and report it")
    load.add_argument("app", help="e.g. faq_assistant, flower_triage, document_digest")
    load.add_argument("--duration", type=float, default=10.0, help="seconds")
    shape = load.add_mutually_exclusive_group()
    shape.add_argument("--concurrency", type=int, help="closed loop: requests in flight")
    shape.add_argument("--rate", type=float, help="open loop: requests per second")
    load.add_argument("--policy", default="all_local",
                      help="all_local, all_remote, evaluation or adaptive")  # fmt: skip
    load.add_argument("--shards", type=int, default=1, help="Celery tasks sharing the load")
    load.add_argument("--html", type=Path, help="write the HTML report to this file")
    load.add_argument("--json", action="store_true", help="print the whole report as JSON")
    reports = sub.add_parser("reports", help="list stored measurement reports")
    reports.add_argument("verb", choices=("list",))
    reports.add_argument("--kind", help="trackact, benchmark, tracksys or loadtest")


def run(client: Any, args: argparse.Namespace, *, out: TextIO = sys.stdout) -> int:
    if args.command == "loadtest":
        return _loadtest(client, args, out=out)
    if args.command == "reports":
        body = {} if args.kind is None else {"kind": args.kind}
        _print(client.admin("jsorc_reports_list", **body)["reports"], out)
        return 0
    body = {"id": args.id} if args.verb == "report" and args.id is not None else {}
    reply = client.admin(f"jsorc_{args.command}_{args.verb}", **body)
    reply.pop("success", None)
    _print(reply.get("report", reply), out)
    return 0


def _loadtest(client: Any, args: argparse.Namespace, *, out: TextIO) -> int:
    body = {"app": args.app, "duration": args.duration, "policy": args.policy,
            "shards": args.shards}  # fmt: skip
    if args.rate is not None:
        body["rate"] = args.rate
    else:
        body["concurrency"] = args.concurrency or 1
    test_id = client.admin("jsorc_loadtest", **body)["id"]
    status = _follow(client, test_id, duration=args.duration)
    if status["status"] != "done":
        print(f"load test {test_id} {status['status']}: {status.get('error')}", file=out)
        return 1
    report = client.admin("jsorc_loadtest_report", id=test_id)["report"]
    if args.json:
        _print(report, out)
    else:
        print(summary_table(report), file=out)
    if args.html is not None:
        page = client.admin("jsorc_loadtest_report", id=test_id, format="html")["html"]
        args.html.write_text(page)
        print(f"HTML report: {args.html}", file=out)
    return 0


def _follow(client: Any, test_id: int, *, duration: float) -> dict[str, Any]:
    deadline = time.monotonic() + duration + PREPARE_TIMEOUT_S
    while True:
        status = client.admin("jsorc_loadtest_status", id=test_id)["loadtest"]
        sys.stderr.write("\r" + progress_bar(status))
        sys.stderr.flush()
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            sys.stderr.write("\n")
            return status
        time.sleep(POLL_S)


def progress_bar(status: dict[str, Any]) -> str:
    duration = status.get("duration") or 1
    done = min(1.0, (status.get("elapsed") or 0) / duration)
    filled = int(done * BAR_WIDTH)
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {status.get('elapsed') or 0:5.1f}/"
        f"{duration:g} s  {status.get('requests', 0)} requests  {status['status']}"
    )


def summary_table(report: dict[str, Any]) -> str:
    data = report["data"]
    request, summary = data["request"], data["summary"]
    head = " ".join(f"{c:>14}" for c in COLUMNS)
    row = " ".join(f"{_cell(summary.get(c)):>14}" for c in COLUMNS)
    placed = ", ".join(f"{a}={m}" for a, m in sorted(data.get("placements", {}).items()))
    return (
        f"load test {report['id']}: {request['app']} for {request['duration']:g} s, "
        f"policy {request['policy']} ({placed})\n{head}\n{row}\n"
        f"placement changes: {len(data.get('placement_changes') or [])}"
    )


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _print(value: Any, out: TextIO) -> None:
    print(json.dumps(value, indent=2), file=out)
