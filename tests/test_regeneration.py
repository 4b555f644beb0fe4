"""Regeneration: a killed action server comes back; ticks are single-flight; the local
backend's records let a fresh process find and judge running servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psutil
import pytest

from jsorc import admin, keys
from jsorc.admin import Dispatch
from jsorc.backends.local import LocalBackend
from jsorc.errors import ActionNotReady
from jsorc.placement import READY
from jsorc.regeneration import run_tick
from jsorc.router import Router
from jsorc.runtime import Runtime
from jsorc.spawning import spawn_action
from tests.conftest import wait_until


def start_remote(rt: Runtime, dispatch: Dispatch, name: str = "text_tools") -> int:
    admin.configure(rt, name, "jsorc_examples.config")
    placement = admin.load(rt, name, "remote", dispatch=dispatch)
    assert rt.state.fetch_placement(name).status == READY, placement
    pid = rt.backend.pid(name)
    assert pid is not None
    return pid


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
        timeout=5,
        what=f"pid {pid} dead",
    )


def test_a_healthy_tick_changes_nothing(rt: Runtime, inline_dispatch: Dispatch) -> None:
    pid = start_remote(rt, inline_dispatch)
    respawned: list[str] = []
    report = run_tick(rt, respawn=respawned.append)
    assert (report.skipped, report.checked, respawned) == (False, 1, [])
    assert rt.backend.pid("text_tools") == pid


def test_a_killed_server_is_respawned_by_the_next_tick(
    rt: Runtime, inline_dispatch: Dispatch
) -> None:
    pid = start_remote(rt, inline_dispatch)
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules) as router:
        assert router.call("text_tools.word_count", "one two") == 2
        kill(pid)
        with pytest.raises(ActionNotReady, match="action server of 'text_tools'"):
            router.call("text_tools.word_count", "one two")

        report = run_tick(rt, respawn=lambda name: spawn_action(rt, name, reason="regeneration"))

        assert report.respawned == ["text_tools"]
        assert rt.state.fetch_placement("text_tools").status == READY
        assert rt.backend.pid("text_tools") not in (None, pid)
        # The router follows the new server without being told.
        wait_until(lambda: _calls_through(router), timeout=5, what="router uses the new server")
    history = [e["reason"] for e in rt.db.placement_history("text_tools")]
    assert any("server process is gone" in reason for reason in history)


def _calls_through(router: Router) -> bool:
    try:
        return router.call("text_tools.word_count", "one two three") == 3
    except ActionNotReady:
        return False


def test_a_server_that_stops_answering_is_replaced(rt: Runtime, inline_dispatch: Dispatch) -> None:
    pid = start_remote(rt, inline_dispatch)
    os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        report = run_tick(rt, respawn=lambda name: spawn_action(rt, name))
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGCONT)
    assert report.respawned == ["text_tools"]
    assert rt.state.fetch_placement("text_tools").status == READY
    assert rt.backend.pid("text_tools") not in (None, pid)
    wait_until(
        lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
        timeout=15,
        what="the hung server stopped",
    )


def test_two_concurrent_ticks_do_not_both_act(rt: Runtime, inline_dispatch: Dispatch) -> None:
    kill(start_remote(rt, inline_dispatch))
    first_inside = threading.Event()
    release_first = threading.Event()
    respawns: list[str] = []

    def slow_respawn(name: str) -> None:
        respawns.append(name)
        first_inside.set()
        release_first.wait(10)

    reports: list[Any] = []
    first = threading.Thread(target=lambda: reports.append(run_tick(rt, respawn=slow_respawn)))
    first.start()
    assert first_inside.wait(10)
    second = run_tick(rt, respawn=slow_respawn)  # while the first holds the lock
    release_first.set()
    first.join(10)

    assert second.skipped is True
    assert reports[0].skipped is False
    assert respawns == ["text_tools"]
    counts = rt.state.tick_counts()
    assert (counts["run"], counts["skipped"]) == (1, 1)
    assert rt.state.client.get(keys.REGENERATION_LOCK) is None


def test_many_threads_racing_give_one_tick(rt: Runtime, inline_dispatch: Dispatch) -> None:
    kill(start_remote(rt, inline_dispatch))
    barrier = threading.Barrier(8)
    respawns: list[str] = []

    def racer() -> None:
        barrier.wait()
        run_tick(rt, respawn=lambda name: (respawns.append(name), time.sleep(0.5)))

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert respawns == ["text_tools"]
    assert rt.state.tick_counts()["run"] == 1


def test_a_fresh_process_finds_the_server_again(rt: Runtime, inline_dispatch: Dispatch) -> None:
    pid = start_remote(rt, inline_dispatch)
    url = rt.state.fetch_placement("text_tools").url
    script = (
        "import sys; from jsorc.state import StateStore; from jsorc.backends.local import "
        "LocalBackend; b = LocalBackend(state=StateStore.from_url(sys.argv[1]), home=sys.argv[2]);"
        " print(b.pid('text_tools'), b.url('text_tools'), b.alive('text_tools'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, rt.settings.redis_url, str(rt.settings.home)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [str(pid), url, "True"]


def test_a_reused_pid_is_not_taken_for_the_server(rt: Runtime) -> None:
    me = psutil.Process()
    rt.state.save_process(
        "action",
        "text_tools",
        {
            "pid": me.pid,
            "create_time": me.create_time() - 100,
            "url": "http://127.0.0.1:9",
            "log": "",
            "started": 0,
        },
    )
    backend = LocalBackend(state=rt.state, home=rt.settings.home)
    assert backend.alive("text_tools") is False
    assert backend.retire("text_tools") is False  # and it did not signal this process
    assert rt.state.fetch_process("action", "text_tools") is None


def test_regeneration_task_heals_through_the_worker(rt: Runtime, worker: Any) -> None:
    from tasks.app import celery_dispatch
    from tasks.regeneration import regenerate

    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", "remote", dispatch=celery_dispatch())
    wait_until(
        lambda: (p := rt.state.fetch_placement("text_tools")) and p.status == READY,
        timeout=60,
        what="READY",
    )
    pid = rt.backend.pid("text_tools")
    kill(pid)

    result = regenerate.delay().get(timeout=30)

    assert result["respawned"] == ["text_tools"]
    wait_until(
        lambda: (
            rt.state.fetch_placement("text_tools").status == READY
            and rt.backend.pid("text_tools") not in (None, pid)
        ),
        timeout=60,
        what="respawned READY",
    )


@pytest.mark.timeout(180)
def test_beat_fires_regeneration_and_heals_a_kill(rt: Runtime, worker: Any) -> None:
    """The real Beat process on django-celery-beat's database schedule, every 2 s."""
    from tasks.app import celery_dispatch

    admin.configure(rt, "text_tools", "jsorc_examples.config")
    admin.load(rt, "text_tools", "remote", dispatch=celery_dispatch())
    wait_until(
        lambda: rt.state.fetch_placement("text_tools").status == READY, timeout=60, what="READY"
    )
    env = {**os.environ, **rt.settings.to_env()}
    log = rt.settings.home / "beat.log"
    with open(log, "wb") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", "jsorc.cli", "beat"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: rt.state.tick_counts().get("run", 0) >= 2,
            timeout=60,
            what="two Beat-driven ticks",
        )
        pid = rt.backend.pid("text_tools")
        kill(pid)
        wait_until(
            lambda: (
                rt.state.fetch_placement("text_tools").status == READY
                and rt.backend.pid("text_tools") not in (None, pid)
            ),
            timeout=60,
            what="healed by a Beat tick",
        )
    finally:
        beat.terminate()
        beat.wait(15)
    assert "Sending due task jsorc regeneration" in log.read_text()
