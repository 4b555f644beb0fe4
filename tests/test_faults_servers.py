"""Faults of action servers: one that hangs (SIGSTOP), one that answers garbage, one that
dies mid-call. Must hold: the caller gets a clear JsorcError within a bound, never a hang;
a hung server is replaced by the next regeneration tick."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest

from jsorc.admin import Dispatch
from jsorc.errors import ActionCallError, ActionNotReady, JsorcError
from jsorc.placement import READY, REMOTE, Placement
from jsorc.regeneration import run_tick
from jsorc.router import Router
from jsorc.runtime import Runtime
from tests.test_regeneration import start_remote

# Seconds a remote call may take in these tests; the bound the caller is promised.
CALL_TIMEOUT = 2.0
# Seconds the test allows past that bound before calling it a hang.
GRACE = 10.0
SPEC = {"fake.echo": ["text"]}


def call_within_bound(router: Router, name: str, *args: Any) -> BaseException:
    """The error a call raised; fails the test when the call did not return in time."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(router.call, name, *args)
        error = future.exception(timeout=CALL_TIMEOUT + GRACE)
    assert error is not None, "the call succeeded against a broken server"
    return error


def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 whose every connection goes to `handle`; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def place_fake(rt: Runtime, url: str) -> None:
    rt.state.save_placement(Placement(name="fake", mode=REMOTE, status=READY, url=url, spec=SPEC))


@pytest.fixture
def router(rt: Runtime) -> Iterator[Router]:
    with Router(
        rt.state, allowed_modules=rt.settings.allowed_modules, call_timeout=CALL_TIMEOUT
    ) as router:
        yield router


def test_a_hung_server_gives_a_clear_error_and_is_replaced_next_tick(
    rt: Runtime, inline_dispatch: Dispatch, router: Router
) -> None:
    pid = start_remote(rt, inline_dispatch)
    assert router.call("text_tools.word_count", "one two") == 2
    os.kill(pid, signal.SIGSTOP)
    try:
        error = call_within_bound(router, "text_tools.word_count", "a b c")
        assert isinstance(error, ActionNotReady)
        assert "action server of 'text_tools'" in str(error) and "timed out" in str(error)

        respawned: list[str] = []
        report = run_tick(rt, respawn=respawned.append)
        assert respawned == ["text_tools"] and report.respawned == ["text_tools"]
        inline_dispatch.spawn("text_tools")
    finally:
        if psutil.pid_exists(pid):  # the respawn has killed it, unless it failed first
            os.kill(pid, signal.SIGCONT)
    # Recovered within one tick: a new server answers.
    assert rt.backend.pid("text_tools") != pid
    assert router.call("text_tools.word_count", "a b c") == 3


@pytest.mark.parametrize(
    ("reply", "kind", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\x00garbage", ActionCallError, "not JSON"),
        (b"NOT HTTP AT ALL\r\n\r\n", ActionNotReady, "failed"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"par', ActionNotReady, "failed"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n[]", ActionCallError, "failed (500)"),
    ],
    ids=["not-json", "not-http", "cut-short", "error-status"],
)
def test_a_server_answering_garbage_gives_a_clear_error(
    rt: Runtime, router: Router, reply: bytes, kind: type[JsorcError], message: str
) -> None:
    def answer(conn: socket.socket) -> None:
        with conn:
            read_request(conn)
            conn.sendall(reply)

    for url in raw_server(answer):
        place_fake(rt, url)
        router.sync(force=True)
        error = call_within_bound(router, "fake.echo", "hi")
        assert isinstance(error, kind), error
        assert message in str(error)


def test_a_server_that_dies_mid_call_gives_a_clear_error(rt: Runtime, router: Router) -> None:
    def die(conn: socket.socket) -> None:
        read_request(conn)
        conn.close()  # the request was read, then the server went away without a word

    for url in raw_server(die):
        place_fake(rt, url)
        router.sync(force=True)
        error = call_within_bound(router, "fake.echo", "hi")
    assert isinstance(error, ActionNotReady)
    assert "action server of 'fake'" in str(error)


def test_a_server_that_never_answers_gives_a_clear_error(rt: Runtime, router: Router) -> None:
    def silent(conn: socket.socket) -> None:
        read_request(conn)
        threading.Event().wait(CALL_TIMEOUT + GRACE)
        conn.close()

    for url in raw_server(silent):
        place_fake(rt, url)
        router.sync(force=True)
        error = call_within_bound(router, "fake.echo", "hi")
    assert isinstance(error, ActionNotReady) and "timed out" in str(error)


def test_a_killed_server_gives_a_clear_error(
    rt: Runtime, inline_dispatch: Dispatch, router: Router
) -> None:
    pid = start_remote(rt, inline_dispatch)
    assert router.call("text_tools.word_count", "one") == 1
    os.kill(pid, signal.SIGKILL)
    error = call_within_bound(router, "text_tools.word_count", "one")
    assert isinstance(error, ActionNotReady)
