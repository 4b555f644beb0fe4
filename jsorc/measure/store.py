"""Latency series in Redis: one hash of histogram counters per series, summed by HINCRBY.

A series is named by a few labels (for router calls: action, function, mode); every
process adds its aggregates, so Redis holds the merged totals. Windows are differences
of two reads (see `Histogram.minus`). Not here: buffering (`recorder.py`).
Hazard: a label must not contain SEPARATOR; it is replaced by "/".
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from jsorc import keys
from jsorc.errors import StateUnavailable
from jsorc.measure.histogram import Histogram

SEPARATOR = "|"
Labels = tuple[str, ...]
Series = dict[Labels, Histogram]


def member(labels: Labels) -> str:
    return SEPARATOR.join(label.replace(SEPARATOR, "/") for label in labels)


class LatencyStore:
    def __init__(self, client: redis.Redis, kind: str) -> None:
        self.client = client
        self.kind = kind

    def add(self, series: Mapping[Labels, Histogram]) -> None:
        """Add each series' counts to the totals in Redis, in one round trip."""
        if not series:
            return
        pipe = self.client.pipeline(transaction=False)
        for labels, hist in series.items():
            name = member(labels)
            key = keys.latency(self.kind, name)
            pipe.hincrby(key, "count", hist.count)
            pipe.hincrby(key, "sum_ns", hist.sum_ns)
            if hist.errors:
                pipe.hincrby(key, "errors", hist.errors)
            for index, n in hist.buckets.items():
                pipe.hincrby(key, f"b{index}", n)
            pipe.sadd(keys.latencies(self.kind), name)
        with _translated():
            pipe.execute()

    def read(self) -> Series:
        """Every series' totals so far."""
        with _translated():
            names = sorted(self.client.smembers(keys.latencies(self.kind)))
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(keys.latency(self.kind, name))
            rows = pipe.execute()
        out: Series = {}
        for name, raw in zip(names, rows, strict=True):
            if raw:
                out[tuple(_text(name).split(SEPARATOR))] = _histogram(raw)
        return out

    def reset(self) -> None:
        with _translated():
            names = self.client.smembers(keys.latencies(self.kind))
            pipe = self.client.pipeline()
            for name in names:
                pipe.delete(keys.latency(self.kind, _text(name)))
            pipe.delete(keys.latencies(self.kind))
            pipe.execute()


def window(now: Series, since: Series | None) -> Series:
    """The counts added between snapshot `since` and `now`; empty series dropped."""
    if since is None:
        return {labels: hist for labels, hist in now.items() if hist.count}
    out = {}
    for labels, hist in now.items():
        earlier = since.get(labels)
        delta = hist.minus(earlier) if earlier is not None else hist
        if delta.count:
            out[labels] = delta
    return out


def series_to_json(series: Series) -> list[dict]:
    return [{"labels": list(labels), **hist.to_json()} for labels, hist in series.items()]


def series_from_json(raw: list[dict]) -> Series:
    return {tuple(item["labels"]): Histogram.from_json(item) for item in raw}


def _histogram(raw: Mapping) -> Histogram:
    hist = Histogram()
    for field, value in raw.items():
        field, n = _text(field), int(value)
        if field.startswith("b"):
            hist.buckets[int(field[1:])] = n
        elif field == "count":
            hist.count = n
        elif field == "sum_ns":
            hist.sum_ns = n
        elif field == "errors":
            hist.errors = n
    return hist


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _translated:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            raise StateUnavailable(f"Redis state store unreachable: {exc}") from exc
