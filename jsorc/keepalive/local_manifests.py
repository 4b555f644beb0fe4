"""Kept-alive services' manifests on the local backend: a process to keep running.

A manifest (`manifests/local/<service>.yaml`, kind LocalProcess) names a command and any
files to write first, with `${placeholders}` filled from the service's config. Applying
it starts the process when none runs, restarts it when the filled manifest changed
(its version hash is kept in the process record), and otherwise keeps it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import string
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from jsorc.backends.processes import DetachedProcesses
from jsorc.errors import ConfigError
from jsorc.redis_server import redis_executable

KIND = "LocalProcess"


def manifest_dir() -> Path:
    """`manifests/` of a checkout (beside the package), else ./manifests."""
    beside = Path(__file__).resolve().parents[2] / "manifests"
    return beside if beside.is_dir() else Path("manifests").resolve()


def load(name: str, *, directory: Path | None = None) -> dict[str, Any] | None:
    """The local manifest of service `name`, or None when it has none."""
    path = (directory or manifest_dir()) / "local" / f"{name}.yaml"
    if not path.exists():
        return None
    manifest = yaml.safe_load(path.read_text())
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise ConfigError(f"{path} must be a mapping with kind: {KIND}")
    if not isinstance(manifest.get("command"), list) or not manifest["command"]:
        raise ConfigError(f"{path} needs a non-empty command list")
    return manifest


def apply(
    processes: DetachedProcesses,
    name: str,
    manifest: dict[str, Any],
    config: dict[str, Any],
    *,
    env: Mapping[str, str] | None = None,
) -> str:
    """Make the service's process match its manifest: 'kept', 'started' or 'restarted'."""
    directory = processes.run_dir / name
    filled = fill(manifest, placeholders(config, directory=directory), where=name)
    version = hashlib.sha256(json.dumps(filled, sort_keys=True).encode()).hexdigest()[:16]
    running = processes.process(name)
    record = processes.record(name) or {}
    if running is not None and record.get("version") == version:
        return "kept"
    if running is not None:
        processes.stop(name)
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, content in (filled.get("files") or {}).items():
        (directory / file_name).write_text(content)
    processes.start(name, [str(part) for part in filled["command"]], env=env)
    processes.save(name, {**(processes.record(name) or {}), "version": version})
    return "restarted" if running is not None else "started"


def placeholders(config: dict[str, Any], *, directory: Path) -> dict[str, str]:
    values = {key: str(value) for key, value in config.items() if not isinstance(value, dict)}
    values.update(
        dir=str(directory),
        python=sys.executable,
        redis_server=redis_executable(),
        prometheus=shutil.which("prometheus") or "prometheus",
    )
    return values


def fill(value: Any, values: dict[str, str], *, where: str) -> Any:
    if isinstance(value, str):
        try:
            return string.Template(value).substitute(values)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"manifest of {where!r}: no value for placeholder {exc}") from exc
    if isinstance(value, dict):
        return {key: fill(item, values, where=where) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values, where=where) for item in value]
    return value
