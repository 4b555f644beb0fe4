"""The local backend: action servers as detached processes on 127.0.0.1.

Each server binds a free port itself and writes it to a port file, so no two servers
race for a port. Its pid, start time and URL are recorded in Redis (and in a file beside
its log, for when Redis loses them): a restarted worker finds the server again, and a
reused pid is never mistaken for it. Supervision is
regeneration's job; this module only starts, checks and stops.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from jsorc.actions.configs import ActionConfig
from jsorc.errors import BackendError
from jsorc.state import StateStore

logger = logging.getLogger(__name__)

# Seconds between checks while a server starts.
START_POLL = 0.05
# Seconds a server has to exit after SIGTERM before it is killed.
STOP_GRACE = 5.0
# Bytes of a server's log quoted when it fails to start.
LOG_TAIL = 2000


class LocalBackend:
    def __init__(self, *, state: StateStore, home: Path) -> None:
        self.state = state
        self.run_dir = Path(home) / "servers"

    def spawn(self, config: ActionConfig, *, timeout: float) -> str:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.run_dir / f"{config.name}.port"
        log_file = self.run_dir / f"{config.name}.log"
        port_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "jsorc.server",
            "--name",
            config.name,
            "--module",
            config.module,
            "--loaded-module",
            config.loaded_module,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
        ]
        pid = _detach(command, log_file)
        process = psutil.Process(pid)
        record = {
            "pid": pid,
            "create_time": process.create_time(),
            "url": "",
            "log": str(log_file),
            "started": time.time(),
        }
        self._save(config.name, record)
        logger.info("Started action server %r as pid %d.", config.name, pid)

        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if not _running(process):
                raise BackendError(
                    f"action server {config.name!r} exited while starting:\n{_tail(log_file)}"
                )
            if time.monotonic() > deadline:
                self.retire(config.name)
                raise BackendError(
                    f"action server {config.name!r} did not listen within {timeout:g}s:\n"
                    f"{_tail(log_file)}"
                )
            time.sleep(START_POLL)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self._save(config.name, {**record, "url": url})
        return url

    def alive(self, name: str) -> bool:
        return self._process(name) is not None

    def url(self, name: str) -> str | None:
        record = self._record(name)
        return (record or {}).get("url") or None

    def pid(self, name: str) -> int | None:
        process = self._process(name)
        return None if process is None else process.pid

    def retire(self, name: str) -> bool:
        """Stop the server, then forget it: the record goes only once the process has."""
        process = self._process(name)
        if process is not None:
            _stop(process)
            logger.info("Stopped action server %r (pid %d).", name, process.pid)
        self.state.delete_server(name)
        (self.run_dir / f"{name}.port").unlink(missing_ok=True)
        self._record_file(name).unlink(missing_ok=True)
        return process is not None

    def names(self) -> list[str]:
        on_disk = {path.stem for path in self.run_dir.glob("*.json")}
        return sorted(set(self.state.fetch_servers()) | on_disk)

    def _save(self, name: str, record: dict) -> None:
        self.state.save_server(name, record)
        path = self._record_file(name)
        path.with_suffix(".tmp").write_text(json.dumps(record))
        path.with_suffix(".tmp").replace(path)

    def _record(self, name: str) -> dict | None:
        """The server's record from Redis, or from its file when Redis lost it."""
        record = self.state.fetch_server(name)
        if record:
            return record
        try:
            record = json.loads(self._record_file(name).read_text())
        except (OSError, ValueError):
            return None
        self.state.save_server(name, record)
        return {key: str(value) for key, value in record.items()}

    def _record_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def _process(self, name: str) -> psutil.Process | None:
        record = self._record(name)
        if not record:
            return None
        try:
            process = psutil.Process(int(record["pid"]))
            same = abs(process.create_time() - float(record["create_time"])) < 0.01
        except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, ValueError):
            return None
        return process if same and _running(process) else None


def _detach(command: list[str], log_file: Path) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    launched = subprocess.run(
        [sys.executable, "-m", "jsorc.backends.detach", str(log_file), "--", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    if launched.returncode != 0:
        raise BackendError(f"could not launch {command[2:4]}: {launched.stderr.strip()}")
    return int(launched.stdout.strip())


def _stop(process: psutil.Process) -> None:
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(STOP_GRACE)
    except psutil.TimeoutExpired:
        logger.warning("Action server pid %d ignored SIGTERM; killing it.", process.pid)
        process.kill()
        process.wait(STOP_GRACE)
    except psutil.NoSuchProcess:
        pass


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _tail(path: Path) -> str:
    try:
        return path.read_bytes()[-LOG_TAIL:].decode(errors="replace")
    except OSError:
        return "(no log)"
