"""The inject decorator: hands registered services, repositories and contexts to a function.

Names resolve at call time, so a function can be decorated before what it needs is
registered; only what the caller did not pass (by position or keyword) is looked up. Not
here: the lookups themselves (the registry). Hazard: a service that is not running arrives
as a proxy that raises ServiceNotRunning on use, not at the call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from jsorc.services.errors import ServiceError
from jsorc.services.pillars import CONTEXT, REPOSITORY, SERVICE

F = TypeVar("F", bound=Callable[..., Any])

# Names to inject: a list (each parameter named as the entry) or {parameter: name or alias}.
Wanted = Iterable[str] | Mapping[str, str]
# {parameter: (pillar, registered name or alias)}
Plan = dict[str, tuple[str, str]]


def plan(*, services: Wanted, repositories: Wanted, contexts: Wanted) -> Plan:
    """Which parameter gets which entry; refuses a parameter asked for twice."""
    wanted: Plan = {}
    for kind, names in ((SERVICE, services), (REPOSITORY, repositories), (CONTEXT, contexts)):
        for param, name in _pairs(names):
            if param in wanted:
                raise ServiceError(f"inject: parameter {param!r} is asked for twice")
            wanted[param] = (kind, name)
    return wanted


def decorate(func: F, *, wanted: Plan, lookups: Mapping[str, Callable[[str], Any]]) -> F:
    """Wrap `func` so each planned parameter the caller left out is looked up per call."""
    signature = inspect.signature(func)
    _check_accepts(func, signature, wanted)

    @functools.wraps(func)
    def injected(*args: Any, **kwargs: Any) -> Any:
        given = signature.bind_partial(*args, **kwargs).arguments
        for param, (kind, name) in wanted.items():
            if param not in given and param not in kwargs:
                kwargs[param] = lookups[kind](name)
        return func(*args, **kwargs)

    return cast(F, injected)


def _pairs(names: Wanted) -> list[tuple[str, str]]:
    if isinstance(names, str):
        names = (names,)
    pairs = list(names.items()) if isinstance(names, Mapping) else [(n, n) for n in names]
    for param, name in pairs:
        if not param.isidentifier():
            raise ServiceError(
                f"inject: {param!r} is not a parameter name; map one to it: {{'param': {name!r}}}"
            )
    return pairs


def _check_accepts(func: Callable[..., Any], signature: inspect.Signature, wanted: Plan) -> None:
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for param in wanted:
        if param not in params or params[param].kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ServiceError(
                f"inject: {func.__qualname__}() has no keyword parameter {param!r} to receive it"
            )
