"""The registry of services, repositories and contexts: what answers to each name.

A service is built on its first lookup, started once and cached; a lookup hands out a proxy
while it is not running. A repository or context lookup builds a new instance (a persistent
context is kept until destroyed). Not here: retrying failed services; regeneration does that
through `services()`, `start()` and `refresh()`. Hazard: a first lookup runs `start()` in the
caller's thread, holding that name's build lock; a service must not look itself up from run().
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from jsorc.services import injection
from jsorc.services.errors import ServiceError, ServiceNotRunning, describe_error
from jsorc.services.lifecycle import Flags, Service, ServiceState
from jsorc.services.pillars import CONTEXT, PILLARS, REPOSITORY, SERVICE, Pillar, Registration
from jsorc.services.proxy import ServiceProxy

logger = logging.getLogger(__name__)

C = TypeVar("C", bound=type)
S = TypeVar("S", bound=type[Service[Any]])
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class ServiceInfo:
    """One service name as regeneration and service_info see it."""

    name: str
    priority: int
    automated: bool
    enabled: bool
    state: ServiceState
    error: str | None  # the last failure, or why it could not be built
    aliases: tuple[str, ...]
    implementation: str  # "module.Class" of the registration that wins the name


class Registry:
    """Services, repositories and contexts by name; one per process, or one per test."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._sequence = itertools.count()
        self._pillars = {kind: Pillar(kind) for kind in PILLARS}
        # Built services and persistent contexts, by (pillar, name).
        self._instances: dict[tuple[str, str], Any] = {}
        self._build_errors: dict[str, str] = {}  # service name -> why its class raised
        self._build_locks: dict[tuple[str, str], threading.RLock] = {}

    # Registration: the newest of equal priority wins; a new winner drops what was built.

    def register_service(
        self,
        name: str,
        cls: S,
        *,
        aliases: Iterable[str] = (),
        priority: int = 0,
        automated: bool | None = None,
        config: Mapping[str, Any] | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> S:
        """Register a Service subclass; `automated` None leaves it to the class and config."""
        if not (isinstance(cls, type) and issubclass(cls, Service)):
            raise ServiceError(f"service {name!r} must be a Service subclass, not {cls!r}")
        self._add(
            SERVICE,
            name,
            cls,
            aliases=aliases,
            priority=priority,
            automated=automated,
            config=dict(config or {}),
            manifest=dict(manifest or {}),
        )
        return cls

    def register_repository(
        self, name: str, cls: C, *, aliases: Iterable[str] = (), priority: int = 0
    ) -> C:
        """Register a data-source class; each lookup builds the winner with no arguments."""
        self._add(REPOSITORY, name, cls, aliases=aliases, priority=priority)
        return cls

    def register_context(
        self,
        name: str,
        cls: C,
        *,
        aliases: Iterable[str] = (),
        priority: int = 0,
        persistent: bool = False,
    ) -> C:
        """Register any class; a persistent one is built once and kept until destroyed."""
        self._add(CONTEXT, name, cls, aliases=aliases, priority=priority, persistent=persistent)
        return cls

    def _add(
        self, kind: str, name: str, cls: type, *, aliases: Iterable[str], **fields: Any
    ) -> None:
        key = (kind, name)
        with self._build_lock(key):
            with self._lock:
                registration = Registration(
                    name=name,
                    cls=cls,
                    sequence=next(self._sequence),
                    aliases=tuple(aliases),
                    **fields,
                )
                wins = self._pillars[kind].add(registration)
                stale = self._instances.pop(key, None) if wins else None
                if wins:
                    self._build_errors.pop(name, None)
            logger.debug(
                "Registered %s %r as %s (priority %d, wins: %s).",
                kind,
                name,
                registration.implementation,
                registration.priority,
                wins,
            )
            if isinstance(stale, Service):
                stale.delete()

    # Lookups.

    def service(self, name: str) -> Any:
        """The service under `name` or alias: built and started on first use, then cached.

        While it is not running (failed, disabled, not buildable) this is a ServiceProxy that
        raises ServiceNotRunning on use and becomes the service once it runs.
        """
        canonical = self._resolve(SERVICE, name)
        with self._lock:
            unbuildable = canonical in self._build_errors
        instance = None if unbuildable else self._obtain_service(canonical)[0]
        if instance is not None and instance.is_running():
            return instance
        return ServiceProxy(canonical, resolve=lambda: self._current_service(canonical))

    def repository(self, name: str) -> Any:
        """A new instance of the class that wins `name` (or alias)."""
        with self._lock:
            registration = self._pillars[REPOSITORY].winner(name)
        return registration.cls()

    def context(self, name: str) -> Any:
        """A new instance of the class that wins `name`, or its kept one if persistent."""
        canonical = self._resolve(CONTEXT, name)
        with self._lock:
            registration = self._pillars[CONTEXT].winner(canonical)
        if not registration.persistent:
            return registration.cls()
        return self._cached_or_built((CONTEXT, canonical), self._build_context)[0]

    def destroy(self, name: str) -> bool:
        """Drop the kept instance of a persistent context; the next lookup builds anew."""
        key = (CONTEXT, self._resolve(CONTEXT, name))
        with self._build_lock(key), self._lock:
            return self._instances.pop(key, None) is not None

    def inject(
        self,
        *,
        services: injection.Wanted = (),
        repositories: injection.Wanted = (),
        contexts: injection.Wanted = (),
    ) -> Callable[[F], F]:
        """Decorate a function to receive entries as keyword arguments it was not given.

        Each argument is a list of names or aliases (the parameter is named the same) or a
        mapping {parameter: name or alias}. Lookups happen per call.
        """
        wanted = injection.plan(services=services, repositories=repositories, contexts=contexts)
        lookups = {SERVICE: self.service, REPOSITORY: self.repository, CONTEXT: self.context}

        def decorator(func: F) -> F:
            return injection.decorate(func, wanted=wanted, lookups=lookups)

        return decorator

    # What regeneration and service_info / service_refresh use.

    def services(self) -> list[ServiceInfo]:
        """Every registered service name with its winner's priority, flags, state and error."""
        with self._lock:
            names = self._pillars[SERVICE].names()
        return [self.info(name) for name in names]

    def info(self, name: str) -> ServiceInfo:
        canonical = self._resolve(SERVICE, name)
        with self._lock:
            registration = self._pillars[SERVICE].winner(canonical)
            instance = self._instances.get((SERVICE, canonical))
            build_error = self._build_errors.get(canonical)
            aliases = self._pillars[SERVICE].aliases_of(canonical)
        if instance is not None:
            flags = Flags(instance.enabled, instance.automated, instance.quiet)
            state, error = instance.state, instance.last_error
        else:
            flags, state, error = (
                _unbuilt_flags(registration),
                ServiceState.NOT_STARTED,
                build_error,
            )
        return ServiceInfo(
            name=canonical,
            priority=registration.priority,
            automated=flags.automated,
            enabled=flags.enabled,
            state=state,
            error=error,
            aliases=aliases,
            implementation=registration.implementation,
        )

    def start(self, name: str) -> ServiceInfo:
        """Build the service if it is not built (which starts it), else start it again."""
        canonical = self._resolve(SERVICE, name)
        with self._lock:
            self._build_errors.pop(canonical, None)
        instance, built_now = self._obtain_service(canonical)
        if instance is not None and not built_now:
            instance.start()
        return self.info(canonical)

    def refresh(
        self,
        name: str,
        *,
        config: Mapping[str, Any] | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> ServiceInfo:
        """Delete the built service and build it anew, with a new config/manifest if given."""
        canonical = self._resolve(SERVICE, name)
        key = (SERVICE, canonical)
        with self._build_lock(key):
            with self._lock:
                if config is not None or manifest is not None:
                    self._pillars[SERVICE].reconfigure(canonical, config=config, manifest=manifest)
                stale = self._instances.pop(key, None)
                self._build_errors.pop(canonical, None)
            if stale is not None:
                stale.delete()
            self._obtain_service(canonical)
        logger.info("Service %r refreshed.", canonical)
        return self.info(canonical)

    def shutdown(self) -> None:
        """Delete every built service and drop kept contexts (process exit, tests)."""
        with self._lock:
            built = list(self._instances.items())
            self._instances.clear()
            self._build_errors.clear()
        for (kind, _name), instance in built:
            if kind == SERVICE:
                instance.delete()

    # Building, once per name.

    def _resolve(self, kind: str, name: str) -> str:
        with self._lock:
            return self._pillars[kind].resolve(name)

    def _build_lock(self, key: tuple[str, str]) -> threading.RLock:
        with self._lock:
            lock = self._build_locks.get(key)
            if lock is None:
                lock = self._build_locks[key] = threading.RLock()
            return lock

    def _obtain_service(self, name: str) -> tuple[Service[Any] | None, bool]:
        return self._cached_or_built((SERVICE, name), self._build_service)

    def _cached_or_built(
        self, key: tuple[str, str], build: Callable[[str], Any]
    ) -> tuple[Any, bool]:
        """The kept instance for `key`, or one built now (True) under the key's build lock."""
        with self._lock:
            cached = self._instances.get(key)
        if cached is not None:
            return cached, False
        with self._build_lock(key):
            with self._lock:
                cached = self._instances.get(key)
            if cached is not None:
                return cached, False
            instance = build(key[1])
            if instance is not None:
                with self._lock:
                    self._instances[key] = instance
            return instance, True

    def _build_service(self, name: str) -> Service[Any] | None:
        with self._lock:
            registration = self._pillars[SERVICE].winner(name)
        try:
            instance: Service[Any] = registration.cls(
                name=name,
                config=registration.config,
                manifest=registration.manifest,
                automated=registration.automated,
            )
        except Exception as exc:
            with self._lock:
                self._build_errors[name] = f"could not be built: {describe_error(exc)}"
            logger.warning(
                "Could not build service %r (%s).", name, registration.implementation, exc_info=True
            )
            return None
        return instance.start()

    def _build_context(self, name: str) -> Any:
        with self._lock:
            registration = self._pillars[CONTEXT].winner(name)
        return registration.cls()

    def _current_service(self, name: str) -> Service[Any]:
        """The built service, for a proxy; ServiceNotRunning if there is none."""
        with self._lock:
            instance = self._instances.get((SERVICE, name))
            error = self._build_errors.get(name)
        if instance is None:
            raise ServiceNotRunning(name, state=ServiceState.NOT_STARTED.value, error=error)
        return instance


def _unbuilt_flags(registration: Registration) -> Flags:
    """Flags of a service not built yet; a config with bad flags counts as no config."""
    try:
        return Flags.of(registration.cls, registration.config, automated=registration.automated)
    except ServiceError:
        return Flags.of(registration.cls, {}, automated=registration.automated)


# The process-wide registry; tests build their own `Registry()`.
default_registry = Registry()
