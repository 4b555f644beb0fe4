"""The router on its own: following placement changes, and riding out a Redis outage."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from jsorc.placement import MODULE, READY, Placement
from jsorc.redis_server import RedisServer
from jsorc.router import Router
from jsorc.state import StateStore
from tests.conftest import wait_until

TEXT_TOOLS = {"module": "jsorc_examples.text_tools"}


def test_a_placement_change_reaches_the_router_without_a_call(redis_url: str) -> None:
    state = StateStore.from_url(redis_url)
    state.save_config("text_tools", TEXT_TOOLS)
    state.save_placement(Placement(name="text_tools", mode=MODULE, status=READY))
    with Router(state, allowed_modules=("jsorc_examples",), refresh_interval=3600) as router:
        assert router.call("text_tools.slugify", "A B") == "a-b"
        state.delete_placement("text_tools")
        # Only pub/sub can tell it within the hour-long refresh interval.
        wait_until(lambda: router.placement("text_tools") is None, timeout=5, what="change seen")
        wait_until(
            lambda: "jsorc_examples.text_tools" not in sys.modules, timeout=5, what="module freed"
        )


def test_module_calls_go_on_while_redis_is_down(tmp_path: Path) -> None:
    redis_server = RedisServer(directory=tmp_path / "redis").start()
    state = StateStore.from_url(redis_server.url)
    state.save_config("text_tools", TEXT_TOOLS)
    state.save_placement(Placement(name="text_tools", mode=MODULE, status=READY))
    router = Router(state, allowed_modules=("jsorc_examples",), refresh_interval=0.1)
    try:
        assert router.call("text_tools.word_count", "a b") == 2
        redis_server.stop()
        time.sleep(0.3)  # past the refresh interval: the next call checks Redis and fails
        assert router.call("text_tools.word_count", "a b c") == 3
        assert router.placement("text_tools").mode == MODULE
    finally:
        router.close()
        redis_server.stop()
