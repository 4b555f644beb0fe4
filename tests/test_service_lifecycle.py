"""The service lifecycle: states, hooks and their order, flags from config, poke's errors,
and background daemons started and stopped by name. Pure Python: no Redis, no Celery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jsorc.errors import JsorcError
from jsorc.services import Service, ServiceError, ServiceNotRunning, ServiceState
from tests.conftest import wait_until

# Seconds any test waits for a thread to do its part before failing.
WAIT = 5.0


class Recorded(Service[dict[str, str]]):
    """Records each hook it runs; `fail_with` makes run() raise that error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[str] = []
        self.fail_with: Exception | None = None
        self.seen_in_run: list[ServiceState] = []

    def run(self) -> None:
        self.calls.append("run")
        self.seen_in_run.append(self.state)
        if self.fail_with is not None:
            raise self.fail_with
        self.app = {"client": self.name}

    def post_run(self) -> None:
        self.calls.append("post_run")

    def failed(self, error: Exception) -> None:
        self.calls.append(f"failed:{error}")

    def on_delete(self) -> None:
        self.calls.append(f"on_delete:daemons={self.daemons.names()}")


@pytest.fixture
def svc() -> Iterator[Recorded]:
    service = Recorded(name="cache", config={"host": "127.0.0.1"})
    yield service
    assert service.stop_daemons(timeout=WAIT)


def test_a_new_service_is_not_started_and_poke_says_so(svc: Recorded) -> None:
    assert svc.state is ServiceState.NOT_STARTED
    assert not svc.is_running()
    with pytest.raises(ServiceNotRunning) as caught:
        svc.poke()
    assert isinstance(caught.value, JsorcError)
    assert (
        str(caught.value)
        == "service 'cache' is not running (state NOT_STARTED): it has not been started"
    )


def test_start_runs_run_then_post_run_and_poke_returns_the_client(svc: Recorded) -> None:
    assert svc.start() is svc

    assert svc.calls == ["run", "post_run"]
    assert svc.seen_in_run == [ServiceState.STARTED]
    assert svc.state is ServiceState.RUNNING
    assert svc.is_running()
    assert svc.poke() == {"client": "cache"}
    assert svc.error is None


def test_start_is_idempotent_once_running(svc: Recorded) -> None:
    svc.start()
    svc.start()
    svc.start(raise_error=True)
    assert svc.calls == ["run", "post_run"]


def test_a_failing_run_leaves_the_service_failed_with_its_error(svc: Recorded) -> None:
    refused = ConnectionError("refused by 127.0.0.1:6390")
    svc.fail_with = refused

    svc.start()  # does not raise

    assert svc.state is ServiceState.FAILED
    assert svc.error is refused
    assert svc.last_error == "ConnectionError: refused by 127.0.0.1:6390"
    assert svc.calls == ["run", "failed:refused by 127.0.0.1:6390"]  # no post_run
    with pytest.raises(ServiceNotRunning) as caught:
        svc.poke()
    assert str(caught.value).startswith(
        "service 'cache' is not running (state FAILED): ConnectionError: refused by 127.0.0.1:6390;"
    )
    assert caught.value.state == "FAILED"
    assert caught.value.error == "ConnectionError: refused by 127.0.0.1:6390"


def test_start_raises_only_when_asked_and_chains_the_error(svc: Recorded) -> None:
    svc.fail_with = TimeoutError("no answer in 2 s")
    with pytest.raises(ServiceNotRunning) as caught:
        svc.start(raise_error=True)
    assert caught.value.__cause__ is svc.fail_with
    assert svc.state is ServiceState.FAILED


def test_a_failed_service_starts_again_when_run_succeeds(svc: Recorded) -> None:
    svc.fail_with = ConnectionError("refused")
    svc.start()
    svc.fail_with = None

    svc.start()

    assert svc.state is ServiceState.RUNNING
    assert svc.error is None
    assert svc.calls == ["run", "failed:refused", "run", "post_run"]


