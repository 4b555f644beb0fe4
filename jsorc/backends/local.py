"""The local backend: action servers as detached processes on 127.0.0.1.

Each server binds a free port itself and writes it to a port file, so no two servers
race for a port; its URL joins its process record (see `processes.py`), through which a
restarted worker finds it again. Supervision is regeneration's job; this module only
starts, checks and stops.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from jsorc.actions.configs import ActionConfig
from jsorc.backends.processes import DetachedProcesses, running
from jsorc.errors import BackendError
from jsorc.state import StateStore

logger = logging.getLogger(__name__)

# Seconds between checks while a server starts.
START_POLL = 0.05


class LocalBackend:
    def __init__(self, *, state: StateStore, home: Path) -> None:
        run_dir = Path(home) / "servers"
        self.processes = DetachedProcesses(state=state, kind="action", run_dir=run_dir)

    def spawn(self, config: ActionConfig, *, timeout: float) -> str:
        port_file = self.processes.run_dir / f"{config.name}.port"
        port_file.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "jsorc.server", "--name", config.name,
            "--module", config.module, "--loaded-module", config.loaded_module,
            "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file),
        ]  # fmt: skip
        process = self.processes.start(config.name, command)
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if not running(process):
                raise BackendError(
                    f"action server {config.name!r} exited while starting:\n"
                    f"{self.processes.log_tail(config.name)}"
                )
            if time.monotonic() > deadline:
                self.retire(config.name)
                raise BackendError(
                    f"action server {config.name!r} did not listen within {timeout:g}s:\n"
                    f"{self.processes.log_tail(config.name)}"
                )
            time.sleep(START_POLL)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self.processes.save(config.name, {**self.processes.record(config.name), "url": url})
        return url

    def alive(self, name: str) -> bool:
        return self.processes.process(name) is not None

    def url(self, name: str) -> str | None:
        return (self.processes.record(name) or {}).get("url") or None

    def pid(self, name: str) -> int | None:
        process = self.processes.process(name)
        return None if process is None else process.pid

    def retire(self, name: str) -> bool:
        (self.processes.run_dir / f"{name}.port").unlink(missing_ok=True)
        return self.processes.stop(name)

    def names(self) -> list[str]:
        return self.processes.names()
