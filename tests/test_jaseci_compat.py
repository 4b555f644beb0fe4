"""Both directions of the wire protocol against Jaseci 1.4 itself: Jaseci's remote
loader drives a JSORC action server, and JSORC's router drives a Jaseci action server.

Jaseci needs old FastAPI and pydantic 1, so it lives in its own virtualenv, named by
JSORC_JASECI_PYTHON (`make jaseci-venv` builds `.venv-jaseci`; CI does so).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jsorc.backends import fetch_spec
from jsorc.errors import ActionNotReady
from jsorc.placement import READY, REMOTE, Placement
from jsorc.redis_server import free_port
from jsorc.router import Router
from jsorc.state import StateStore
from tests.conftest import text_tools_server

JASECI_PYTHON = os.environ.get("JSORC_JASECI_PYTHON", "")
HERE = Path(__file__).resolve().parent

pytestmark = [
    pytest.mark.jaseci,
    pytest.mark.skipif(
        not JASECI_PYTHON,
        reason="set JSORC_JASECI_PYTHON to a Python with jaseci 1.4 (make jaseci-venv)",
    ),
]


def wait_for_spec(url: str, process: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fetch_spec(url)
        except ActionNotReady:
            assert process.poll() is None, "server exited while starting"
            assert time.monotonic() < deadline, f"no spec from {url}"
            time.sleep(0.1)


@pytest.fixture
def jsorc_server(tmp_path: Path) -> Iterator[str]:
    with text_tools_server(tmp_path) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture
def jaseci_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [JASECI_PYTHON, str(HERE / "jaseci_side" / "jmath.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=HERE / "jaseci_side",
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_spec(url, process)
    yield url
    process.terminate()
    process.wait(10)


JASECI_LOADER = """
import json, sys
from jaseci.jsorc.live_actions import live_actions, load_remote_actions
assert load_remote_actions(sys.argv[1]), "Jaseci could not load the remote actions"
print(json.dumps({
    "names": sorted(k for k in live_actions if k.startswith("text_tools.")),
    "word_count": live_actions["text_tools.word_count"]("one two three"),
    "join": live_actions["text_tools.join"]("a", "b", "c", sep="-"),
    "render": live_actions["text_tools.render"]("{x} and {y}", x=1, y="two"),
    "slug": live_actions["text_tools.slug"]("Hello, World!"),
    "keywords": live_actions["text_tools.keywords"]("b d b c d b", top=1),
}))
"""


def test_jaseci_loads_and_calls_a_jsorc_action_server(jsorc_server: str) -> None:
    done = subprocess.run(
        [JASECI_PYTHON, "-c", JASECI_LOADER, jsorc_server],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "names": [
            "text_tools.join",
            "text_tools.keywords",
            "text_tools.render",
            "text_tools.slug",
            "text_tools.slugify",
            "text_tools.word_count",
        ],
        "word_count": 3,
        "join": "a-b-c",
        "render": "1 and two",
        "slug": "hello-world",
        "keywords": [["b", 3]],
    }


def test_the_router_calls_a_jaseci_action_server(jaseci_server: str, redis_url: str) -> None:
    state = StateStore.from_url(redis_url)
    spec = fetch_spec(jaseci_server)
    assert spec == {
        "jmath.add": ["a", "b"],
        "jmath.total": ["*nums", "scale"],
        "jmath.describe": ["name", "**traits"],
    }
    state.save_placement(
        Placement(name="jmath", mode=REMOTE, status=READY, url=jaseci_server, spec=spec)
    )
    with Router(state, allowed_modules=()) as router:
        assert router.call("jmath.add", 2, b=5) == 7
        assert router.call("jmath.add", 2) == 3
        assert router.call("jmath.total", 1, 2, 3, scale=2) == 12
        assert router.call("jmath.describe", "rose", colour="red") == {
            "name": "rose",
            "colour": "red",
        }
