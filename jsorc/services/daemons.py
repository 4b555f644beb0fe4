"""Named background threads that a service runs beside its client, each with a stop event.

At most one live thread per name: starting a name whose thread is still alive (running or
still stopping) is a no-op that returns False. A target gets its stop event as its first
argument and must return soon after the event is set; one that ignores it is logged and left
registered rather than doubled. Not a supervisor: a target that raises is logged and ends.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

# Seconds a stop waits for a daemon's thread to end once its stop event is set.
DAEMON_STOP_TIMEOUT = 5.0


@dataclasses.dataclass(frozen=True)
class Daemon:
    name: str
    thread: threading.Thread
    stop_event: threading.Event


class Daemons:
    """The daemons of one owner (a service), started and stopped by name."""

    def __init__(self, *, owner: str) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self._daemons: dict[str, Daemon] = {}

    def start(
        self,
        name: str,
        target: Callable[..., object],
        *,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run `target(stop_event, *args, **kwargs)` in a thread; False if `name` is alive."""
        with self._lock:
            current = self._daemons.get(name)
            if current is not None and current.thread.is_alive():
                logger.debug(
                    "Daemon %r of %r is already running; not starting another.", name, self.owner
                )
                return False
            stop_event = threading.Event()
            thread = threading.Thread(
                target=self._body,
                args=(name, target, stop_event, tuple(args), dict(kwargs or {})),
                name=f"{self.owner}:{name}",
                daemon=True,
            )
            self._daemons[name] = Daemon(name, thread, stop_event)
            thread.start()
        logger.debug("Daemon %r of %r started.", name, self.owner)
        return True

    def stop(self, name: str, *, timeout: float = DAEMON_STOP_TIMEOUT) -> bool:
        """Set `name`'s stop event and wait up to `timeout` s; True once no such thread runs."""
        with self._lock:
            daemon = self._daemons.get(name)
        if daemon is None:
            return True
        daemon.stop_event.set()
        if daemon.thread is threading.current_thread():
            return False  # a daemon stopping itself ends when its target returns
        daemon.thread.join(timeout)
        return self._forget_if_ended(daemon, timeout=timeout)

    def stop_all(self, *, timeout: float = DAEMON_STOP_TIMEOUT) -> bool:
        """Stop every daemon, all within one `timeout` (s); True if all of them ended."""
        with self._lock:
            daemons = list(self._daemons.values())
        for daemon in daemons:
            daemon.stop_event.set()
        deadline = time.monotonic() + timeout
        for daemon in daemons:
            if daemon.thread is not threading.current_thread():
                daemon.thread.join(max(0.0, deadline - time.monotonic()))
        ended = [self._forget_if_ended(daemon, timeout=timeout) for daemon in daemons]
        return all(ended)

    def names(self) -> list[str]:
        """Names of the daemons whose threads are alive."""
        with self._lock:
            return sorted(name for name, d in self._daemons.items() if d.thread.is_alive())

    def is_alive(self, name: str) -> bool:
        with self._lock:
            daemon = self._daemons.get(name)
        return daemon is not None and daemon.thread.is_alive()

    def _forget_if_ended(self, daemon: Daemon, *, timeout: float) -> bool:
        with self._lock:
            if daemon.thread.is_alive():
                logger.warning(
                    "Daemon %r of %r did not stop within %.1f s; it stays registered.",
                    daemon.name,
                    self.owner,
                    timeout,
                )
                return False
            if self._daemons.get(daemon.name) is daemon:
                del self._daemons[daemon.name]
        logger.debug("Daemon %r of %r stopped.", daemon.name, self.owner)
        return True

    def _body(
        self,
        name: str,
        target: Callable[..., object],
        stop_event: threading.Event,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        try:
            target(stop_event, *args, **kwargs)
        except Exception:
            logger.warning("Daemon %r of %r raised; it has ended.", name, self.owner, exc_info=True)
