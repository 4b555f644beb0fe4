"""The live state store on Redis: action configs, placements, server records, health.

Each write of a placement bumps a version counter and publishes the action's name, so
routers in every process notice within one round trip. Redis errors become
StateUnavailable here. Durable copies of configs live in SQL (`db.py`), not here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import redis

from jsorc import keys
from jsorc.errors import StateUnavailable
from jsorc.placement import Placement


class StateStore:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> StateStore:
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30))

    # configs

    def save_config(self, name: str, config: Mapping[str, Any]) -> None:
        with _translated():
            self.client.hset(keys.CONFIGS, name, json.dumps(dict(config)))

    def fetch_config(self, name: str) -> dict[str, Any] | None:
        with _translated():
            raw = self.client.hget(keys.CONFIGS, name)
        return None if raw is None else json.loads(raw)

    def fetch_configs(self) -> dict[str, dict[str, Any]]:
        with _translated():
            raw = self.client.hgetall(keys.CONFIGS)
        return {name: json.loads(value) for name, value in raw.items()}

    # placements

    def save_placement(self, placement: Placement) -> None:
        with _translated():
            pipe = self.client.pipeline()
            key = keys.placement(placement.name)
            pipe.delete(key)
            pipe.hset(key, mapping=placement.to_redis())
            pipe.sadd(keys.PLACEMENTS, placement.name)
            pipe.incr(keys.PLACEMENT_VERSION)
            pipe.execute()
            self.client.publish(keys.PLACEMENT_CHANNEL, placement.name)

    def delete_placement(self, name: str) -> None:
        with _translated():
            pipe = self.client.pipeline()
            pipe.delete(keys.placement(name))
            pipe.srem(keys.PLACEMENTS, name)
            pipe.incr(keys.PLACEMENT_VERSION)
            pipe.execute()
            self.client.publish(keys.PLACEMENT_CHANNEL, name)

    def fetch_placement(self, name: str) -> Placement | None:
        with _translated():
            raw = self.client.hgetall(keys.placement(name))
        return Placement.from_redis(raw) if raw else None

    def fetch_placements(self) -> dict[str, Placement]:
        with _translated():
            names = sorted(self.client.smembers(keys.PLACEMENTS))
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(keys.placement(name))
            rows = pipe.execute()
        return {
            name: Placement.from_redis(raw) for name, raw in zip(names, rows, strict=True) if raw
        }

    def placement_version(self) -> int:
        with _translated():
            return int(self.client.get(keys.PLACEMENT_VERSION) or 0)

    # records of detached local processes (action servers, kept-alive services)

    def save_process(self, kind: str, name: str, record: Mapping[str, Any]) -> None:
        with _translated():
            pipe = self.client.pipeline()
            pipe.delete(keys.process(kind, name))
            pipe.hset(keys.process(kind, name), mapping={k: str(v) for k, v in record.items()})
            pipe.sadd(keys.processes(kind), name)
            pipe.execute()

    def fetch_process(self, kind: str, name: str) -> dict[str, str] | None:
        with _translated():
            raw = self.client.hgetall(keys.process(kind, name))
        return raw or None

    def process_names(self, kind: str) -> list[str]:
        with _translated():
            return sorted(self.client.smembers(keys.processes(kind)))

    def delete_process(self, kind: str, name: str) -> None:
        with _translated():
            pipe = self.client.pipeline()
            pipe.delete(keys.process(kind, name))
            pipe.srem(keys.processes(kind), name)
            pipe.execute()

    # kept-alive services' health

    def save_service_health(self, name: str, health: Mapping[str, Any]) -> None:
        with _translated():
            pipe = self.client.pipeline()
            pipe.hset(keys.service(name), mapping={k: str(v) for k, v in health.items()})
            pipe.sadd(keys.SERVICES, name)
            pipe.execute()

    def fetch_service_health(self, name: str) -> dict[str, str] | None:
        with _translated():
            raw = self.client.hgetall(keys.service(name))
        return raw or None

    # regeneration counters

    def count_tick(self, outcome: str, amount: int = 1) -> None:
        with _translated():
            self.client.hincrby(keys.REGENERATION_STATS, outcome, amount)
            self.client.hset(keys.REGENERATION_STATS, f"last_{outcome}", repr(time.time()))

    def record_tick(self, started: float, *, keep: int = 100) -> None:
        with _translated():
            pipe = self.client.pipeline()
            pipe.lpush(keys.REGENERATION_HISTORY, repr(started))
            pipe.ltrim(keys.REGENERATION_HISTORY, 0, keep - 1)
            pipe.execute()

    def tick_history(self) -> list[float]:
        """Start times (epoch seconds) of the latest ticks that ran, oldest first."""
        with _translated():
            raw = self.client.lrange(keys.REGENERATION_HISTORY, 0, -1)
        return sorted(float(value) for value in raw)

    def tick_counts(self) -> dict[str, float]:
        with _translated():
            raw = self.client.hgetall(keys.REGENERATION_STATS)
        return {key: float(value) for key, value in raw.items()}

    def ping(self) -> bool:
        with _translated():
            return bool(self.client.ping())


class _translated:
    """Context manager turning redis connection trouble into StateUnavailable."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            raise StateUnavailable(f"Redis state store unreachable: {exc}") from exc
