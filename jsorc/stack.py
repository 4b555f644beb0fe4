"""`jsorc up`: the whole stack on one machine, and its orderly stop.

Starts a private Redis (unless told to use another), then a Celery worker, Beat and the
API as child processes in their own sessions (so Ctrl-C reaches only this supervisor,
which then stops them in order), optionally Flower. A child that dies is restarted.
Stopping also stops the action servers the stack started. Hazard: if the supervisor
itself is SIGKILLed, its children are left running.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import urllib3

from jsorc.redis_server import RedisServer, free_port
from jsorc.settings import Settings

logger = logging.getLogger(__name__)

# Seconds a child has to become ready.
READY_TIMEOUT = 60.0
# Seconds a child has to exit after SIGTERM before it is killed.
STOP_GRACE = 10.0
# Worker threads; orchestration tasks mostly wait on processes and HTTP.
WORKER_CONCURRENCY = 4
# Random bytes in a generated API token.
TOKEN_BYTES = 32


@dataclasses.dataclass
class Child:
    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen | None = None
    restarts: int = 0
    log_offset: int = 0  # where this run's output starts in the log

    def output(self) -> str:
        try:
            with open(self.log, "rb") as log:
                log.seek(self.log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        api_port: int | None = None,
        external_redis: bool = False,
        flower_port: int | None = None,
    ) -> None:
        self.settings = settings
        self.api_port = api_port if api_port is not None else _port_of(settings.api_url)
        self.external_redis = external_redis
        self.flower_port = flower_port
        self.redis: RedisServer | None = None
        self.children: list[Child] = []
        self.logs = settings.home / "logs"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def stack_file(self) -> Path:
        return self.settings.home / "stack.json"

    def start(self, *, announce: Callable[[str], None] = print) -> Stack:
        self.logs.mkdir(parents=True, exist_ok=True)
        if not self.external_redis:
            self.redis = RedisServer(directory=self.settings.home / "redis").start()
            self.settings = dataclasses.replace(self.settings, redis_url=self.redis.url)
            announce(f"redis    {self.redis.url} (private)")
        if self.api_port == 0:
            self.api_port = free_port()
        token = self.settings.api_token or secrets.token_urlsafe(TOKEN_BYTES)
        self.settings = dataclasses.replace(self.settings, api_url=self.api_url, api_token=token)
        self.children = self._children()
        try:
            for child in self.children:
                self._spawn(child)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        for child in self.children:
            announce(f"{child.name:<8} pid {child.process.pid}, log {child.log}")
        announce(f"api      {self.api_url}  (OpenAPI docs at {self.api_url}/docs)")
        if self.flower_port is not None:
            announce(f"flower   http://127.0.0.1:{self.flower_port}")
        self._write_stack_file()
        return self

    def _write_stack_file(self) -> None:
        """stack.json tells the CLI where the stack is and holds the API token: owner-only."""
        record = {
            "api_url": self.api_url,
            "redis_url": self.settings.redis_url,
            "pid": os.getpid(),
            "api_token": self.settings.api_token,
        }
        fd = os.open(self.stack_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(record))

    def _children(self) -> list[Child]:
        celery = [sys.executable, "-m", "celery", "-A", "tasks.app"]
        jsorc = [sys.executable, "-m", "jsorc.cli"]
        worker = [
            *celery, "worker", "--pool", "threads", "--concurrency", str(WORKER_CONCURRENCY),
            "--loglevel", "INFO", "--queues", "jsorc", "--events", "--without-mingle",
            "--without-gossip", "--hostname", f"jsorc-{os.getpid()}@%h",
        ]  # fmt: skip
        children = [
            Child("worker", worker, self.logs / "worker.log"),
            Child("beat", [*jsorc, "beat"], self.logs / "beat.log"),
            Child("api", [*jsorc, "api", "--port", str(self.api_port)], self.logs / "api.log"),
        ]
        if self.flower_port is not None:
            self.flower_port = self.flower_port or free_port()
            flower = [*celery, "flower", "--address=127.0.0.1", f"--port={self.flower_port}"]
            children.append(Child("flower", flower, self.logs / "flower.log"))
        return children

    def supervise(self, *, poll: float = 1.0) -> None:
        """Restart children that die, until SIGINT or SIGTERM."""
        stop = {"now": False}

        def request_stop(*_: object) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        while not stop["now"]:
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    logger.warning(
                        "%s exited with %s; restarting it (log %s).",
                        child.name,
                        child.process.returncode,
                        child.log,
                    )
                    child.restarts += 1
                    self._spawn(child)
            time.sleep(poll)

    def stop(self, *, announce: Callable[[str], None] = print) -> None:
        for child in reversed(self.children):
            _terminate(child)
        self._retire_action_servers(announce)
        if self.redis is not None:
            self.redis.stop()
        self.stack_file.unlink(missing_ok=True)
        announce("stopped: api, beat, worker, action servers and redis")

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, **self.settings.to_env()}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        with open(child.log, "ab") as log:
            child.log_offset = log.tell()
            child.process = subprocess.Popen(
                child.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        http = urllib3.PoolManager(retries=False, timeout=1.0)
        pending = {"api", "worker"}
        while pending:
            for child in self.children:
                if child.process.poll() is not None:
                    raise RuntimeError(
                        f"{child.name} exited while starting; "
                        f"its log {child.log} says:\n{child.output()[-3000:]}"
                    )
            if "api" in pending and _answers(http, f"{self.api_url}/health"):
                pending.discard("api")
            worker = next(c for c in self.children if c.name == "worker")
            if "worker" in pending and " ready." in worker.output():
                pending.discard("worker")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{', '.join(sorted(pending))} not ready after "
                    f"{READY_TIMEOUT:g}s; see the logs in {self.logs}"
                )
            time.sleep(0.1)

    def _retire_action_servers(self, announce: Callable[[str], None]) -> None:
        from jsorc.backends import make_backend
        from jsorc.errors import JsorcError
        from jsorc.state import StateStore

        state = StateStore.from_url(self.settings.redis_url)
        try:
            backend = make_backend(self.settings, state)
            for name in backend.names():
                if backend.retire(name):
                    announce(f"stopped action server {name!r}")
        except JsorcError as exc:
            logger.warning("Could not stop action servers: %s", exc)
        finally:
            state.client.close()


def _terminate(child: Child) -> None:
    process = child.process
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        logger.warning("%s ignored SIGTERM; killing it.", child.name)
        process.kill()
        process.wait()


def _answers(http: urllib3.PoolManager, url: str) -> bool:
    try:
        return http.request("GET", url).status == 200
    except urllib3.exceptions.HTTPError:
        return False


def _port_of(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 80
