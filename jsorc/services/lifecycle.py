"""The lifecycle every kept-alive service shares: start, run, fail, poke, delete.

A service is built from the config (and manifest) handed to it; it reads no globals and no
environment. `start()` does not raise unless asked: a failing `run()` leaves the service
FAILED with its error, for regeneration to retry. Not here: watching, retrying, manifests.
Hazard: hooks run under the service's lock, so a slow `run()` holds up other `start()`
callers (never `poke()`), and a hook must not wait on another thread that starts this service.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar, cast

from jsorc.services.daemons import DAEMON_STOP_TIMEOUT, Daemons
from jsorc.services.errors import ServiceError, ServiceNotRunning, describe_error

logger = logging.getLogger(__name__)

ClientT = TypeVar("ClientT")


class ServiceState(enum.StrEnum):
    NOT_STARTED = "NOT_STARTED"
    STARTED = "STARTED"  # run() is under way
    RUNNING = "RUNNING"
    FAILED = "FAILED"


# What a proxy forwards even while its service is not running: enough to ask about it and
# to start it, never its client or its domain methods.
LIFECYCLE_ATTRIBUTES = frozenset(
    {
        "name", "state", "error", "enabled", "automated", "quiet", "config", "manifest",
        "start", "poke", "is_running", "check", "reset", "delete", "last_error",
    }
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Flags:
    """A service's switches: the config's key wins, then the registration, then the class."""

    enabled: bool
    automated: bool
    quiet: bool

    @classmethod
    def of(
        cls, service_cls: type, config: Mapping[str, Any], *, automated: bool | None = None
    ) -> Flags:
        default_automated = service_cls.automated if automated is None else automated
        return cls(
            enabled=_flag(config, "enabled", service_cls.enabled),
            automated=_flag(config, "automated", default_automated),
            quiet=_flag(config, "quiet", service_cls.quiet),
        )


def _flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ServiceError(f"service config {key!r} must be true or false, not {value!r}")
    return value


class Service(Generic[ClientT]):
    """Base of every kept-alive service; subclasses override `run()` and set `self.app`."""

    # Class defaults; a key of the same name in the service's config wins.
    enabled: bool = True
    automated: bool = True  # regeneration may start it again when it is not running
    quiet: bool = False  # log a failure to start at debug, not warning

    def __init__(
        self,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        manifest: Mapping[str, Any] | None = None,
        automated: bool | None = None,
    ) -> None:
        self.name = name or type(self).__name__
        self.config: dict[str, Any] = dict(config or {})
        self.manifest: dict[str, Any] = dict(manifest or {})
        flags = Flags.of(type(self), self.config, automated=automated)
        self.enabled = flags.enabled
        self.automated = flags.automated
        self.quiet = flags.quiet
        self.state = ServiceState.NOT_STARTED
        self.error: Exception | None = None
        self.app: ClientT | None = None
        self.daemons = Daemons(owner=self.name)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state}>"

    # Hooks for subclasses.

    def run(self) -> None:
        """Do the work of starting (connect, spawn, ...) and set `self.app`; raise on failure."""

    def post_run(self) -> None:
        """Called once `run()` succeeded and the service is RUNNING; raising makes it FAILED."""

    def failed(self, error: Exception) -> None:
        """Called once `run()`, `post_run()` or `check_health()` raised; the service is FAILED."""

    def on_delete(self) -> None:
        """Called by `delete()` after the daemons stopped: close the client, free resources."""

    def check_health(self) -> None:
        """Raise if the running client no longer works (a ping, say); the default trusts it."""

    # The lifecycle.

    def start(self, *, raise_error: bool = False) -> Service[ClientT]:
        """Start unless running or disabled; raises ServiceNotRunning only if `raise_error`."""
        with self._lock:
            if not self.enabled:
                logger.debug("Service %r is disabled; not starting it.", self.name)
            elif self.state in (ServiceState.NOT_STARTED, ServiceState.FAILED):
                self._start_locked()
        if raise_error and self.state is not ServiceState.RUNNING:
            raise self._not_running() from self.error
        return self

    def poke(self) -> ClientT:
        """The running client; raises ServiceNotRunning (state, last error) otherwise."""
        if self.state is ServiceState.RUNNING:
            return cast(ClientT, self.app)
        raise self._not_running()

    def is_running(self) -> bool:
        return self.state is ServiceState.RUNNING

    def check(self) -> bool:
        """Run `check_health()` if RUNNING; if it raises, the service becomes FAILED.

        True while the service runs. Regeneration calls this before deciding to restart.
        """
        with self._lock:
            if self.state is not ServiceState.RUNNING:
                return False
            try:
                self.check_health()
            except Exception as exc:
                self._fail(exc, what="failed its health check")
                return False
            return True

    @property
    def last_error(self) -> str | None:
        """The error that made the service FAILED, as one line, or None."""
        return None if self.error is None else describe_error(self.error)

    def reset(self) -> None:
        """Back to NOT_STARTED without the on_delete hook: daemons stopped, client dropped."""
        with self._lock:
            self.daemons.stop_all()
            self._forget()

    def delete(self) -> None:
        """Stop the daemons, call `on_delete()`, and go back to NOT_STARTED."""
        with self._lock:
            self.daemons.stop_all()
            try:
                self.on_delete()
            except Exception:
                logger.warning("on_delete() of service %r raised.", self.name, exc_info=True)
            self._forget()
        logger.debug("Service %r deleted.", self.name)

    # Background daemons, by name; see daemons.py.

    def start_daemon(
        self,
        name: str,
        target: Callable[..., object],
        *,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run `target(stop_event, *args, **kwargs)`; a no-op (False) if `name` is alive."""
        return self.daemons.start(name, target, args=args, kwargs=kwargs)

    def stop_daemon(self, name: str, *, timeout: float = DAEMON_STOP_TIMEOUT) -> bool:
        """Stop the daemon `name`; True once no thread of that name runs."""
        return self.daemons.stop(name, timeout=timeout)

    def stop_daemons(self, *, timeout: float = DAEMON_STOP_TIMEOUT) -> bool:
        """Stop every daemon within `timeout` seconds in all; True if all ended."""
        return self.daemons.stop_all(timeout=timeout)

    def _start_locked(self) -> None:
        self.state = ServiceState.STARTED
        self.error = None
        logger.debug("Starting service %r...", self.name)
        try:
            self.run()
            self.state = ServiceState.RUNNING
            self.post_run()
        except Exception as exc:
            self._fail(exc, what="failed to start")
        else:
            logger.info("Service %r is running.", self.name)

    def _fail(self, error: Exception, *, what: str) -> None:
        self.state = ServiceState.FAILED
        self.error = error
        level = logging.DEBUG if self.quiet else logging.WARNING
        logger.log(level, "Service %r %s: %s", self.name, what, error, exc_info=error)
        try:
            self.failed(error)
        except Exception:
            logger.warning("failed() of service %r raised.", self.name, exc_info=True)

    def _forget(self) -> None:
        self.state = ServiceState.NOT_STARTED
        self.app = None
        self.error = None

    def _not_running(self) -> ServiceNotRunning:
        return ServiceNotRunning(
            self.name, state=self.state.value, error=self.last_error, enabled=self.enabled
        )
