"""A stand-in handed out for a service that is not running yet.

Each attribute access asks the registry for the service's current instance, so the proxy
turns into the real service the moment it runs (after a regeneration tick or a refresh),
with no new lookup. Until then, using it raises ServiceNotRunning with the state and last
error; its lifecycle attributes (state, error, start, poke, ...) stay readable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsorc.services.lifecycle import LIFECYCLE_ATTRIBUTES, Service


class ServiceProxy:
    __slots__ = ("_name", "_resolve")

    def __init__(self, name: str, *, resolve: Callable[[], Service[Any]]) -> None:
        """`resolve()` returns the service's current instance or raises ServiceNotRunning."""
        self._name = name
        self._resolve = resolve

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)  # copy, pickle and friends must not reach the service
        service = self._resolve()
        if attr not in LIFECYCLE_ATTRIBUTES and not service.is_running():
            service.poke()  # raises ServiceNotRunning, unless it started just now
        return getattr(service, attr)

    def __repr__(self) -> str:
        return f"<ServiceProxy {self._name!r}>"
