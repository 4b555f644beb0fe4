"""Action configs: which module to import, what it needs in-process, how to run it remote.

Accepts a plain mapping or Jaseci's form (a module exposing `ACTION_CONFIGS = {name: {...}}`).
Only modules under an allow-listed prefix are ever imported, and that check comes first.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from jsorc.errors import ConfigError, ModuleNotAllowed

KNOWN_KEYS = {
    "module",
    "loaded_module",
    "local_mem_requirement",
    "memory_mb",
    "remote",
    "remote_template",
    "lazy_evaluation",
}


@dataclasses.dataclass(frozen=True)
class ActionConfig:
    name: str
    module: str
    loaded_module: str
    memory_mb: float | None = None
    remote: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    remote_template: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "loaded_module": self.loaded_module,
            "memory_mb": self.memory_mb,
            "remote": dict(self.remote),
            "remote_template": self.remote_template,
        }

    @property
    def modules(self) -> tuple[str, ...]:
        """The module trees this action owns in a process that imports it."""
        return tuple(dict.fromkeys((self.module, self.loaded_module)))


def parse_config(name: str, data: Any, *, allowed: tuple[str, ...]) -> ActionConfig:
    """Check a config mapping and return it as an ActionConfig."""
    if (
        not isinstance(name, str)
        or not name
        or not name.replace("_", "").replace("-", "").isalnum()
    ):
        raise ConfigError(
            f"action name {name!r} must be letters, digits, '_' or '-', e.g. 'text_tools'"
        )
    if not isinstance(data, Mapping):
        raise ConfigError(f"config for {name!r} must be a JSON object, not {type(data).__name__}")
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise ConfigError(
            f"config for {name!r} has unknown key(s) {sorted(unknown)}; "
            f"known keys are {sorted(KNOWN_KEYS)}"
        )
    module = data.get("module")
    if not isinstance(module, str) or not module:
        raise ConfigError(f"config for {name!r} needs 'module', the Python module to import")
    loaded = data.get("loaded_module") or module
    if not isinstance(loaded, str):
        raise ConfigError(f"'loaded_module' of {name!r} must be a module path string")
    memory = data.get("memory_mb", data.get("local_mem_requirement"))
    if memory is not None and (
        isinstance(memory, bool) or not isinstance(memory, (int, float)) or memory < 0
    ):
        raise ConfigError(f"memory of {name!r} must be a non-negative number of MB, not {memory!r}")
    remote = data.get("remote") or {}
    if not isinstance(remote, Mapping):
        raise ConfigError(f"'remote' of {name!r} must map Kubernetes kinds to objects")
    template = data.get("remote_template")
    if template is not None and not isinstance(template, str):
        raise ConfigError(f"'remote_template' of {name!r} must be a manifest file name")
    for path in (module, loaded):
        check_module(path, allowed=allowed)
    return ActionConfig(
        name=name,
        module=module,
        loaded_module=loaded,
        memory_mb=None if memory is None else float(memory),
        remote=dict(remote),
        remote_template=template,
    )


def resolve_config(name: str, config: Any, *, allowed: tuple[str, ...]) -> ActionConfig:
    """A config given inline (a mapping) or by the path of a module with ACTION_CONFIGS."""
    if isinstance(config, Mapping):
        return parse_config(name, config, allowed=allowed)
    if not isinstance(config, str) or not config:
        raise ConfigError(
            "config must be a JSON object or the path of a module exposing ACTION_CONFIGS"
        )
    check_module(config, allowed=allowed)
    try:
        source = importlib.import_module(config)
    except ImportError as exc:
        raise ConfigError(f"cannot import config module {config!r}: {exc}") from exc
    configs = getattr(source, "ACTION_CONFIGS", None)
    if not isinstance(configs, Mapping):
        raise ConfigError(f"config module {config!r} has no ACTION_CONFIGS mapping")
    if name not in configs:
        raise ConfigError(
            f"config module {config!r} has no action {name!r}; it has {sorted(configs)}"
        )
    return parse_config(name, configs[name], allowed=allowed)


def check_module(path: str, *, allowed: tuple[str, ...]) -> None:
    """Refuse a module outside the allow-list, or one that does not exist. Imports nothing
    but the allow-listed parent packages that `find_spec` needs."""
    if not path.replace("_", "").replace(".", "").isalnum() or path.startswith("."):
        raise ConfigError(f"{path!r} is not a dotted Python module path")
    if not any(path == prefix or path.startswith(prefix + ".") for prefix in allowed):
        raise ModuleNotAllowed(
            f"module {path!r} is not under an allowed prefix ({', '.join(allowed) or 'none'}); "
            "add its prefix to JSORC_ALLOWED_MODULES"
        )
    try:
        found = importlib.util.find_spec(path)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"module {path!r} cannot be found: {exc}") from exc
    if found is None:
        raise ConfigError(f"module {path!r} cannot be found; is its package installed?")
