"""Detached processes on this machine, each known by a kind and a name.

A process is started through `detach.py`, so it runs in its own session, outlives the
worker that asked for it and is never left a zombie. Its pid and start time are recorded
in Redis and in a JSON file beside its log (for when Redis loses them); a pid is only
taken for the process if its start time matches, so a reused pid is never signalled.
Not here: what the process is (action server, Redis, ...) or when to start it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from jsorc.errors import BackendError
from jsorc.state import StateStore

logger = logging.getLogger(__name__)

# Seconds a process has to exit after SIGTERM before it is killed.
STOP_GRACE = 5.0
# Bytes of a log quoted when a process fails.
LOG_TAIL = 2000
# Seconds the launcher may take.
LAUNCH_TIMEOUT = 30.0


class DetachedProcesses:
    def __init__(self, *, state: StateStore, kind: str, run_dir: Path) -> None:
        self.state = state
        self.kind = kind
        self.run_dir = Path(run_dir)

    def start(
        self, name: str, command: list[str], *, env: Mapping[str, str] | None = None
    ) -> psutil.Process:
        """Launch `command` detached, record it, and return its process."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path(name)
        pid = _detach(command, log, env=env)
        process = psutil.Process(pid)
        self.save(name, {"pid": pid, "create_time": process.create_time(), "log": str(log),
                         "started": time.time()})  # fmt: skip
        logger.info("Started %s process %r as pid %d.", self.kind, name, pid)
        return process

    def save(self, name: str, record: Mapping[str, Any]) -> None:
        self.state.save_process(self.kind, name, record)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self._record_file(name)
        path.with_suffix(".tmp").write_text(json.dumps(dict(record)))
        path.with_suffix(".tmp").replace(path)

    def record(self, name: str) -> dict[str, str] | None:
        """The record from Redis, or from its file when Redis lost it (then put back)."""
        record = self.state.fetch_process(self.kind, name)
        if record:
            return record
        try:
            stored = json.loads(self._record_file(name).read_text())
        except (OSError, ValueError):
            return None
        self.state.save_process(self.kind, name, stored)
        return {key: str(value) for key, value in stored.items()}

    def process(self, name: str) -> psutil.Process | None:
        """The recorded process if it still runs (same pid and start time), else None."""
        record = self.record(name)
        if not record:
            return None
        try:
            process = psutil.Process(int(record["pid"]))
            same = abs(process.create_time() - float(record["create_time"])) < 0.01
        except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, ValueError):
            return None
        return process if same and running(process) else None

    def stop(self, name: str) -> bool:
        """Stop the process, then forget it; False when none was running."""
        process = self.process(name)
        if process is not None:
            _terminate(process)
            logger.info("Stopped %s process %r (pid %d).", self.kind, name, process.pid)
        self.state.delete_process(self.kind, name)
        self._record_file(name).unlink(missing_ok=True)
        return process is not None

    def names(self) -> list[str]:
        on_disk = {path.stem for path in self.run_dir.glob("*.json")}
        return sorted(set(self.state.process_names(self.kind)) | on_disk)

    def log_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def log_tail(self, name: str) -> str:
        try:
            return self.log_path(name).read_bytes()[-LOG_TAIL:].decode(errors="replace")
        except OSError:
            return "(no log)"

    def _record_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _detach(command: list[str], log: Path, *, env: Mapping[str, str] | None) -> int:
    child_env = dict(os.environ if env is None else env)
    paths = [os.getcwd(), child_env.get("PYTHONPATH")]
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    launched = subprocess.run(
        [sys.executable, "-m", "jsorc.backends.detach", str(log), "--", *command],
        capture_output=True, text=True, env=child_env, timeout=LAUNCH_TIMEOUT,
    )  # fmt: skip
    if launched.returncode != 0:
        raise BackendError(f"could not launch {command[0]!r}: {launched.stderr.strip()}")
    return int(launched.stdout.strip())


def _terminate(process: psutil.Process) -> None:
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(STOP_GRACE)
    except psutil.TimeoutExpired:
        logger.warning("pid %d ignored SIGTERM; killing it.", process.pid)
        process.kill()
        process.wait(STOP_GRACE)
    except psutil.NoSuchProcess:
        pass
