"""The kept-alive services JSORC knows, each a `Service` with its default config.

A service's `run()` connects and proves the service answers (waiting up to
`ready_wait` seconds, since it may just have been started); `check_health()` asks again.
Configs are plain mappings (defaults here, overrides stored by config_set); no service
reads the environment.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, TypeVar

import redis
import urllib3
from redis.backoff import NoBackoff
from redis.retry import Retry

from jsorc.db import Database
from jsorc.services import Registry, Service

T = TypeVar("T")

# Seconds between attempts while a service comes up.
RETRY_POLL = 0.1
# Seconds a probe may take.
PROBE_TIMEOUT = 3.0


def _until_ready(config: dict[str, Any], attempt: Callable[[], T]) -> T:
    """`attempt()` until it returns, for up to config["ready_wait"] seconds."""
    deadline = time.monotonic() + float(config.get("ready_wait", 0))
    while True:
        try:
            return attempt()
        except Exception:
            if time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_POLL)


class RedisService(Service[redis.Redis]):
    DEFAULTS = {"host": "127.0.0.1", "port": 6390, "db": 0, "ready_wait": 10.0}

    def run(self) -> None:
        # No client-side retries: _until_ready does the waiting, and a health check
        # must fail at once rather than back off.
        client = redis.Redis(
            host=self.config["host"], port=int(self.config["port"]), db=int(self.config["db"]),
            socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        _until_ready(self.config, client.ping)
        self.app = client

    def check_health(self) -> None:
        assert self.app is not None
        self.app.ping()

    def on_delete(self) -> None:
        if self.app is not None:
            self.app.close()


class PrometheusService(Service[str]):
    """Its client is the base URL; `prometheus_api_client` callers build on it."""

    DEFAULTS = {"host": "127.0.0.1", "port": 9095, "ready_wait": 20.0}

    def run(self) -> None:
        url = f"http://{self.config['host']}:{int(self.config['port'])}"
        _until_ready(self.config, lambda: _expect_ok(f"{url}/-/ready"))
        self.app = url

    def check_health(self) -> None:
        # /-/ready, not /-/healthy: a Prometheus that just started is healthy before it
        # can answer queries.
        _expect_ok(f"{self.app}/-/ready")


class Mailer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.config["host"], int(self.config["port"]), timeout=PROBE_TIMEOUT)
        if self.config.get("tls"):
            smtp.starttls()
        if self.config.get("user"):
            smtp.login(self.config["user"], self.config.get("password", ""))
        return smtp

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.config["sender"], to, subject
        message.set_content(body)
        with self.connect() as smtp:
            smtp.send_message(message)

    def noop(self) -> None:
        with self.connect() as smtp:
            code, _ = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"NOOP refused")


class MailService(Service[Mailer]):
    DEFAULTS = {"host": "127.0.0.1", "port": 8025, "user": "", "password": "", "tls": False,
                "sender": "jsorc@localhost", "ready_wait": 10.0}  # fmt: skip

    def run(self) -> None:
        mailer = Mailer(self.config)
        _until_ready(self.config, mailer.noop)
        self.app = mailer

    def check_health(self) -> None:
        assert self.app is not None
        self.app.noop()


class DatabaseService(Service[Database]):
    """JSORC's SQL database: connecting creates any missing table (an in-process migration)."""

    DEFAULTS = {"url": "", "ready_wait": 10.0}

    def run(self) -> None:
        self.app = _until_ready(self.config, lambda: _checked_database(self.config["url"]))

    def check_health(self) -> None:
        assert self.app is not None
        self.app.ping()

    def on_delete(self) -> None:
        if self.app is not None:
            self.app.dispose()


class TaskWorkerService(Service[int]):
    """JSORC's Celery task workers: running while at least `min_workers` answer a ping.

    NOTE: the one place outside `tasks/` that touches Celery, and only to ping: a
    bare Celery app on the broker URL, made when the service runs."""

    DEFAULTS = {"broker_url": "", "min_workers": 1, "ready_wait": 30.0}

    def run(self) -> None:
        self.app = _until_ready(self.config, self._count_workers)

    def check_health(self) -> None:
        self.app = self._count_workers()

    def _count_workers(self) -> int:
        from celery import Celery

        probe = Celery("jsorc-probe", broker=self.config["broker_url"])
        try:
            replies = probe.control.ping(timeout=1.0)
        finally:
            probe.close()
        if len(replies) < int(self.config["min_workers"]):
            raise ConnectionError(
                f"{len(replies)} task worker(s) answer; {self.config['min_workers']} wanted"
            )
        return len(replies)


def _checked_database(url: str) -> Database:
    database = Database(url)
    database.ping()
    return database


def _expect_ok(url: str) -> None:
    response = _http.request("GET", url)
    if response.status != 200:
        raise ConnectionError(f"{url} answered {response.status}")


_http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=PROBE_TIMEOUT))

# name -> service class; the keys are what keep_alive and config_set name.
CATALOG: dict[str, type[Service[Any]]] = {
    "redis": RedisService,
    "prometheus": PrometheusService,
    "mail": MailService,
    "database": DatabaseService,
    "task": TaskWorkerService,
}


def default_config(name: str, *, database_url: str, redis_url: str) -> dict[str, Any]:
    config = dict(CATALOG[name].DEFAULTS)  # type: ignore[attr-defined]
    if name == "database":
        config["url"] = database_url
    if name == "task":
        config["broker_url"] = redis_url
    return config


def build_registry(configs: dict[str, dict[str, Any]]) -> Registry:
    """A registry holding every catalogued service, each with its full config."""
    registry = Registry()
    for name, cls in CATALOG.items():
        registry.register_service(name, cls, config=configs[name])
    return registry
