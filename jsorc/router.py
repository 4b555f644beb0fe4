"""The client-side router: sends each action call to the in-process module or to the
remote server, by the placement currently in Redis.

A router keeps a local view of every placement. A listener thread follows the
placement channel and re-syncs the view at once (so a module whose placement moved away
is freed promptly); a version check at most every `refresh_interval` seconds covers
missed messages. A call on the hot path costs a dict lookup and a clock read; with
statistics on (the default) also two nanosecond clock reads and one buffered append
(`jsorc.measure`).
Remote calls go over pooled keep-alive connections and are never retried blindly.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import redis

from jsorc import keys
from jsorc.actions.configs import parse_config
from jsorc.actions.modules import HOST, ModuleHost
from jsorc.actions.wire import encode_call
from jsorc.errors import (
    ActionCallError,
    ActionNotLoaded,
    ActionNotReady,
    BadRequest,
    ConfigError,
    StateUnavailable,
)
from jsorc.http_pool import KeepAlivePool
from jsorc.measure.callstats import UNKNOWN, call_recorder
from jsorc.placement import MODULE, READY, STARTING, Placement
from jsorc.state import StateStore

logger = logging.getLogger(__name__)

# Seconds between version checks when no change message arrives.
REFRESH_INTERVAL = 1.0
# Seconds a call waits for a STARTING remote action to become READY.
READY_WAIT = 30.0
# Seconds a remote call may take, connect included.
CALL_TIMEOUT = 60.0
# Seconds the listener waits before re-subscribing after Redis trouble.
RESUBSCRIBE_DELAY = 1.0

Target = Callable[..., Any]


class Router:
    def __init__(
        self,
        state: StateStore,
        *,
        allowed_modules: tuple[str, ...],
        host: ModuleHost = HOST,
        refresh_interval: float = REFRESH_INTERVAL,
        ready_wait: float = READY_WAIT,
        call_timeout: float = CALL_TIMEOUT,
        listen: bool = True,
        record_stats: bool = True,
    ) -> None:
        self.state = state
        self.allowed_modules = allowed_modules
        self.host = host
        self.refresh_interval = refresh_interval
        self.ready_wait = ready_wait
        self.call_timeout = call_timeout
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._view: dict[str, Placement] = {}
        self._targets: dict[str, Target] = {}
        # function -> (action, mode) of its resolved target, for the call statistics
        self._where: dict[str, tuple[str, str]] = {}
        self.stats = call_recorder(state) if record_stats else None
        self._pools: dict[str, KeepAlivePool] = {}
        self._version = -1
        self._checked = 0.0
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None
        self.sync()
        if listen:
            self._listener = threading.Thread(target=self._listen, name="jsorc-router", daemon=True)
            self._listener.start()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call action function `name` ("group.func") wherever it is placed."""
        if time.monotonic() - self._checked > self.refresh_interval:
            self._sync_or_keep_view()
        target = self._targets.get(name) or self._resolve(name)
        stats = self.stats
        if stats is None:
            return target(*args, **kwargs)
        failed = True
        started = time.perf_counter_ns()
        try:
            result = target(*args, **kwargs)
            failed = False
            return result
        finally:
            action, mode = self._where.get(name, (UNKNOWN, UNKNOWN))
            stats.record((action, name, mode), time.perf_counter_ns() - started, failed)

    def placement(self, action: str) -> Placement | None:
        return self._view.get(action)

    def sync(self, *, force: bool = False) -> None:
        """Bring the local view up to date with Redis; free modules placed elsewhere."""
        with self._lock:
            version = self.state.placement_version()
            self._checked = time.monotonic()
            if version == self._version and not force:
                return
            if version == 0 and self._version > 0:
                # The counter only grows, so Redis lost its state (a restart, FLUSHALL):
                # keep routing by the last view until regeneration restores it from SQL.
                logger.warning("Placements vanished from Redis; keeping the last known ones.")
                return
            view = self.state.fetch_placements()
            self._view, self._targets, self._version = view, {}, version
            self._where = {}
            urls = {p.url for p in view.values()}
            for url in [u for u in self._pools if u not in urls]:
                self._pools.pop(url).close()
            for action in self.host.loaded():
                placed = view.get(action)
                if placed is None or placed.mode != MODULE:
                    self.host.unload(action)
            self._changed.notify_all()

    def _sync_or_keep_view(self) -> None:
        try:
            self.sync()
        except StateUnavailable:
            # Calls go on with the placements last seen; the next check retries.
            self._checked = time.monotonic()
            logger.warning("Redis unreachable; routing by the last known placements.")

    def close(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        for pool in self._pools.values():
            pool.close()
        if self.stats is not None:
            self.stats.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # resolution

    def _resolve(self, name: str) -> Target:
        deadline = time.monotonic() + self.ready_wait
        with self._lock:
            while True:
                placement = self._placement_of(name)
                if placement is None:
                    raise ActionNotLoaded(
                        f"action {name!r} is not loaded; load it first, e.g. "
                        f"`jsorc actions load {name.split('.')[0]} --mode module`"
                    )
                if placement.mode == MODULE:
                    target = self._module_target(placement, name)
                    break
                if placement.status == READY:
                    target = self._remote_target(placement, name)
                    break
                if placement.status != STARTING or time.monotonic() > deadline:
                    raise ActionNotReady(
                        f"remote action {placement.name!r} is {placement.status}"
                        + (f": {placement.error}" if placement.error else "")
                    )
                self._changed.wait(timeout=min(self.refresh_interval, 0.2))
                self.sync()
            self._where[name] = (placement.name, placement.mode)
            self._targets[name] = target
            return target

    def _placement_of(self, name: str) -> Placement | None:
        group = name.rsplit(".", 1)[0]
        if group in self._view:
            return self._view[group]
        for placement in self._view.values():
            if name in placement.spec:
                return placement
        for placement in self._view.values():
            if placement.mode == MODULE and name in self._import(placement.name):
                return placement
        return None

    def _import(self, action: str) -> dict:
        functions = self.host.functions(action)
        if functions is not None:
            return functions
        raw = self.state.fetch_config(action)
        if raw is None:
            raise ConfigError(f"action {action!r} is placed but has no config")
        return self.host.load(parse_config(action, raw, allowed=self.allowed_modules))

    def _module_target(self, placement: Placement, name: str) -> Target:
        functions = self._import(placement.name)
        if name not in functions:
            raise BadRequest(
                f"action {placement.name!r} has no function {name!r}; it has {sorted(functions)}"
            )
        return functions[name].func

    def _remote_target(self, placement: Placement, name: str) -> Target:
        if name not in placement.spec:
            raise BadRequest(
                f"action {placement.name!r} has no function {name!r}; "
                f"it has {sorted(placement.spec)}"
            )
        params = placement.spec[name]
        pool = self._pool(placement.url)
        path = f"/{name.rsplit('.', 1)[-1]}/"

        def remote_call(*args: Any, **kwargs: Any) -> Any:
            body = json.dumps(encode_call(params, args, kwargs)).encode()
            try:
                status, payload = pool.post(path, body)
            except (OSError, http.client.HTTPException) as exc:
                self._checked = 0.0  # the placement may have moved: re-check next call
                raise ActionNotReady(
                    f"action server of {placement.name!r} at {placement.url} failed: {exc!r}"
                ) from exc
            return _result(name, status, payload)

        return remote_call

    def _pool(self, url: str) -> KeepAlivePool:
        pool = self._pools.get(url)
        if pool is None:
            parts = urlsplit(url)
            pool = KeepAlivePool(
                parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.call_timeout
            )
            self._pools[url] = pool
        return pool

    # change notifications

    def _listen(self) -> None:
        while not self._stopping.is_set():
            pubsub = self.state.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(keys.PLACEMENT_CHANNEL)
                while not self._stopping.is_set():
                    if pubsub.get_message(timeout=0.5) is not None:
                        self.sync()
            except (redis.RedisError, OSError):
                logger.warning("Placement listener lost Redis; re-subscribing.", exc_info=True)
                self._stopping.wait(RESUBSCRIBE_DELAY)
            except Exception:
                logger.exception("Placement listener failed to sync; going on.")
                self._stopping.wait(RESUBSCRIBE_DELAY)
            finally:
                pubsub.close()


def _result(name: str, status: int, payload: bytes) -> Any:
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise ActionCallError(
            f"{name} answered {status} with a body that is not JSON", status=status
        ) from exc
    if status == 200:
        return value
    detail = value.get("detail") if isinstance(value, dict) else value
    raise ActionCallError(f"{name} failed ({status}): {detail}", status=status)
