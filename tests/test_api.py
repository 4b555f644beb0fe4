"""The API façade end to end: real Redis, the real Celery worker, real action servers.

Every refused request is checked to leave the stored state exactly as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from jsorc.errors import ActionNotLoaded
from jsorc.router import Router
from jsorc.runtime import Runtime
from tests.conftest import ApiCaller, wait_until


@pytest.fixture
def router(rt: Runtime) -> Iterator[Router]:
    with Router(rt.state, allowed_modules=rt.settings.allowed_modules) as r:
        yield r


def post(api: ApiCaller, endpoint: str, /, **body: Any) -> tuple[int, dict]:
    return api.post(f"/js_admin/{endpoint}", json_body=body)


def status_of(api: ApiCaller, name: str) -> dict:
    return post(api, "jsorc_actions_status", name=name)[1]["action_status"]


def snapshot(rt: Runtime) -> tuple:
    return rt.state.fetch_configs(), rt.state.fetch_placements(), rt.db.fetch_configs()


def configure_examples(api: ApiCaller) -> None:
    for name in ("text_tools", "vectors", "classifier"):
        code, body = post(api, "jsorc_actions_config", name=name, config="jsorc_examples.config")
        assert (code, body["success"]) == (200, True)


def test_health_answers(api: ApiCaller) -> None:
    assert api.get("/health") == (200, {"success": True, "status": "ok", "backend": "local"})


def test_module_mode_load_call_unload(api: ApiCaller, router: Router, rt: Runtime) -> None:
    configure_examples(api)
    code, body = post(api, "jsorc_actions_load", name="text_tools", mode="module")
    assert code == 200 and body["action_status"]["status"] == "READY"

    router.sync()
    assert router.call("text_tools.word_count", "four words right here") == 4
    assert router.call("text_tools.join", "x", "y", sep=":") == "x:y"
    assert "jsorc_examples.text_tools" in sys.modules

    code, body = post(api, "jsorc_actions_unload", name="text_tools")
    assert code == 200
    assert status_of(api, "text_tools")["mode"] == "none"
    # The router's listener frees the module promptly, without a call.
    wait_until(
        lambda: "jsorc_examples.text_tools" not in sys.modules,
        timeout=5,
        what="module freed after unload",
    )
    assert rt.db.placement_history("text_tools")[-1]["status"] == "UNLOADED"


def test_remote_mode_starting_then_ready_then_retired(
    api: ApiCaller, router: Router, rt: Runtime
) -> None:
    configure_examples(api)
    code, body = post(api, "jsorc_actions_load", name="classifier", mode="remote")
    assert code == 200
    assert body["action_status"]["status"] == "STARTING"

    ready = wait_until(
        lambda: (s := status_of(api, "classifier"))["status"] == "READY" and s,
        timeout=60,
        what="classifier READY",
    )
    assert ready["functions"] == ["classifier.info", "classifier.predict"]
    pid = rt.backend.pid("classifier")
    assert pid is not None and pid != psutil.Process().pid

    # Iris sample 0 is a setosa, sample 149 a virginica (the data set's own labels).
    assert router.call("classifier.predict", [5.1, 3.5, 1.4, 0.2])["species"] == "setosa"
    assert (
        router.call("classifier.predict", features=[5.9, 3.0, 5.1, 1.8])["species"] == "virginica"
    )
    assert "jsorc_examples.classifier" not in sys.modules, "remote mode imported the module"

    code, body = post(api, "jsorc_actions_unload", name="classifier", mode="remote")
    assert code == 200 and body["action_status"]["status"] == "RETIRING"
    wait_until(
        lambda: status_of(api, "classifier")["mode"] == "none",
        timeout=30,
        what="classifier retired",
    )
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert rt.backend.names() == []


def test_switching_modes_frees_the_module_and_retires_the_server(
    api: ApiCaller, router: Router, rt: Runtime
) -> None:
    configure_examples(api)
    post(api, "jsorc_actions_load", name="vectors", mode="module")
    router.sync()
    assert router.call("vectors.centroid", [0, 0], [2, 4]) == [1.0, 2.0]
    assert "jsorc_examples.vectors" in sys.modules

    post(api, "jsorc_actions_load", name="vectors", mode="remote")
    wait_until(
        lambda: "jsorc_examples.vectors" not in sys.modules,
        timeout=5,
        what="module freed when moved to remote",
    )
    wait_until(
        lambda: status_of(api, "vectors")["status"] == "READY",
        timeout=60,
        what="vectors READY remote",
    )
    # Computed by hand: [1,0] is closest to [1,0.1]; then [1,1]; [0,1] last.
    assert router.call("vectors.nearest", [1, 0.1], [[0, 1], [1, 1], [1, 0]], k=2) == [2, 1]
    pid = rt.backend.pid("vectors")

    post(api, "jsorc_actions_load", name="vectors", mode="module")
    wait_until(lambda: rt.backend.names() == [], timeout=30, what="server retired")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert status_of(api, "vectors")["mode"] == "module"
    router.sync()
    assert router.call("vectors.normalize", [3, 4]) == [0.6, 0.8]


@pytest.mark.parametrize(
    ("endpoint", "body", "code", "message"),
    [
        ("jsorc_actions_load", {"name": "ghost", "mode": "module"}, 404, "no config for action"),
        (
            "jsorc_actions_load",
            {"name": "text_tools", "mode": "sideways"},
            400,
            "mode must be one of module, remote",
        ),
        (
            "jsorc_actions_unload",
            {"name": "text_tools", "mode": "sideways"},
            400,
            "mode must be one of auto",
        ),
        ("jsorc_actions_unload", {"name": "text_tools"}, 409, "is not loaded"),
        ("jsorc_actions_status", {"name": "ghost"}, 404, "no config for action 'ghost'"),
        (
            "jsorc_actions_config",
            {"name": "x", "config": "jsorc_examples.nowhere"},
            400,
            "cannot be found",
        ),
        (
            "jsorc_actions_config",
            {"name": "x", "config": "jsorc_examples.config"},
            400,
            "has no action 'x'",
        ),
        (
            "jsorc_actions_config",
            {"name": "x", "config": {"module": "subprocess"}},
            403,
            "not under an allowed prefix",
        ),
        ("jsorc_actions_config", {"name": "bad name!", "config": {}}, 422, "name"),
        ("jsorc_actions_load", {"name": "text_tools"}, 422, "mode"),
        ("jsorc_actions_load", {"name": "text_tools", "mode": "module", "x": 1}, 422, "x"),
        ("jsorc_actions_load", {"name": 5, "mode": "module"}, 422, "name"),
        ("jsorc_no_such_thing", {}, 404, "no admin endpoint"),
    ],
)
def test_bad_requests_are_4xx_with_a_message_and_change_nothing(
    api: ApiCaller, rt: Runtime, endpoint: str, body: dict, code: int, message: str
) -> None:
    configure_examples(api)
    post(api, "jsorc_actions_load", name="vectors", mode="module")
    before = snapshot(rt)

    got_code, reply = post(api, endpoint, **body)

    assert got_code == code
    assert reply["success"] is False
    assert message in reply["error"]
    assert snapshot(rt) == before


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b"\xff\xfe", b'{"name": {"a": 1}}'])
def test_malformed_json_is_refused(api: ApiCaller, raw: bytes) -> None:
    code, reply = api.post("/js_admin/jsorc_actions_load", raw=raw)
    assert code == 422
    assert reply["success"] is False


def test_calling_an_action_that_is_not_loaded_is_clear_and_harmless(
    api: ApiCaller, router: Router, rt: Runtime
) -> None:
    configure_examples(api)
    post(api, "jsorc_actions_load", name="vectors", mode="module")
    before = snapshot(rt)
    router.sync()

    with pytest.raises(ActionNotLoaded, match="'text_tools.word_count' is not loaded"):
        router.call("text_tools.word_count", "hello")

    assert snapshot(rt) == before
    assert router.call("vectors.normalize", [0, 2]) == [0.0, 1.0]


def test_status_of_everything_lists_configured_actions(api: ApiCaller) -> None:
    configure_examples(api)
    post(api, "jsorc_actions_load", name="text_tools", mode="module")
    code, body = post(api, "jsorc_actions_status")
    assert code == 200
    everything = body["action_status"]
    assert sorted(everything) == ["classifier", "text_tools", "vectors"]
    assert everything["text_tools"]["mode"] == "module"
    assert everything["classifier"]["mode"] == "none"
