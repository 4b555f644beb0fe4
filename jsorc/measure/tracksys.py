"""tracksys: each tick, CPU, memory and network per action server and per node.

Prometheus (URL from the kept-alive "prometheus" service's config) gives node figures
(node-level PromQL where an exporter feeds it), every scraped target's process figures,
and on Kubernetes per-pod cAdvisor figures. A local Prometheus cannot see processes, so
on the local backend each action server's process is read with psutil (pid from its
record). Prometheus down or silent gives empty figures with `up: false`; never an error.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import psutil
import requests
import urllib3
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from jsorc.backends.processes import DetachedProcesses
from jsorc.measure import reports
from jsorc.measure.sessions import end_session, fetch_session, report_or_session, start_session
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

KIND = "tracksys"
# Seconds one Prometheus query may take.
QUERY_TIMEOUT_S = 3
# The range PromQL rates are taken over.
RATE_WINDOW = "1m"
MB = 1024 * 1024

NODE_QUERIES = {
    "cpu_percent": '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[%s])))',
    "memory_used_bytes": "sum(node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes)",
    "memory_total_bytes": "sum(node_memory_MemTotal_bytes)",
    "net_receive_bytes_per_s": ('sum(rate(node_network_receive_bytes_total{device!="lo"}[%s]))'),
    "net_transmit_bytes_per_s": ('sum(rate(node_network_transmit_bytes_total{device!="lo"}[%s]))'),
}
TARGET_QUERIES = {
    "up": "up",
    "cpu_seconds_per_s": "rate(process_cpu_seconds_total[%s])",
    "resident_memory_bytes": "process_resident_memory_bytes",
}
POD_QUERIES = {
    "cpu_seconds_per_s": (
        'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="%s",container!=""}[%s]))'
    ),
    "memory_working_set_bytes": (
        'sum by (pod) (container_memory_working_set_bytes{namespace="%s",container!=""})'
    ),
    "net_receive_bytes_per_s": (
        'sum by (pod) (rate(container_network_receive_bytes_total{namespace="%s"}[%s]))'
    ),
    "net_transmit_bytes_per_s": (
        'sum by (pod) (rate(container_network_transmit_bytes_total{namespace="%s"}[%s]))'
    ),
}


class PrometheusReader:
    """Instant PromQL queries; every failure becomes an empty answer plus a noted error."""

    def __init__(self, url: str, *, timeout: float = QUERY_TIMEOUT_S) -> None:
        self.url = url
        self.errors: list[str] = []
        self._client = PrometheusConnect(
            url=url, disable_ssl=True, timeout=timeout, retry=urllib3.util.Retry(total=0)
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        try:
            answer = self._client.custom_query(promql)
        except (PrometheusApiClientException, requests.RequestException, ValueError) as exc:
            self.errors.append(f"{promql}: {exc}")
            return []
        return answer if isinstance(answer, list) else []


def prometheus_url(rt: Runtime) -> str:
    from jsorc.keepalive.watch import service_config

    config = service_config(rt, "prometheus")
    return f"http://{config['host']}:{int(config['port'])}"


def sample(rt: Runtime, *, url: str, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """One sample now; `previous` (the session's last sample) gives CPU rates per server."""
    reader = PrometheusReader(url)
    at = time.time()
    prometheus: dict[str, Any] = {"url": url, "node": node_figures(reader)}
    prometheus["targets"] = target_figures(reader)
    if rt.settings.backend == "kubernetes":
        prometheus["pods"] = pod_figures(reader, rt.settings.namespace)
    # Up when it answered at least one query (an empty answer is an answer).
    prometheus["up"] = len(reader.errors) < len(NODE_QUERIES) + len(TARGET_QUERIES)
    prometheus["errors"] = reader.errors[:3]
    servers = local_servers(rt, at=at, previous=(previous or {}).get("servers") or {})
    return {"at": at, "backend": rt.settings.backend, "prometheus": prometheus, "servers": servers}


def node_figures(reader: PrometheusReader) -> dict[str, float | None]:
    out = {}
    for name, promql in NODE_QUERIES.items():
        answer = reader.query(promql % RATE_WINDOW if "%s" in promql else promql)
        if answer:
            out[name] = _value(answer[0])
    return out


def target_figures(reader: PrometheusReader) -> dict[str, dict[str, float | None]]:
    """job/instance -> up, cpu_seconds_per_s, resident_memory_bytes (what it answers)."""
    out: dict[str, dict[str, float | None]] = {}
    for name, promql in TARGET_QUERIES.items():
        for item in reader.query(promql % RATE_WINDOW if "%s" in promql else promql):
            metric = item.get("metric", {})
            target = f"{metric.get('job', '?')}/{metric.get('instance', '?')}"
            out.setdefault(target, {})[name] = _value(item)
    return out


def pod_figures(reader: PrometheusReader, namespace: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for name, promql in POD_QUERIES.items():
        filled = promql % ((namespace, RATE_WINDOW) if promql.count("%s") == 2 else namespace)
        for item in reader.query(filled):
            pod = item.get("metric", {}).get("pod", "?")
            out.setdefault(pod, {})[name] = _value(item)
    return out


def local_servers(rt: Runtime, *, at: float, previous: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Action server -> pid, cpu_seconds, cpu_percent (since `previous`), rss_mb,
    threads, connections; empty on other backends."""
    if rt.settings.backend != "local":
        return {}
    processes = DetachedProcesses(
        state=rt.state, kind="action", run_dir=rt.settings.home / "servers"
    )
    out = {}
    for name in processes.names():
        process = processes.process(name)
        if process is None:
            continue
        try:
            with process.oneshot():
                times = process.cpu_times()
                figures = {
                    "pid": process.pid,
                    "cpu_seconds": round(times.user + times.system, 3),
                    "rss_mb": round(process.memory_info().rss / MB, 2),
                    "threads": process.num_threads(),
                    "connections": len(process.net_connections(kind="inet")),
                }
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        before = previous.get(name) or {}
        if before.get("pid") == process.pid and at > before.get("at", at):
            spent = figures["cpu_seconds"] - before["cpu_seconds"]
            figures["cpu_percent"] = round(100 * max(0.0, spent) / (at - before["at"]), 2)
        figures["at"] = at
        out[name] = figures
    return out


def start(rt: Runtime) -> dict[str, Any]:
    session = start_session(rt.state, KIND)
    logger.info("System tracking started (%s).", session["id"])
    return {"id": session["id"], "started": session["started"]}


def tick(rt: Runtime) -> dict[str, Any] | None:
    """Take and keep one sample if tracking runs; None when it does not."""
    session = fetch_session(rt.state, KIND)
    if session is None:
        return None
    previous = reports.system_samples(rt.db, session["id"])[-1:]
    taken = sample(rt, url=prometheus_url(rt), previous=previous[0] if previous else None)
    reports.add_system_sample(rt.db, session["id"], taken, at=taken["at"])
    return taken


def stop(rt: Runtime) -> dict[str, Any]:
    """The session's samples as a report kept in SQL; {} when none was running."""
    session = end_session(rt.state, KIND)
    if session is None:
        return {}
    stopped = time.time()
    data = build_report(rt, session, stopped=stopped)
    data["id"] = reports.save_report(rt.db, KIND, data, started=session["started"], stopped=stopped)
    return data


def report(rt: Runtime, report_id: int | None = None) -> dict[str, Any]:
    """Report `report_id`; else the running session so far; else the last one; else {}."""

    def so_far(rt: Runtime, session: dict[str, Any]) -> dict[str, Any]:
        return build_report(rt, session, stopped=time.time())

    return report_or_session(rt, KIND, report_id, build=so_far)


def build_report(rt: Runtime, session: dict[str, Any], *, stopped: float) -> dict[str, Any]:
    samples = reports.system_samples(rt.db, session["id"])
    return {
        "kind": KIND,
        "session": session["id"],
        "started": session["started"],
        "stopped": stopped,
        "samples": samples,
    }


def _value(item: dict[str, Any]) -> float | None:
    """The sample's value; None for a missing or non-finite one (JSON has no NaN)."""
    try:
        value = float(item["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
