"""Faults of the task workers: a worker SIGKILLed mid-task, a spawn delivered twice, a
worker alive but no longer consuming, and the Celery settings that make this safe.
(Two Beats at once: tests/test_beat.py, one regeneration per interval.)"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from jsorc import admin, canary, spawning
from jsorc.admin import Dispatch
from jsorc.delivery import check_visibility_timeout, longest_task
from jsorc.errors import SettingsError
from jsorc.locks import SingleFlight, single_flight
from jsorc.regeneration import run_tick
from jsorc.runtime import Runtime
from jsorc.settings import Settings
from tests.conftest import wait_until
from tests.fault_tasks import QUEUE
from tests.fault_tools import ROOT, WorkerProcess

# Seconds: the broker's visibility timeout in these tests; a task of a dead worker goes
# to another after this. It must exceed longest_task for a server_start_timeout of 1 s.
VISIBILITY = 22.0
# Seconds each fault task sleeps: long enough to be killed in the middle.
TASK_SECONDS = 4.0


def test_celery_is_configured_for_at_least_once() -> None:
    import celeryconfig

    assert celeryconfig.task_acks_late is True
    assert celeryconfig.task_reject_on_worker_lost is True
    assert celeryconfig.worker_prefetch_multiplier == 1
    timeout = celeryconfig.broker_transport_options["visibility_timeout"]
    assert timeout > longest_task(Settings.from_env())


def test_a_visibility_timeout_shorter_than_a_task_fails_at_start(tmp_path: Path) -> None:
    # server_start_timeout 120 s + 10 s retire margin + 10 s slack = 140 s.
    settings = Settings(home=tmp_path, server_start_timeout=120.0, visibility_timeout=140.0)
    with pytest.raises(SettingsError, match="must exceed the longest task"):
        check_visibility_timeout(settings)
    check_visibility_timeout(dataclasses.replace(settings, visibility_timeout=141.0))

    env = {**os.environ, "JSORC_VISIBILITY_TIMEOUT": "60", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "tasks.app", "report"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "visibility_timeout of 60 s must exceed the longest task" in done.stderr


@pytest.mark.timeout(180)
def test_a_worker_killed_mid_task_loses_no_task(
    settings: Settings, redis_url: str, tmp_path: Path, celery_app_jsorc: Any
) -> None:
    """Must hold: every task sent completes; the ones the dead worker held run again."""
    fast = dataclasses.replace(settings, server_start_timeout=1.0, visibility_timeout=VISIBILITY)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    first = WorkerProcess(fast, "first@faults", queues=QUEUE, log=tmp_path / "first.log").start()
    second = WorkerProcess(fast, "second@faults", queues=QUEUE, log=tmp_path / "second.log")
    keys = [f"faults:task:{i}" for i in range(4)]
    try:
        for key in keys:
            celery_app_jsorc.send_task("tests.faults.slow_mark", (key, TASK_SECONDS), queue=QUEUE)
        # Concurrency 2, prefetch 1: the first worker holds two tasks, two wait in the queue.
        wait_until(
            lambda: sum(int(client.hget(k, "started") or 0) for k in keys) == 2,
            timeout=30,
            what="two tasks running on the first worker",
        )
        first.signal(signal.SIGKILL)
        first.process.wait(10)
        killed = [k for k in keys if client.hget(k, "started")]
        assert all(client.hget(k, "done") is None for k in keys)

        # The broker hands the dead worker's tasks on once they are VISIBILITY s old; a
        # worker starting after that takes them at once (kombu restores on start).
        threading.Event().wait(VISIBILITY)
        second.start()
        wait_until(
            lambda: all(client.hget(k, "done") for k in keys),
            timeout=90,
            what="every task done after the kill",
        )
    finally:
        first.stop()
        second.stop()
    for key in keys:
        runs = client.hgetall(key)
        expected_starts = 2 if key in killed else 1
        assert runs == {"started": str(expected_starts), "done": "1"}, key
    assert len(killed) == 2


def _action_servers(rt: Runtime, name: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if (
            "jsorc.server" in cmdline
            and name in cmdline
            and str(rt.settings.home) in " ".join(cmdline)
        ):
            found.append(process)
    return found


@pytest.mark.timeout(120)
def test_a_spawn_delivered_twice_at_once_starts_one_server(rt: Runtime, worker: Any) -> None:
    """Must hold: two deliveries of the same spawn task give one server, one READY."""
    from tasks.actions import spawn_action

    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", "remote", dispatch=Dispatch(spawn=lambda n: None, retire=print))
    results = [spawn_action.delay("text_tools") for _ in range(2)]
    placements = [result.get(timeout=90) for result in results]

    servers = _action_servers(rt, "text_tools")
    assert len(servers) == 1, servers
    assert rt.state.fetch_placement("text_tools").status == "READY"
    # Whichever ran second either waited out the lock or adopted the live server.
    assert {p["status"] for p in placements if p is not None} <= {"READY", "STARTING"}

    again = spawning.spawn_action(rt, "text_tools", reason="redelivered")
    assert again is not None and again.status == "READY"
    assert [p.pid for p in _action_servers(rt, "text_tools")] == [servers[0].pid]


def test_lock_ttls_are_checked_and_renewed(rt: Runtime) -> None:
    with pytest.raises(SettingsError, match="must exceed 2 s"):
        with single_flight(rt.state.client, "jsorc:lock:test", ttl=2.0, longer_than=2.0):
            pass
    with pytest.raises(SettingsError):
        SingleFlight(rt.state.client, "jsorc:lock:test", ttl=0.0)

    # A 0.6 s TTL renewed every 0.2 s is still held after 2 s of work.
    with single_flight(rt.state.client, "jsorc:lock:test", ttl=0.6, renew=True) as lock:
        assert lock is not None
        done = threading.Event()
        done.wait(2.0)
        assert rt.state.client.get("jsorc:lock:test") == lock.token
    assert rt.state.client.get("jsorc:lock:test") is None


@pytest.mark.timeout(150)
def test_a_worker_that_stops_consuming_is_reported_stalled(
    rt: Runtime, settings: Settings, tmp_path: Path, celery_app_jsorc: Any
) -> None:
    """Must hold: a worker that answers pings but runs no task is STALLED in Redis and SQL
    within DEADLINE_TICKS + 2 ticks, and CONSUMING again within 2 ticks of recovering."""
    from tasks.app import use_runtime
    from tasks.regeneration import watch_workers

    name = "stall@faults"
    stalled = WorkerProcess(settings, name, queues="jsorc", log=tmp_path / "stall.log").start()
    use_runtime(rt)
    control = celery_app_jsorc.control
    direct = f"{name}.dq2"
    ticks: list[dict[str, Any]] = []

    def tick() -> str:
        # One tick per backoff_interval, as Beat would fire them.
        threading.Event().wait(settings.backoff_interval)
        report = run_tick(rt, respawn=lambda n: None, watch_workers=watch_workers)
        ticks.append(dataclasses.asdict(report))
        return next((w["state"] for w in report.workers if w["worker"] == name), "absent")

    try:
        assert wait_until(lambda: tick() == canary.CONSUMING and not _in_flight(rt, name),
                          timeout=30, what="the canary answered")  # fmt: skip
        for queue in ("jsorc", direct):
            control.cancel_consumer(queue, destination=[name], reply=True, timeout=5)
        states = [tick() for _ in range(canary.DEADLINE_TICKS + 2)]
        assert states[-1] == canary.STALLED, states
        assert rt.state.client.hget(canary.worker_key(name), "state") == canary.STALLED
        history = [e["state"] for e in rt.db.service_history(f"worker:{name}")]
        assert history == [canary.CONSUMING, canary.STALLED]

        control.add_consumer(
            direct, exchange="C.dq2", routing_key=name, destination=[name], reply=True, timeout=5
        )
        recovered = [tick() for _ in range(2)]
        assert recovered[-1] == canary.CONSUMING, recovered
        history = [e["state"] for e in rt.db.service_history(f"worker:{name}")]
        assert history == [canary.CONSUMING, canary.STALLED, canary.CONSUMING]
    finally:
        use_runtime(None)
        stalled.stop()


def _in_flight(rt: Runtime, name: str) -> bool:
    return rt.state.client.hexists(canary.worker_key(name), "token")
