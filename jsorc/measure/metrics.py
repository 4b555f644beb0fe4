"""JSORC's own Prometheus metrics, read from the shared state at each scrape.

Action calls and latency (the routers' call statistics in Redis), placements,
regeneration ticks by outcome, and kept-alive services' health; plus this process's
own process_* figures. Nothing is counted here: every figure is read when scraped, so
any API replica serves the same totals. Hazard: Redis away gives `jsorc_state_up 0` only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from jsorc import keys
from jsorc.errors import StateUnavailable
from jsorc.measure.callstats import snapshot_call_stats
from jsorc.measure.histogram import GROWTH, MIN_US, Histogram, upper_edge_us
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

# Seconds: the nominal latency bucket bounds exposed; each is moved to the nearest edge
# of the statistics' own log-scale buckets, so the cumulative counts are exact.
NOMINAL_BOUNDS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # fmt: skip
US_PER_S = 1e6
CONTENT_TYPE = CONTENT_TYPE_LATEST


def bucket_bounds() -> list[tuple[int, float]]:
    """(histogram bucket index, its upper edge in seconds) for each exposed bound."""
    out = []
    for bound in NOMINAL_BOUNDS_S:
        index = max(0, round(math.log(bound * US_PER_S / MIN_US) / math.log(GROWTH)))
        out.append((index, upper_edge_us(index) / US_PER_S))
    return out


class JsorcCollector:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.bounds = bucket_bounds()

    def describe(self) -> list[Metric]:
        return []  # collected afresh at each scrape

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("jsorc_state_up", "1 when the Redis state store answers")
        try:
            families = [*self._calls(), self._placements(), *self._ticks(), *self._services()]
        except StateUnavailable as exc:
            logger.warning("Metrics without state: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _calls(self) -> list[Metric]:
        labels = ["action", "function", "mode"]
        calls = CounterMetricFamily(
            "jsorc_action_calls", "Action calls through routers", labels=labels
        )
        errors = CounterMetricFamily(
            "jsorc_action_call_errors", "Action calls that raised", labels=labels
        )
        latency = HistogramMetricFamily(
            "jsorc_action_call_latency_seconds", "Action call latency in routers", labels=labels
        )
        for series, hist in sorted(snapshot_call_stats(self.rt.state).items()):
            if len(series) != 3:
                continue
            calls.add_metric(list(series), hist.count)
            errors.add_metric(list(series), hist.errors)
            latency.add_metric(list(series), self._buckets(hist), sum_value=hist.sum_ns / 1e9)
        return [calls, errors, latency]

    def _buckets(self, hist: Histogram) -> list[tuple[str, float]]:
        ordered = sorted(hist.buckets.items())
        out = [
            (repr(edge), float(sum(n for i, n in ordered if i <= index)))
            for index, edge in self.bounds
        ]
        out.append(("+Inf", float(hist.count)))
        return out

    def _placements(self) -> Metric:
        family = GaugeMetricFamily(
            "jsorc_placement", "1 per placed action", labels=["action", "mode", "status"]
        )
        for name, placement in sorted(self.rt.state.fetch_placements().items()):
            family.add_metric([name, placement.mode, placement.status], 1)
        return family

    def _ticks(self) -> list[Metric]:
        ticks = CounterMetricFamily(
            "jsorc_regeneration_ticks", "Regeneration ticks by outcome", labels=["outcome"]
        )
        last = GaugeMetricFamily(
            "jsorc_regeneration_last_timestamp_seconds",
            "When a tick last had this outcome",
            labels=["outcome"],
        )
        for key, value in sorted(self.rt.state.tick_counts().items()):
            if key.startswith("last_"):
                last.add_metric([key[len("last_") :]], value)
            else:
                ticks.add_metric([key], value)
        return [ticks, last]

    def _services(self) -> list[Metric]:
        up = GaugeMetricFamily(
            "jsorc_service_up",
            "1 when a kept-alive service is RUNNING",
            labels=["service", "state"],
        )
        restarts = CounterMetricFamily(
            "jsorc_service_restarts", "Restarts of a kept-alive service", labels=["service"]
        )
        try:
            names = set(self.rt.state.client.smembers(keys.SERVICES))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StateUnavailable(str(exc)) from exc
        for name in sorted(names | set(self.rt.settings.keep_alive)):
            health = self.rt.state.fetch_service_health(name) or {}
            state = health.get("state", "UNKNOWN")
            up.add_metric([name, state], 1 if state == "RUNNING" else 0)
            restarts.add_metric([name], float(health.get("restarts", 0) or 0))
        return [up, restarts]


def metrics_registry(rt: Runtime) -> CollectorRegistry:
    """A registry of JSORC's metrics and this process's own (not the global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JsorcCollector(rt))  # type: ignore[arg-type]
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
