"""Shared fixtures: a private Redis for the session (flushed before each test), settings
and a Runtime in a temporary home, and an in-process Celery worker on the real app.
Everything a test starts, it stops: action servers are retired at teardown.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import urllib3
import uvicorn

from jsorc.admin import Dispatch
from jsorc.api.app import create_app
from jsorc.redis_server import RedisServer, free_port
from jsorc.runtime import Runtime
from jsorc.settings import Settings

pytest_plugins = ["tests.kube.fixtures"]

ALLOWED = ("jsorc_examples",)
# The admin API's bearer token in tests; ApiCaller sends it.
TEST_TOKEN = "test-token-0123456789"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(directory=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        redis_url=redis_url,
        backoff_interval=2.0,
        allowed_modules=ALLOWED,
        server_start_timeout=60.0,
        api_token=TEST_TOKEN,
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(settings)
    yield runtime
    for name in runtime.backend.names():
        runtime.backend.retire(name)
    runtime.close()


@pytest.fixture(scope="session")
def celery_app_jsorc(redis_server: RedisServer) -> Any:
    from tasks.app import app

    app.conf.update(broker_url=redis_server.url, result_backend=redis_server.url)
    return app


@pytest.fixture(scope="session")
def session_worker(celery_app_jsorc: Any) -> Iterator[Any]:
    from celery.contrib.testing.worker import start_worker

    with start_worker(
        celery_app_jsorc,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture
def worker(session_worker: Any, rt: Runtime) -> Iterator[Any]:
    """The real Celery worker, running tasks against this test's Runtime."""
    from tasks.app import use_runtime

    use_runtime(rt)
    yield session_worker
    use_runtime(None)


@pytest.fixture
def inline_dispatch(rt: Runtime) -> Dispatch:
    """Spawn and retire run in the caller's thread: for tests of the domain code alone."""
    from jsorc import spawning

    return Dispatch(
        spawn=lambda name: spawning.spawn_action(rt, name),
        retire=lambda name: spawning.retire_action(rt, name),
    )


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, poll: float = 0.05, what: str = "condition"
) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout:g}s (last value {value!r})")
        time.sleep(poll)


class ApiCaller:
    """Plain HTTP to a served API: status code and decoded JSON."""

    def __init__(self, base: str, *, token: str = TEST_TOKEN) -> None:
        self.base = base
        self.http = urllib3.PoolManager(retries=False, timeout=30.0)
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def get(self, path: str) -> tuple[int, Any]:
        response = self.http.request("GET", self.base + path)
        return response.status, json.loads(response.data)

    def post(
        self, path: str, *, json_body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        payload = raw if raw is not None else json.dumps(json_body).encode()
        response = self.http.request("POST", self.base + path, body=payload, headers=self.headers)
        return response.status, json.loads(response.data)


@pytest.fixture
def api(rt: Runtime, worker: Any) -> Iterator[ApiCaller]:
    """The API served by uvicorn on a free port, its tasks run by the real worker."""
    from tasks.app import celery_dispatch

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(rt, celery_dispatch), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, what="API listening")
    yield ApiCaller(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(10)


@contextlib.contextmanager
def text_tools_server(directory: Path) -> Iterator[tuple[str, int]]:
    """A real action server for jsorc_examples.text_tools in its own process: (host, port)."""
    port_file = directory / "text_tools.port"
    process = subprocess.Popen(
        [sys.executable, "-m", "jsorc.server", "--name", "text_tools",
         "--module", "jsorc_examples.text_tools", "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None, "action server exited while starting"
            assert time.monotonic() < deadline, "action server did not start"
            time.sleep(0.05)
        yield "127.0.0.1", int(port_file.read_text())
    finally:
        process.terminate()
        process.wait(10)
