"""Single-flight locks in Redis: a key with a TTL, taken with SET NX, given back only
by its holder (a token check in Lua). A holder that dies frees the lock when the TTL
runs out, so the TTL must exceed the longest hold.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator

import redis

# Seconds between attempts while waiting for a held lock.
POLL_INTERVAL = 0.05

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


class SingleFlight:
    def __init__(self, client: redis.Redis, key: str, *, ttl: float) -> None:
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


@contextlib.contextmanager
def single_flight(
    client: redis.Redis, key: str, *, ttl: float, wait: float = 0.0
) -> Iterator[SingleFlight | None]:
    """Yields the held lock, or None when someone else still holds it after `wait` s."""
    lock = SingleFlight(client, key, ttl=ttl)
    if not lock.acquire(wait=wait):
        yield None
        return
    try:
        yield lock
    finally:
        lock.release()
