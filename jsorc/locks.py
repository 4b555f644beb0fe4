"""Single-flight locks in Redis: a key with a TTL, taken with SET NX, given back only
by its holder (a token check in Lua). A holder that dies frees the lock when the TTL
runs out. A TTL is checked against the period it guards (it must outlast one tick), and
a long hold renews it from a daemon thread every third of the TTL, so slow work keeps it.
Hazard: a holder stalled longer than the TTL (SIGSTOP, a frozen VM) loses the lock.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Iterator

import redis

from jsorc.errors import SettingsError

logger = logging.getLogger(__name__)

# Seconds between attempts while waiting for a held lock.
POLL_INTERVAL = 0.05
# A held lock is renewed every TTL / RENEWALS_PER_TTL seconds.
RENEWALS_PER_TTL = 3

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


def check_ttl(key: str, ttl: float, *, longer_than: float) -> None:
    """Refuse a TTL that does not outlast `longer_than` seconds (one tick of what it guards)."""
    if not ttl > max(longer_than, 0.0):
        raise SettingsError(
            f"lock {key!r}: a TTL of {ttl:g} s must exceed {longer_than:g} s, "
            "the period it guards; raise the TTL"
        )


class SingleFlight:
    def __init__(self, client: redis.Redis, key: str, *, ttl: float) -> None:
        check_ttl(key, ttl, longer_than=0.0)
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl * 1000)
        self.token = secrets.token_hex(8)

    def acquire(self, *, wait: float = 0.0) -> bool:
        """Take the lock, polling for up to `wait` seconds while someone else holds it."""
        deadline = time.monotonic() + wait
        while True:
            if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)

    def extend(self) -> bool:
        return bool(self.client.eval(_EXTEND, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> bool:
        return bool(self.client.eval(_RELEASE, 1, self.key, self.token))


class Renewal:
    """Extends a held lock every TTL / RENEWALS_PER_TTL seconds until stopped; `lost` is set
    when the lock turned out to be someone else's (it had expired)."""

    def __init__(self, lock: SingleFlight) -> None:
        self.lock = lock
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jsorc-lock-renewal", daemon=True)

    def start(self) -> Renewal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        every = self.lock.ttl_ms / 1000 / RENEWALS_PER_TTL
        while not self._stop.wait(every):
            try:
                if not self.lock.extend():
                    logger.warning("Lock %r expired while held; work goes on unguarded.",
                                   self.lock.key)  # fmt: skip
                    self.lost.set()
                    return
            except redis.RedisError as exc:
                logger.warning("Could not renew lock %r (%s); trying again.", self.lock.key, exc)


@contextlib.contextmanager
def single_flight(
    client: redis.Redis,
    key: str,
    *,
    ttl: float,
    wait: float = 0.0,
    renew: bool = False,
    longer_than: float = 0.0,
) -> Iterator[SingleFlight | None]:
    """Yields the held lock, or None when someone else still holds it after `wait` s.
    `longer_than`: the TTL must exceed it; `renew`: keep extending it while held."""
    check_ttl(key, ttl, longer_than=longer_than)
    lock = SingleFlight(client, key, ttl=ttl)
    if not lock.acquire(wait=wait):
        yield None
        return
    renewal = Renewal(lock).start() if renew else None
    try:
        yield lock
    finally:
        if renewal is not None:
            renewal.stop()
        lock.release()
