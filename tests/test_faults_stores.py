"""Faults of the stores: Redis restarting under load, and the SQL database (PostgreSQL)
going away and coming back. Must hold: no config or placement lost (Redis is rebuilt
from SQL by the first tick), calls go on, workers resume consuming, one regeneration per
tick, and a clear 503 (never a 500) while the database is away."""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery import Celery

from jsorc import admin
from jsorc.admin import Dispatch
from jsorc.redis_server import RedisServer
from jsorc.regeneration import run_tick
from jsorc.router import Router
from jsorc.runtime import Runtime
from jsorc.settings import Settings
from tests.conftest import ApiCaller, wait_until
from tests.fault_tools import WorkerProcess, durable_snapshot

# Calls the router makes at most while Redis restarts.
MAX_CALLS = 100_000
POSTGRES = "host=127.0.0.1 port=5432 dbname=test connect_timeout=3"
NO_DISPATCH = Dispatch(spawn=lambda name: None, retire=lambda name: None)


def calls_in_background(router: Router, stop: threading.Event, tally: dict[str, int]) -> None:
    for _ in range(MAX_CALLS):
        if stop.is_set():
            return
        try:
            assert router.call("text_tools.word_count", "one two three") == 3
            tally["ok"] += 1
        except Exception as exc:  # counted, and shown if the test fails
            tally["failed"] += 1
            tally.setdefault("first", repr(exc))  # type: ignore[arg-type]
        stop.wait(0.005)


@pytest.mark.timeout(180)
def test_redis_restarting_under_load_loses_no_config(settings: Settings, tmp_path: Path) -> None:
    redis_dir = tmp_path / "redis"
    server = RedisServer(directory=redis_dir).start()
    own = dataclasses.replace(settings, redis_url=server.url)
    rt = Runtime.from_settings(own)
    worker = WorkerProcess(own, "redis@faults", queues="jsorc", log=tmp_path / "w.log").start()
    app = Celery("faults", broker=server.url, backend=server.url)
    app.conf.update(task_default_queue="jsorc", broker_connection_retry_on_startup=True)
    stop, tally = threading.Event(), {"ok": 0, "failed": 0}
    try:
        for name in ("text_tools", "vectors"):
            admin.configure(rt, name, "jsorc_examples.config")
            admin.load(rt, name, "module", dispatch=NO_DISPATCH)
        before = durable_snapshot(rt)
        with Router(rt.state, allowed_modules=own.allowed_modules) as router:
            caller = threading.Thread(target=calls_in_background, args=(router, stop, tally))
            caller.start()
            wait_until(lambda: tally["ok"] > 10, timeout=30, what="calls under way")
            server.stop()
            threading.Event().wait(1.0)
            server = RedisServer(directory=redis_dir, port=server.port).start()
            assert rt.state.fetch_configs() == {}, "Redis came back with its data"

            # The first tick after the restart, run by the worker that lived through it.
            report = app.send_task("jsorc.regenerate").get(timeout=60)
            router.sync()
            failed_before_tick = tally["failed"]
            after = tally["ok"]
            wait_until(lambda: tally["ok"] > after + 50, timeout=30, what="calls after the tick")
            stop.set()
            caller.join(10)
        assert sorted(report["restored"]["configs"]) == ["text_tools", "vectors"]
        assert sorted(report["restored"]["placements"]) == ["text_tools", "vectors"]
        assert durable_snapshot(rt) == before
        # The router kept routing by its last view while Redis was away or empty, so
        # not one call failed, before the tick or after it.
        assert tally["failed"] == failed_before_tick == 0, tally
        # Two ticks fired at once: one runs, the other is skipped.
        threading.Event().wait(own.backoff_interval)
        pair = [app.send_task("jsorc.regenerate") for _ in range(2)]
        assert sorted(r.get(timeout=60)["skipped"] for r in pair) == [False, True]
        states = {w["worker"]: w["state"] for w in report["workers"]}
        assert states.get("redis@faults") == "CONSUMING", report["workers"]
    finally:
        stop.set()
        worker.stop()
        rt.close()
        server.stop()
    assert own.api_token not in worker.output()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the local PostgreSQL, dropped afterwards."""
    name = f"jsorc_fault_{secrets.token_hex(4)}"
    try:
        admin_conn = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    with admin_conn:
        admin_conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://127.0.0.1:5432/{name}"
        finally:
            admin_conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin_conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def set_reachable(url: str, reachable: bool) -> None:
    """Make the database refuse (or accept again) every connection, and cut open ones."""
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(reachable).lower()}')
        if not reachable:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


@pytest.mark.timeout(120)
def test_a_database_that_goes_away_and_comes_back(
    settings: Settings, postgres_url: str, worker: Any
) -> None:
    from tasks.app import celery_dispatch, use_runtime

    rt = Runtime.from_settings(dataclasses.replace(settings, database_url=postgres_url))
    use_runtime(rt)
    try:
        _database_outage(rt, celery_dispatch, postgres_url)
    finally:
        use_runtime(None)
        rt.close()


def _database_outage(rt: Runtime, dispatch: Any, url: str) -> None:
    import uvicorn

    from jsorc.api.app import create_app
    from jsorc.redis_server import free_port

    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", "module", dispatch=NO_DISPATCH)
    before = durable_snapshot(rt)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(rt, dispatch), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, what="API listening")
    api = ApiCaller(f"http://127.0.0.1:{port}")
    try:
        set_reachable(url, False)
        status, reply = api.post(
            "/js_admin/jsorc_actions_config",
            json_body={"name": "vectors", "config": "jsorc_examples.config"},
        )
        assert status == 503 and "SQL database cannot be reached" in reply["error"]
        with pytest.raises(Exception, match="not currently accepting connections"):
            run_tick(rt, respawn=lambda name: None)
        rt.state.client.flushall()  # Redis loses everything while SQL is away, too

        set_reachable(url, True)
        threading.Event().wait(rt.settings.backoff_interval)
        report = run_tick(rt, respawn=lambda name: None)
        # Recovered in the first tick after the database came back.
        assert report.restored == {"configs": ["text_tools"], "placements": ["text_tools"]}
        assert durable_snapshot(rt) == before
        status, _ = api.post(
            "/js_admin/jsorc_actions_config",
            json_body={"name": "vectors", "config": "jsorc_examples.config"},
        )
        assert status == 200 and set(rt.db.fetch_configs()) == {"text_tools", "vectors"}
    finally:
        server.should_exit = True
        thread.join(10)
