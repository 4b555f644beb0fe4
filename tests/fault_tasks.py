"""A task for the fault-injection tests, loaded into subprocess workers with `-I`.

It counts its starts and completions in Redis (JSORC_REDIS_URL), so a test can tell a
task that was lost from one that ran again after its worker died.
"""

from __future__ import annotations

import os
import time

import redis

from tasks.app import app

# Queue of the fault tests' tasks, apart from JSORC's own.
QUEUE = "faults"


@app.task(name="tests.faults.slow_mark", ignore_result=True)
def slow_mark(key: str, seconds: float) -> None:
    client = redis.Redis.from_url(os.environ["JSORC_REDIS_URL"])
    client.hincrby(key, "started", 1)
    time.sleep(seconds)
    client.hincrby(key, "done", 1)
