"""The canary: notices a worker that is alive but no longer takes tasks.

Each regeneration tick sends every worker that answers a ping a small task on that
worker's own queue; one not run within `deadline` seconds marks the worker STALLED (a known
failure after Redis reconnects: the pidbox answers, the task consumer does not). State is
kept in Redis; each change is also a service event "worker:<name>" in SQL.
Non-goals: replacing the worker (left to the operator or a supervisor). Hazard: a worker
whose every slot is busy for longer than the deadline also reads as STALLED until it is free.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable, Iterable

import redis

from jsorc import keys
from jsorc.db import Database

logger = logging.getLogger(__name__)

WORKER = keys.WORKER
WORKERS = keys.WORKERS

CONSUMING = "CONSUMING"
STALLED = "STALLED"
GONE = "GONE"
# A canary is due this many ticks after it was sent.
DEADLINE_TICKS = 3


@dataclasses.dataclass
class WorkerHealth:
    worker: str
    state: str
    # Seconds the canary in flight has waited (0 when none is in flight).
    waiting: float = 0.0


def worker_key(name: str) -> str:
    return WORKER.format(name=name)


def watch(
    client: redis.Redis,
    db: Database,
    *,
    workers: Iterable[str],
    send: Callable[[str, str], None],
    deadline: float,
    now: float,
) -> list[WorkerHealth]:
    """Check the last canary of each worker, send each a new one; `send(worker, token)`
    queues the canary task on that worker's own queue, `workers` are those that answer."""
    alive = sorted(set(workers))
    healths = [
        _check(client, db, worker, send=send, deadline=deadline, now=now) for worker in alive
    ]
    for worker in sorted(set(client.smembers(WORKERS)) - set(alive)):
        _forget(client, db, worker)
    return healths


def answer(client: redis.Redis, worker: str) -> None:
    """A canary ran on `worker`: it takes tasks (whichever canary it was)."""
    client.hdel(worker_key(worker), "token")


def _check(
    client: redis.Redis,
    db: Database,
    worker: str,
    *,
    send: Callable[[str, str], None],
    deadline: float,
    now: float,
) -> WorkerHealth:
    record = client.hgetall(worker_key(worker))
    before = record.get("state")
    in_flight = "token" in record
    waited = now - float(record.get("sent", now)) if in_flight else 0.0
    if not in_flight:
        state = CONSUMING
    elif waited > deadline:
        state = STALLED
    else:
        state = before or CONSUMING  # within its deadline: nothing new to say
    if not in_flight or state == STALLED:
        # A stalled worker gets a fresh canary each tick, so its recovery is seen promptly.
        token = secrets.token_hex(8)
        client.hset(worker_key(worker), mapping={"token": token, "sent": repr(now)})
        client.sadd(WORKERS, worker)
        send(worker, token)
    if state != before:
        client.hset(worker_key(worker), "state", state)
        _record_change(db, worker, state, waited)
    return WorkerHealth(worker=worker, state=state, waiting=round(waited, 3))


def _record_change(db: Database, worker: str, state: str, waited: float) -> None:
    if state == STALLED:
        detail = f"no canary task run for {waited:.1f} s: alive but not consuming"
        logger.warning("Worker %r is STALLED: %s; restart it.", worker, detail)
    else:
        detail = "takes tasks"
        logger.info("Worker %r is %s.", worker, state)
    db.record_service(f"worker:{worker}", state, detail)


def _forget(client: redis.Redis, db: Database, worker: str) -> None:
    client.delete(worker_key(worker))
    client.srem(WORKERS, worker)
    db.record_service(f"worker:{worker}", GONE, "no longer answers a ping")
    logger.info("Worker %r no longer answers; forgotten.", worker)
