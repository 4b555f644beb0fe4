"""A fixed log-scale latency histogram: mergeable across processes, percentiles estimated.

Bucket 0 holds values under MIN_US; bucket i >= 1 holds [MIN_US * G**(i-1), MIN_US * G**i)
and is represented by its geometric middle, so an estimate is within RELATIVE_ERROR of
some sample in the same bucket. Count and sum are exact, so the mean is exact.
Non-goal: exact percentiles. Hazard: values past the last bucket are clamped into it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# Growth factor between bucket edges.
GROWTH = 1.05
# Microseconds: the lower edge of bucket 1 (everything smaller is in bucket 0).
MIN_US = 1.0
# Number of buckets; the last upper edge is about 1e6 s, far past any call.
BUCKETS = 600
# Largest relative distance from a bucket's representative to a value in it.
RELATIVE_ERROR = math.sqrt(GROWTH) - 1
PERCENTILES = (50, 90, 95, 99)

_LOG_GROWTH = math.log(GROWTH)
NS_PER_US = 1000.0
NS_PER_MS = 1e6


def bucket_of(ns: int | float) -> int:
    """The bucket of a latency of `ns` nanoseconds."""
    us = ns / NS_PER_US
    if us < MIN_US:
        return 0
    return min(BUCKETS - 1, 1 + int(math.log(us / MIN_US) / _LOG_GROWTH))


def upper_edge_us(index: int) -> float:
    """The upper edge of bucket `index` in microseconds."""
    return MIN_US * GROWTH**index


def representative_us(index: int) -> float:
    """The value in microseconds that stands for every sample in bucket `index`."""
    if index == 0:
        return MIN_US / 2
    return MIN_US * GROWTH ** (index - 0.5)


class Histogram:
    """Counts per bucket, plus the exact count and sum (nanoseconds)."""

    __slots__ = ("buckets", "count", "sum_ns", "errors")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.sum_ns = 0
        self.errors = 0

    @classmethod
    def of(cls, samples_ns: Iterable[int | float]) -> Histogram:
        hist = cls()
        for ns in samples_ns:
            hist.add(ns)
        return hist

    def add(self, ns: int | float, *, error: bool = False, times: int = 1) -> None:
        index = bucket_of(ns)
        self.buckets[index] = self.buckets.get(index, 0) + times
        self.count += times
        self.sum_ns += int(ns) * times
        self.errors += times if error else 0

    def merge(self, other: Histogram) -> Histogram:
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.count += other.count
        self.sum_ns += other.sum_ns
        self.errors += other.errors
        return self

    def minus(self, earlier: Histogram) -> Histogram:
        """What was added since `earlier` (a snapshot of the same counters)."""
        out = Histogram()
        for index, n in self.buckets.items():
            left = n - earlier.buckets.get(index, 0)
            if left > 0:
                out.buckets[index] = left
        out.count = max(0, self.count - earlier.count)
        out.sum_ns = max(0, self.sum_ns - earlier.sum_ns)
        out.errors = max(0, self.errors - earlier.errors)
        return out

    def percentile_ms(self, q: float) -> float | None:
        """The nearest-rank q-th percentile: the sample of rank ceil(q/100 * count),
        estimated by its bucket's representative (numpy's method="inverted_cdf")."""
        if self.count <= 0:
            return None
        rank = max(1, math.ceil(q / 100.0 * self.count - 1e-9))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return representative_us(index) / 1000.0
        return representative_us(max(self.buckets)) / 1000.0

    def mean_ms(self) -> float | None:
        return None if self.count <= 0 else self.sum_ns / self.count / NS_PER_MS

    def summary(self) -> dict[str, Any]:
        """count, errors, mean_ms and p50/p90/p95/p99_ms (None when empty)."""
        out: dict[str, Any] = {"count": self.count, "errors": self.errors}
        out["mean_ms"] = _rounded(self.mean_ms())
        for q in PERCENTILES:
            out[f"p{q}_ms"] = _rounded(self.percentile_ms(q))
        return out

    def cumulative(self, edges_us: Iterable[float]) -> list[tuple[float, int]]:
        """(edge µs, samples in buckets whose upper edge is at most it), for each edge."""
        out = []
        ordered = sorted(self.buckets.items())
        for edge in edges_us:
            out.append((edge, sum(n for i, n in ordered if upper_edge_us(i) <= edge * 1.000001)))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "sum_ns": self.sum_ns,
            "errors": self.errors,
            "buckets": {str(i): n for i, n in sorted(self.buckets.items())},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Histogram:
        hist = cls()
        hist.count = int(raw.get("count", 0))
        hist.sum_ns = int(raw.get("sum_ns", 0))
        hist.errors = int(raw.get("errors", 0))
        hist.buckets = {int(i): int(n) for i, n in (raw.get("buckets") or {}).items()}
        return hist

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Histogram) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"<Histogram count={self.count} mean_ms={self.mean_ms()}>"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
