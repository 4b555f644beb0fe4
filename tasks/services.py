"""Tasks on kept-alive services, and the KeptAlive of this worker process."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from jsorc.keepalive.watch import KeptAlive
from tasks.app import app, runtime

_kept_alive: KeptAlive | None = None
_lock = threading.Lock()


def kept_alive() -> KeptAlive:
    """This process's kept-alive services, built on first use for the current runtime."""
    global _kept_alive
    with _lock:
        if _kept_alive is None or _kept_alive.rt is not runtime():
            if _kept_alive is not None:
                _kept_alive.shutdown()
            _kept_alive = KeptAlive(runtime())
        return _kept_alive


@app.task(name="jsorc.refresh_service")
def refresh_service(name: str) -> dict[str, Any]:
    return dataclasses.asdict(kept_alive().refresh(name))
