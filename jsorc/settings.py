"""JSORC's settings: one small dataclass, read once at an entry point.

`Settings.from_env` reads the environment; `Settings.with_overrides` lays the values
stored in the database (written by config_set) over it. Nothing here reads the
environment at import time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsorc.errors import SettingsError

# Seconds; regeneration ticks are never closer together than this.
MIN_BACKOFF_INTERVAL = 2.0
# Seconds between regeneration ticks unless configured.
DEFAULT_BACKOFF_INTERVAL = 10.0
# Module prefixes that may be imported as actions unless configured.
DEFAULT_ALLOWED_MODULES = ("jsorc_examples",)
# Bytes; an API request body larger than this is refused with 413.
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
# Seconds before the broker hands an unacknowledged task to another worker.
DEFAULT_VISIBILITY_TIMEOUT = 3600.0
BACKENDS = ("local", "kubernetes")

# Settings that config_set may change while JSORC runs (stored in the database).
LIVE_KEYS = ("backoff_interval", "automation", "namespace", "keep_alive")


@dataclasses.dataclass(frozen=True)
class Settings:
    home: Path = Path(".jsorc")
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = ""
    backend: str = "local"
    backoff_interval: float = DEFAULT_BACKOFF_INTERVAL
    automation: bool = True
    namespace: str = "default"
    keep_alive: tuple[str, ...] = ()
    allowed_modules: tuple[str, ...] = DEFAULT_ALLOWED_MODULES
    api_url: str = "http://127.0.0.1:8716"
    # Seconds a new action server has to answer its spec endpoint.
    server_start_timeout: float = 120.0
    # Kubernetes backend: in-cluster config first when true, else this kubeconfig file
    # (empty: the client's default, ~/.kube/config).
    kube_in_cluster: bool = False
    kubeconfig: str = ""
    # Image that action-server pods run on Kubernetes.
    image: str = "jsorc:0.1.0"
    # Allow privileged or host-path pods, and deleting volume claims, in manifests.
    unsafe: bool = False
    # Bearer token the admin API requires; empty refuses every admin call. A secret:
    # kept out of repr, so logging the settings never shows it.
    api_token: str = dataclasses.field(default="", repr=False)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    # Seconds; must exceed the longest task (checked where Celery is configured).
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SettingsError(
                f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}"
            )
        if self.backoff_interval < MIN_BACKOFF_INTERVAL:
            raise SettingsError(
                f"backoff_interval must be at least {MIN_BACKOFF_INTERVAL:g} seconds, "
                f"not {self.backoff_interval:g}"
            )
        if self.max_request_bytes < 1:
            raise SettingsError(
                f"max_request_bytes must be a positive byte count, not {self.max_request_bytes}"
            )
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.home / 'jsorc.sqlite3'}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"JSORC_{field.name.upper()}")
            if raw is not None and raw != "":
                values[field.name] = _parse(field.name, raw)
        if "home" in values:
            values["home"] = Path(values["home"]).absolute()
        else:
            values["home"] = Path(".jsorc").absolute()
        return cls(**values)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with the given live settings replaced, each checked."""
        unknown = set(overrides) - set(LIVE_KEYS)
        if unknown:
            raise SettingsError(
                f"unknown setting(s) {sorted(unknown)}; settable ones are {list(LIVE_KEYS)}"
            )
        values = {key: _coerce(key, value) for key, value in overrides.items()}
        return dataclasses.replace(self, **values)

    def to_env(self) -> dict[str, str]:
        """The environment that gives a child process these same settings."""
        env = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = "1" if value else "0"
            env[f"JSORC_{field.name.upper()}"] = str(value)
        return env

    def live_values(self) -> dict[str, Any]:
        return {key: _jsonable(getattr(self, key)) for key in LIVE_KEYS}


def _parse(name: str, raw: str) -> Any:
    field_types = {f.name: f.type for f in dataclasses.fields(Settings)}
    kind = field_types[name]
    try:
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
        if kind == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"JSORC_{name.upper()}={raw!r} is not a number") from exc
    return raw


def _coerce(name: str, value: Any) -> Any:
    if name == "backoff_interval":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SettingsError(f"backoff_interval must be a number of seconds, not {value!r}")
        try:
            return float(value)
        except ValueError as exc:
            raise SettingsError(f"backoff_interval must be a number, not {value!r}") from exc
    if name == "automation":
        if not isinstance(value, bool):
            raise SettingsError(f"automation must be true or false, not {value!r}")
        return value
    if name == "keep_alive":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"keep_alive must be a list of service names, not {value!r}")
        return tuple(value)
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{name} must be a non-empty string, not {value!r}")
    return value


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
