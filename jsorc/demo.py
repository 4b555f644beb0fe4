"""The main job, `jsorc demo`: start the stack, manage real actions, stop, exit 0.

Registers the example configs, loads `text_tools` and `vectors` as modules and
`classifier` as a remote service, calls all three through the router, kills the
classifier's server and watches regeneration bring it back, unloads everything and
stops the stack. Exits non-zero if any step does not do what it should.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from typing import Any

import psutil

from jsorc.client import Client
from jsorc.settings import Settings
from jsorc.stack import Stack

# Seconds between regeneration ticks in the demo, unless JSORC_BACKOFF_INTERVAL says.
DEMO_BACKOFF_INTERVAL = 3.0
# Seconds the demo allows for an action server to start (sklearn trains in setup()).
START_ALLOWANCE = 60.0


class DemoFailed(Exception):
    pass


_last_seen: dict[str, str | None] = {}


def run_demo(settings: Settings) -> int:
    if "JSORC_BACKOFF_INTERVAL" not in os.environ:
        settings = dataclasses.replace(settings, backoff_interval=DEMO_BACKOFF_INTERVAL)
    started = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - started:6.2f}s] {message}", flush=True)

    say("starting the stack (private Redis, SQLite, local backend)")
    stack = Stack(settings, api_port=0).start(announce=lambda line: say("  " + line))
    try:
        _scenario(stack, say)
    except DemoFailed as exc:
        say(f"DEMO FAILED: {exc}")
        return 1
    finally:
        stack.stop(announce=say)
    say("demo finished: every step did what it should")
    return 0


def _scenario(stack: Stack, say: Any) -> None:
    settings = stack.settings
    client = Client(
        stack.api_url,
        redis_url=settings.redis_url,
        allowed_modules=settings.allowed_modules,
        token=settings.api_token,
    )
    for name in ("text_tools", "vectors", "classifier"):
        client.configure(name, "jsorc_examples.config")
    say("registered configs from jsorc_examples.config: text_tools, vectors, classifier")

    client.load("text_tools", "module")
    client.load("vectors", "module")
    say("loaded text_tools and vectors as modules")
    placed = client.load("classifier", "remote")
    say(f"classifier load returned at once: mode={placed['mode']} status={placed['status']}")
    ready = _watch(client, "classifier", "READY", say, timeout=START_ALLOWANCE)
    say(f"classifier READY at {ready['url']} serving {ready['functions']}")

    with client.router() as router:
        text = "JSORC places actions; actions run in-process or as remote actions."
        say(f"text_tools.word_count -> {router.call('text_tools.word_count', text)}")
        say(f"text_tools.keywords   -> {router.call('text_tools.keywords', text, top=2)}")
        say(f"text_tools.join       -> {router.call('text_tools.join', 'a', 'b', sep='+')!r}")
        similarity = router.call("vectors.cosine_similarity", [1, 0, 1], [1, 1, 0])
        say(f"vectors.cosine_similarity([1,0,1],[1,1,0]) -> {similarity:.3f}")
        flower = [6.7, 3.0, 5.2, 2.3]
        say(f"classifier.predict({flower}) -> {router.call('classifier.predict', flower)}")
        say(f"classifier.info -> {router.call('classifier.info')}")

        pid = stack_server_pid(stack, "classifier")
        say(f"killing the classifier's server (pid {pid}) with SIGKILL")
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        _watch(client, "classifier", "STARTING", say, timeout=4 * settings.backoff_interval)
        healed = _watch(client, "classifier", "READY", say, timeout=START_ALLOWANCE)
        took = time.monotonic() - killed_at
        say(
            f"regeneration brought classifier back at {healed['url']} in {took:.1f}s "
            f"(backoff_interval {settings.backoff_interval:g}s)"
        )
        new_pid = stack_server_pid(stack, "classifier")
        if new_pid == pid:
            raise DemoFailed("the classifier's server has the pid of the killed one")
        say(
            f"classifier.predict after healing -> "
            f"{router.call('classifier.predict', [5.0, 3.4, 1.5, 0.2])['species']}"
        )

    for name in ("text_tools", "vectors", "classifier"):
        client.unload(name)
    _watch(client, "classifier", None, say, timeout=30)
    if psutil.pid_exists(new_pid) and psutil.Process(new_pid).status() != psutil.STATUS_ZOMBIE:
        raise DemoFailed(f"the classifier's server (pid {new_pid}) still runs after unload")
    say(f"unloaded all three; the classifier's server (pid {new_pid}) is gone")


def _watch(
    client: Client, name: str, status: str | None, say: Any, *, timeout: float
) -> dict[str, Any]:
    """Poll until `name` reaches `status`, printing each status it passes through."""
    deadline = time.monotonic() + timeout
    seen = _last_seen.get(name)
    while time.monotonic() < deadline:
        current = client.status(name)
        if current["status"] != seen:
            seen = _last_seen[name] = current["status"]
            say(f"  {name}: {seen or 'not loaded'}")
        if current["status"] == status:
            return current
        time.sleep(0.1)
    raise DemoFailed(f"{name} did not reach {status or 'unloaded'} within {timeout:g}s")


def stack_server_pid(stack: Stack, name: str) -> int:
    from jsorc.backends.local import LocalBackend
    from jsorc.state import StateStore

    state = StateStore.from_url(stack.settings.redis_url)
    try:
        pid = LocalBackend(state=state, home=stack.settings.home).pid(name)
    finally:
        state.client.close()
    if pid is None:
        raise DemoFailed(f"no running server recorded for {name!r}")
    return pid
