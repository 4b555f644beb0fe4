"""Tools of the fault-injection tests: a real Celery worker as a subprocess, and the
snapshots that show nothing was lost or changed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis

from jsorc.runtime import Runtime
from jsorc.settings import Settings
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
# Seconds a subprocess worker has to say it is ready.
WORKER_READY = 60.0


class WorkerProcess:
    """`celery -A tasks.app worker` in its own process, with the fault tasks loaded."""

    def __init__(self, settings: Settings, name: str, *, queues: str, log: Path, **env: str):
        self.name = name
        self.log = log
        self.env = {
            **os.environ,
            **settings.to_env(),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **env,
        }
        self.command = [
            sys.executable, "-m", "celery", "-A", "tasks.app", "worker", "--pool", "threads",
            "--concurrency", "2", "--loglevel", "INFO", "--queues", queues,
            "--without-mingle", "--without-gossip", "--hostname", name,
            "--include", "tests.fault_tasks",
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_until(self._ready, timeout=WORKER_READY, poll=0.1, what=f"worker {self.name} ready")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited: {self.output()[-3000:]}")
        return " ready." in self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def durable_snapshot(rt: Runtime) -> dict[str, Any]:
    """What must never be lost: configs and placements, in SQL and in Redis."""
    return {
        "sql_configs": rt.db.fetch_configs(),
        "sql_placements": rt.db.fetch_placements(),
        "redis_configs": rt.state.fetch_configs(),
        "redis_placements": {
            name: (p.mode, p.status) for name, p in rt.state.fetch_placements().items()
        },
    }


def redis_snapshot(client: redis.Redis) -> dict[str, Any]:
    """Every jsorc key with its type and value (counters of ticks excluded)."""
    snapshot: dict[str, Any] = {}
    for key in sorted(client.scan_iter("jsorc:*")):
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "hash":
            snapshot[key] = client.hgetall(key)
        elif kind == "set":
            snapshot[key] = sorted(client.smembers(key))
        elif kind == "list":
            snapshot[key] = client.lrange(key, 0, -1)
        elif kind == "string":
            snapshot[key] = client.get(key)
    return snapshot
