"""Module mode: import an action's module into this process, and free it again.

Loading imports the module (its `@action` functions register) and runs its `setup()`
once. Unloading forgets the functions, removes the module tree from `sys.modules` and
from its parent package, then collects garbage, so the module's memory can go.
Hazard: a caller that kept its own reference to a function keeps the module alive.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import threading

from jsorc.actions import registry
from jsorc.actions.configs import ActionConfig
from jsorc.actions.registry import ActionFunction
from jsorc.errors import ActionCallError, ConfigError

logger = logging.getLogger(__name__)


class ModuleHost:
    """The action modules imported in this process, by action name."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded: dict[str, ActionConfig] = {}
        self._functions: dict[str, dict[str, ActionFunction]] = {}

    def load(self, config: ActionConfig) -> dict[str, ActionFunction]:
        """Import `config`'s module if it is not here yet; its functions by full name."""
        with self._lock:
            if config.name in self._functions:
                return self._functions[config.name]
            try:
                module = importlib.import_module(config.loaded_module)
            except ImportError as exc:
                raise ConfigError(
                    f"cannot import {config.loaded_module!r} for action {config.name!r}: {exc}"
                ) from exc
            setup = getattr(module, "setup", None)
            if callable(setup):
                try:
                    setup()
                except Exception as exc:
                    self._drop_modules(config)
                    raise ActionCallError(
                        f"setup() of {config.loaded_module!r} failed: {exc!r}"
                    ) from exc
            functions = registry.functions_of(config.modules)
            self._loaded[config.name] = config
            self._functions[config.name] = functions
            logger.info("Loaded module %r for action %r.", config.loaded_module, config.name)
            return functions

    def unload(self, name: str) -> bool:
        """Free action `name`'s module; False when it was not loaded here."""
        with self._lock:
            config = self._loaded.pop(name, None)
            self._functions.pop(name, None)
            if config is None:
                return False
            self._drop_modules(config)
        gc.collect()
        logger.info("Unloaded module %r of action %r.", config.loaded_module, name)
        return True

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._loaded)

    def functions(self, name: str) -> dict[str, ActionFunction] | None:
        return self._functions.get(name)

    def _drop_modules(self, config: ActionConfig) -> None:
        registry.forget(config.modules)
        still_used = {m for other in self._loaded.values() for m in other.modules}
        for root in config.modules:
            if root in still_used:
                continue
            for mod_name in [m for m in sys.modules if m == root or m.startswith(root + ".")]:
                del sys.modules[mod_name]
                parent_name, _, child = mod_name.rpartition(".")
                parent = sys.modules.get(parent_name)
                if parent is not None and getattr(parent, child, None) is not None:
                    delattr(parent, child)


# sys.modules is process-wide, so is the host that manages it.
HOST = ModuleHost()
