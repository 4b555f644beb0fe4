"""Kept-alive services on the local backend, against the real processes they run.

Every check of health is made independently of JSORC too (a ping of our own, a mail
read back from the SMTP server's log), and every kill is a real SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
from typing import Any

import psutil
import pytest
import redis

from jsorc.configuration import set_config
from jsorc.keepalive.watch import KeptAlive
from jsorc.redis_server import free_port
from jsorc.runtime import Runtime
from tests.conftest import ApiCaller, wait_until


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie",
        timeout=5,
        what=f"pid {pid} dead",
    )


def pid_of(kept: KeptAlive, name: str) -> int:
    process = kept.processes.process(name)
    assert process is not None, f"no process recorded for {name}"
    return process.pid


@pytest.fixture
def kept(rt: Runtime) -> Any:
    watcher = KeptAlive(rt)
    yield watcher
    watcher.shutdown()
    for name in watcher.processes.names():
        watcher.processes.stop(name)


def test_a_killed_redis_is_healthy_again_on_the_next_tick(rt: Runtime, kept: KeptAlive) -> None:
    port = free_port()
    set_config(rt, "service.redis", {"port": port})

    [health] = kept.tick(("redis",))
    assert (health.state, health.outcome) == ("RUNNING", "started")
    assert redis.Redis(port=port).ping() is True
    first = pid_of(kept, "redis")

    [health] = kept.tick(("redis",))
    assert (health.state, health.outcome) == ("RUNNING", "checked")

    kill(first)
    [health] = kept.tick(("redis",))

    assert (health.state, health.outcome) == ("RUNNING", "started")
    assert pid_of(kept, "redis") != first
    assert redis.Redis(port=port).ping() is True
    stored = rt.state.fetch_service_health("redis")
    assert (stored["state"], stored["restarts"]) == ("RUNNING", "1")
    states = [event["state"] for event in rt.db.service_history("redis")]
    assert states == ["RUNNING", "FAILED", "RUNNING"]


def test_a_broken_config_fails_then_recovers_after_config_set(rt: Runtime, kept: KeptAlive) -> None:
    port = free_port()  # nothing listens here, and JSORC may not start anything
    set_config(rt, "service.redis", {"port": port, "manifest": False, "ready_wait": 0})

    [health] = kept.tick(("redis",))
    assert health.state == "FAILED"
    assert f"127.0.0.1:{port}" in health.error and "refused" in health.error.lower()
    assert rt.state.fetch_service_health("redis")["state"] == "FAILED"
    [health] = kept.tick(("redis",))
    assert health.state == "FAILED"  # tried again, still failing

    set_config(rt, "service.redis", {"manifest": True, "ready_wait": 10})
    [health] = kept.tick(("redis",))

    assert (health.state, health.error) == ("RUNNING", "")
    assert redis.Redis(port=port).ping() is True


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="no prometheus binary on PATH")
def test_a_killed_prometheus_is_healthy_again_on_the_next_tick(
    rt: Runtime, kept: KeptAlive
) -> None:
    import urllib3

    port = free_port()
    set_config(rt, "service.prometheus", {"port": port})
    [health] = kept.tick(("prometheus",))
    assert health.state == "RUNNING", health.error
    first = pid_of(kept, "prometheus")

    kill(first)
    [health] = kept.tick(("prometheus",))

    assert health.state == "RUNNING", health.error
    assert pid_of(kept, "prometheus") != first
    ready = urllib3.request("GET", f"http://127.0.0.1:{port}/-/ready", timeout=5)
    assert ready.status == 200


def test_mail_goes_through_the_kept_alive_smtp_server(rt: Runtime, kept: KeptAlive) -> None:
    set_config(rt, "service.mail", {"port": free_port(), "password": "hunter2"})
    [health] = kept.tick(("mail",))
    assert health.state == "RUNNING", health.error

    kept.registry.service("mail").poke().send("ops@example.org", "tick report 42", "all well")

    log = kept.processes.log_path("mail")
    wait_until(lambda: "tick report 42" in log.read_text(), timeout=10, what="mail in the log")
    assert "hunter2" not in log.read_text()


def test_the_database_service_fails_on_a_bad_url_and_recovers(rt: Runtime, kept: KeptAlive) -> None:
    [health] = kept.tick(("database",))
    assert health.state == "RUNNING", health.error

    set_config(rt, "service.database", {"url": "nosuchdb://nowhere/x", "ready_wait": 0})
    [health] = kept.tick(("database",))
    assert health.state == "FAILED"
    assert "nosuchdb" in health.error

    set_config(rt, "service.database", {"url": rt.settings.database_url})
    [health] = kept.tick(("database",))
    assert health.state == "RUNNING", health.error


def test_task_workers_are_counted(rt: Runtime, kept: KeptAlive, worker: Any) -> None:
    [health] = kept.tick(("task",))
    assert health.state == "RUNNING", health.error
    # A worker already answers, so none was started from the manifest.
    assert kept.processes.process("task") is None

    set_config(rt, "service.task", {"min_workers": 2, "manifest": False, "ready_wait": 0})
    [health] = kept.tick(("task",))
    assert health.state == "FAILED"
    assert "1 task worker(s) answer; 2 wanted" in health.error


def test_automation_off_reports_without_restarting(rt: Runtime, kept: KeptAlive) -> None:
    set_config(rt, "service.redis", {"port": free_port()})
    kept.tick(("redis",))
    first = pid_of(kept, "redis")
    kill(first)

    [health] = kept.tick(("redis",), automate=False)

    assert (health.state, health.outcome, health.error) == ("FAILED", "left", "automation is off")
    assert kept.processes.process("redis") is None


def test_service_info_and_refresh_over_the_api(api: ApiCaller, rt: Runtime) -> None:
    from tasks.services import kept_alive

    port = free_port()
    code, reply = api.post(
        "/js_admin/config_set", json_body={"name": "service.mail", "value": {"port": port,
                                                                            "password": "s3cret"}}
    )  # fmt: skip
    assert code == 200 and reply["config"]["service.mail"]["password"] == "***"
    code, reply = api.post("/js_admin/service_refresh", json_body={"name": "mail"})
    assert code == 200

    def running() -> bool:
        health = rt.state.fetch_service_health("mail")
        return bool(health) and health["state"] == "RUNNING"

    wait_until(running, timeout=30, what="mail RUNNING after service_refresh")
    code, reply = api.post("/js_admin/service_info", json_body={"name": "mail"})
    assert code == 200
    info = reply["service"]
    assert info["config"]["port"] == port and info["config"]["password"] == "***"
    assert info["health"]["state"] == "RUNNING"
    assert [event["state"] for event in info["history"]] == ["RUNNING"]

    code, reply = api.post("/js_admin/service_info", json_body={"name": "nosuch"})
    assert code == 400 and "no kept-alive service 'nosuch'" in reply["error"]
    kept_alive().shutdown()
    for name in kept_alive().processes.names():
        kept_alive().processes.stop(name)


def test_a_hung_service_process_is_replaced(rt: Runtime, kept: KeptAlive) -> None:
    port = free_port()
    set_config(rt, "service.redis", {"port": port, "ready_wait": 1})
    kept.tick(("redis",))
    hung = pid_of(kept, "redis")
    wait_until(lambda: kept.processes.process("redis") and _age(kept) > 1.0, timeout=5,
               what="past ready_wait")  # fmt: skip
    os.kill(hung, signal.SIGSTOP)  # alive, answering nothing
    try:
        [health] = kept.tick(("redis",))
    finally:
        if psutil.pid_exists(hung):
            os.kill(hung, signal.SIGCONT)

    assert (health.state, health.outcome) == ("RUNNING", "restarted")
    assert pid_of(kept, "redis") != hung
    assert redis.Redis(port=port).ping() is True


def _age(kept: KeptAlive) -> float:
    import time

    return time.time() - float(kept.processes.record("redis")["started"])
