"""The Celery application, and the Runtime each worker process builds once."""

from __future__ import annotations

import threading

from celery import Celery

from jsorc.admin import Dispatch
from jsorc.runtime import Runtime
from jsorc.settings import Settings

app = Celery(
    "jsorc",
    include=[
        "tasks.actions",
        "tasks.regeneration",
        "tasks.services",
        "tasks.policy",
        "tasks.measure",
    ],
)
app.config_from_object("celeryconfig")

_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> Runtime:
    """This process's Runtime, built from the environment on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(Settings.from_env())
        return _runtime


def use_runtime(rt: Runtime | None) -> None:
    """Make tasks in this process use `rt` (an embedding program, or a test)."""
    global _runtime
    with _runtime_lock:
        _runtime = rt


def celery_dispatch() -> Dispatch:
    """Dispatch that enqueues spawn and retire work as Celery tasks."""
    from tasks.actions import retire_action, spawn_action
    from tasks.services import refresh_service

    return Dispatch(
        spawn=lambda name: spawn_action.delay(name, reason="load"),
        retire=lambda name: retire_action.delay(name, reason="unload"),
        refresh_service=lambda name: refresh_service.delay(name),
    )
