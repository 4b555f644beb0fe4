"""The process-wide registry of action functions.

A module marks its functions with `@action`; importing the module registers them under
`<group>.<function>` (the group defaults to the module's last dotted segment), plus one
name per alias. The registry only records; loading and freeing modules is `modules.py`.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_functions: dict[str, ActionFunction] = {}


@dataclasses.dataclass(frozen=True)
class ActionFunction:
    name: str  # "<group>.<function>"
    func: Callable[..., Any]
    params: tuple[str, ...]  # the wire protocol's parameter list
    module: str

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def action(
    func: Callable[..., Any] | None = None,
    *,
    group: str | None = None,
    aliases: Iterable[str] = (),
) -> Any:
    """Register `func` as an action; usable bare (`@action`) or with options."""

    def register(target: Callable[..., Any]) -> Callable[..., Any]:
        group_name = group or target.__module__.rsplit(".", 1)[-1]
        params = wire_params(target)
        with _lock:
            for func_name in (target.__name__, *aliases):
                full = f"{group_name}.{func_name}"
                _functions[full] = ActionFunction(full, target, params, target.__module__)
        return target

    return register(func) if func is not None else register


def wire_params(func: Callable[..., Any]) -> tuple[str, ...]:
    """Parameter names as the spec endpoint lists them: `*name` and `**name` for varargs."""
    names = []
    for param in inspect.signature(func).parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            names.append(f"*{param.name}")
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            names.append(f"**{param.name}")
        else:
            names.append(param.name)
    return tuple(names)


def functions_of(modules: Iterable[str]) -> dict[str, ActionFunction]:
    """Every registered function defined in one of `modules` or their submodules."""
    prefixes = tuple(modules)
    with _lock:
        return {name: fn for name, fn in _functions.items() if _within(fn.module, prefixes)}


def forget(modules: Iterable[str]) -> int:
    """Drop the functions of `modules` (and submodules); returns how many went."""
    prefixes = tuple(modules)
    with _lock:
        doomed = [name for name, fn in _functions.items() if _within(fn.module, prefixes)]
        for name in doomed:
            del _functions[name]
    return len(doomed)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)