def test_a_failing_post_run_fails_the_service() -> None:
    class BadPostRun(Recorded):
        def post_run(self) -> None:
            super().post_run()
            raise RuntimeError("schema check failed")

    svc = BadPostRun(name="db")
    svc.start()
    assert svc.state is ServiceState.FAILED
    assert svc.calls == ["run", "post_run", "failed:schema check failed"]


def test_a_failed_hook_that_raises_does_not_escape(svc: Recorded) -> None:
    def broken_failed(error: Exception) -> None:
        raise ValueError("bug in failed()")

    svc.failed = broken_failed  # type: ignore[method-assign]
    svc.fail_with = ConnectionError("refused")
    svc.start()
    assert svc.state is ServiceState.FAILED
    assert svc.last_error == "ConnectionError: refused"


def test_a_failure_warns_unless_quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud = Recorded(name="loud")
    quiet = Recorded(name="hushed", config={"quiet": True})
    loud.fail_with = quiet.fail_with = ConnectionError("refused")

    with caplog.at_level(logging.DEBUG, logger="jsorc.services"):
        loud.start()
        quiet.start()

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["Service 'loud' failed to start: refused"]
    assert quiet.state is ServiceState.FAILED


@pytest.mark.parametrize(
    "make",
    [
        lambda: Recorded(name="mail", config={"enabled": False}),
        lambda: type("Off", (Recorded,), {"enabled": False})(name="mail"),
    ],
    ids=["by-config", "by-class"],
)
def test_a_disabled_service_never_runs(make: Any) -> None:
    svc = make()
    svc.start()
    svc.start()
    assert svc.calls == []
    assert svc.state is ServiceState.NOT_STARTED
    with pytest.raises(ServiceNotRunning, match="^service 'mail' is disabled by its config"):
        svc.poke()
    with pytest.raises(ServiceNotRunning):
        svc.start(raise_error=True)


def test_check_fails_a_running_service_whose_health_check_raises(svc: Recorded) -> None:
    checks: list[str] = []
    lost = ConnectionError("connection lost")

    def check_health() -> None:
        checks.append(svc.state)
        if len(checks) > 1:
            raise lost

    svc.check_health = check_health  # type: ignore[method-assign]
    assert svc.check() is False  # not running: the hook is not asked
    svc.start()

    assert svc.check() is True
    assert svc.check() is False
    assert checks == [ServiceState.RUNNING, ServiceState.RUNNING]
    assert (svc.state, svc.error) == (ServiceState.FAILED, lost)
    assert svc.calls == ["run", "post_run", "failed:connection lost"]

    svc.start()  # regeneration's retry
    assert svc.is_running()


def test_flags_come_from_config_then_constructor_then_class() -> None:
    assert Recorded(name="a").automated is True  # class default
    assert Recorded(name="b", automated=False).automated is False
    assert Recorded(name="c", automated=False, config={"automated": True}).automated is True
    assert Recorded(name="d", config={"quiet": True}).quiet is True
    with pytest.raises(ServiceError, match="'enabled' must be true or false, not 'no'"):
        Recorded(name="e", config={"enabled": "no"})


def test_config_and_manifest_are_copied_not_shared() -> None:
    config = {"host": "127.0.0.1", "port": 6390}
    manifest = {"Deployment": {"name": "redis"}}
    svc = Recorded(name="redis", config=config, manifest=manifest)
    config["port"] = 1
    manifest.clear()
    assert svc.config == {"host": "127.0.0.1", "port": 6390}
    assert svc.manifest == {"Deployment": {"name": "redis"}}


def test_the_name_defaults_to_the_class_name() -> None:
    assert Recorded().name == "Recorded"


def test_delete_stops_daemons_then_calls_on_delete(svc: Recorded) -> None:
    svc.start()
    svc.start_daemon("heartbeat", lambda stop: stop.wait(WAIT))

    svc.delete()

    assert svc.calls == ["run", "post_run", "on_delete:daemons=[]"]
    assert svc.state is ServiceState.NOT_STARTED
    assert svc.app is None
    with pytest.raises(ServiceNotRunning):
        svc.poke()


