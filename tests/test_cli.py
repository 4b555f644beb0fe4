"""The `jsorc` command line against a served API, and the main job end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import urllib3

from jsorc.cli import normalise_args
from jsorc.runtime import Runtime
from tests.conftest import ApiCaller, wait_until

PROJECT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["actions", "load", "x", "-mode", "remote"], ["actions", "load", "x", "--mode", "remote"]),
        (
            ["actions", "load", "x", "--mode", "remote"],
            ["actions", "load", "x", "--mode", "remote"],
        ),
        (["actions", "unload", "x", "-mode=auto"], ["actions", "unload", "x", "--mode=auto"]),
        (["-h"], ["-h"]),
        (["call", "vectors.normalize", "[-3, 4]"], ["call", "vectors.normalize", "[-3, 4]"]),
        (["x", "-5"], ["x", "-5"]),
    ],
)
def test_single_dash_long_options_are_accepted(argv: list[str], expected: list[str]) -> None:
    assert normalise_args(argv) == expected


def jsorc(api: ApiCaller, rt: Runtime, *words: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **rt.settings.to_env(), "JSORC_API_URL": api.base}
    return subprocess.run(
        [sys.executable, "-m", "jsorc.cli", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=rt.settings.home.parent,
    )


def test_cli_config_load_status_call_unload(api: ApiCaller, rt: Runtime) -> None:
    done = jsorc(api, rt, "actions", "config", "vectors", "jsorc_examples.config")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["module"] == "jsorc_examples.vectors"

    done = jsorc(api, rt, "actions", "load", "vectors", "-mode", "module")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "module"

    done = jsorc(api, rt, "call", "vectors.cosine_similarity", '{"a": [1, 0], "b": [0, 1]}')
    assert (done.returncode, json.loads(done.stdout)) == (0, 0.0)

    status: dict[str, Any] = json.loads(jsorc(api, rt, "actions", "status").stdout)
    assert status["vectors"]["mode"] == "module"

    done = jsorc(api, rt, "actions", "unload", "vectors")
    assert done.returncode == 0, done.stderr
    assert json.loads(jsorc(api, rt, "actions", "status", "vectors").stdout)["mode"] == "none"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("actions", "load", "vectors", "-mode", "sideways"), "mode must be one of"),
        (("actions", "load", "ghost", "--mode", "module"), "no config for action 'ghost'"),
        (("actions", "config", "x", "jsorc_examples.nowhere"), "cannot be found"),
        (("call", "vectors.normalize", "[3, 4]"), "is not loaded"),
        (("call", "vectors.normalize", "{oops"), "arguments must be JSON"),
    ],
)
def test_cli_errors_are_one_clear_line(
    api: ApiCaller, rt: Runtime, words: tuple, message: str
) -> None:
    jsorc(api, rt, "actions", "config", "vectors", "jsorc_examples.config")
    done = jsorc(api, rt, *words)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(240)
def test_the_demo_runs_end_to_end(tmp_path: Path) -> None:
    """`jsorc demo` from a clean folder: stack up, actions managed and healed, all stopped."""
    jsorc_bin = shutil.which("jsorc", path=str(Path(sys.executable).parent))
    assert jsorc_bin, "the jsorc console script is not installed beside this Python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSORC_")}
    done = subprocess.run(
        [jsorc_bin, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=200
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in (
        "classifier load returned at once: mode=remote status=STARTING",
        "classifier: READY",
        "regeneration brought classifier back",
        "text_tools.word_count -> 11",
        "demo finished",
    ):
        assert line in out, out
    assert not (tmp_path / ".jsorc" / "stack.json").exists()
    started = [int(pid) for pid in re.findall(r"\bpid (\d+)", out)]
    assert len(started) >= 4, out  # worker, beat, api, and the classifier's servers
    assert [pid for pid in started if _running(pid)] == [], "the demo left processes behind"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.timeout(120)
def test_up_with_flower_then_ctrl_c_stops_everything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSORC_")}
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "jsorc.cli", "up", "--api-port", "0", "--flower",
             "--flower-port", "0"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: "JSORC is up" in log.read_text(), timeout=60, what="stack up")
        text = log.read_text()
        flower_url = re.search(r"flower +(http://127\.0\.0\.1:\d+)", text).group(1)
        stack = json.loads((tmp_path / ".jsorc" / "stack.json").read_text())
        http = urllib3.PoolManager(retries=False, timeout=5.0)
        assert json.loads(http.request("GET", stack["api_url"] + "/health").data)["status"] == "ok"
        wait_until(
            lambda: _answers(http, flower_url + "/healthcheck"), timeout=30, what="Flower up"
        )
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
    assert up.returncode == 0, log.read_text()
    started = [int(pid) for pid in re.findall(r"\bpid (\d+)", log.read_text())]
    assert len(started) == 4  # worker, beat, api, flower
    assert [pid for pid in started if _running(pid)] == []
    assert not (tmp_path / ".jsorc" / "stack.json").exists()


def _answers(http: urllib3.PoolManager, url: str) -> bool:
    try:
        return http.request("GET", url).status == 200
    except urllib3.exceptions.HTTPError:
        return False