def test_reset_forgets_without_on_delete_and_allows_a_new_start(svc: Recorded) -> None:
    svc.fail_with = ConnectionError("refused")
    svc.start()
    svc.reset()
    assert svc.state is ServiceState.NOT_STARTED
    assert svc.error is None

    svc.fail_with = None
    svc.start()
    assert svc.calls == ["run", "failed:refused", "run", "post_run"]


def test_many_threads_starting_at_once_run_it_once() -> None:
    svc = Recorded(name="shared")
    barrier = threading.Barrier(12)

    def start() -> None:
        barrier.wait(WAIT)
        svc.start()

    threads = [threading.Thread(target=start) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert svc.calls == ["run", "post_run"]


# Daemons. A second start of a live name is a documented no-op that returns False.


def test_a_daemon_gets_its_stop_event_and_arguments(svc: Recorded) -> None:
    got: list[Any] = []
    running = threading.Event()

    def beat(stop: threading.Event, interval: float, *, label: str) -> None:
        got.append((interval, label))
        running.set()
        stop.wait(WAIT)

    assert svc.start_daemon("beat", beat, args=(0.5,), kwargs={"label": "x"}) is True
    assert running.wait(WAIT)
    assert got == [(0.5, "x")]
    assert svc.daemons.names() == ["beat"]


def test_a_second_start_of_a_live_daemon_is_a_no_op(svc: Recorded) -> None:
    entered: list[str] = []
    first_running = threading.Event()

    def first(stop: threading.Event) -> None:
        entered.append("first")
        first_running.set()
        stop.wait(WAIT)

    def second(stop: threading.Event) -> None:
        entered.append("second")

    assert svc.start_daemon("poller", first)
    assert first_running.wait(WAIT)
    assert svc.start_daemon("poller", second) is False

    assert svc.stop_daemon("poller") is True
    assert entered == ["first"]
    assert svc.daemons.names() == []


def test_a_stopped_daemon_name_can_start_again(svc: Recorded) -> None:
    runs: list[int] = []

    def loop(stop: threading.Event) -> None:
        runs.append(1)
        stop.wait(WAIT)

    assert svc.start_daemon("loop", loop)
    assert svc.stop_daemon("loop")
    assert svc.start_daemon("loop", loop)
    assert svc.stop_daemon("loop")
    assert len(runs) == 2


def test_stop_daemons_stops_every_one_by_name(svc: Recorded) -> None:
    for name in ("a", "b", "c"):
        svc.start_daemon(name, lambda stop: stop.wait(WAIT))
    assert svc.daemons.names() == ["a", "b", "c"]

    assert svc.stop_daemon("b") is True
    assert svc.daemons.names() == ["a", "c"]
    assert svc.stop_daemons() is True
    assert svc.daemons.names() == []
    assert svc.stop_daemon("never-started") is True


def test_a_daemon_that_ignores_its_stop_event_stays_registered(svc: Recorded) -> None:
    release = threading.Event()
    assert svc.start_daemon("stubborn", lambda stop: release.wait(WAIT))

    assert svc.stop_daemon("stubborn", timeout=0.05) is False
    assert svc.daemons.is_alive("stubborn")
    assert svc.start_daemon("stubborn", lambda stop: None) is False  # never two of a name

    release.set()
    assert svc.stop_daemon("stubborn", timeout=WAIT) is True
    assert not svc.daemons.is_alive("stubborn")


def test_a_daemon_that_raises_is_logged_and_ends(
    svc: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(stop: threading.Event) -> None:
        raise RuntimeError("boom")

    message = "Daemon 'crasher' of 'cache' raised; it has ended."
    with caplog.at_level(logging.WARNING, logger="jsorc.services"):
        assert svc.start_daemon("crasher", crash)
        wait_until(lambda: message in caplog.messages, timeout=WAIT, what="the crash logged")
    wait_until(lambda: not svc.daemons.is_alive("crasher"), timeout=WAIT, what="thread ended")
    assert svc.daemons.names() == []
