"""Security: admin calls need the token, bodies have a size limit, only allow-listed modules
are imported, unsafe manifests are refused, and no secret reaches a log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import urllib3

from jsorc.runtime import Runtime
from tests.conftest import TEST_TOKEN, ApiCaller

ADMIN_PATHS = [
    "/js_admin/jsorc_actions_config",
    "/js_admin/jsorc_actions_load",
    "/js_admin/jsorc_actions_status",
    "/js_admin/jsorc_actions_unload",
    "/js_admin/config_get",
    "/js_admin/config_set",
    "/js_admin/service_info",
    "/js_admin/service_refresh",
    "/js_admin/no_such_endpoint",
]
CONFIG = {"name": "vectors", "config": "jsorc_examples.config"}


def raw_post(api: ApiCaller, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    response = urllib3.PoolManager(retries=False, timeout=30.0).request(
        "POST", api.base + path, body=body, headers={"Content-Type": "application/json", **headers}
    )
    return response.status, json.loads(response.data)


@pytest.mark.parametrize("path", ADMIN_PATHS)
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "admin endpoints need a bearer token"),
        ({"Authorization": "Bearer not-the-token"}, "bearer token is not the one"),
        ({"Authorization": f"Basic {TEST_TOKEN}"}, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer "}, "must be 'Bearer <token>'"),
    ],
    ids=["none", "wrong", "basic", "empty"],
)
def test_admin_calls_without_the_token_are_refused_with_401(
    api: ApiCaller, rt: Runtime, path: str, headers: dict[str, str], message: str
) -> None:
    status, reply = raw_post(api, path, json.dumps(CONFIG).encode(), headers)

    assert status == 401
    assert reply["success"] is False and message in reply["error"]
    assert rt.state.fetch_configs() == {} and rt.db.fetch_configs() == {}


def test_health_and_docs_stay_open(api: ApiCaller) -> None:
    http = urllib3.PoolManager(retries=False, timeout=30.0)
    assert http.request("GET", api.base + "/health").status == 200
    assert http.request("GET", api.base + "/openapi.json").status == 200
    # /metrics is open too: whatever it answers, it is not a refusal for want of a token.
    assert http.request("GET", api.base + "/metrics").status != 401


def test_the_right_token_passes(api: ApiCaller, rt: Runtime) -> None:
    status, reply = api.post("/js_admin/jsorc_actions_config", json_body=CONFIG)
    assert (status, reply["success"]) == (200, True)
    assert set(rt.db.fetch_configs()) == {"vectors"}


def test_an_api_without_a_token_refuses_every_admin_call(
    api: ApiCaller, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    monkeypatch.setattr(rt, "settings", dataclasses.replace(rt.settings, api_token=""))
    status, reply = api.post("/js_admin/jsorc_actions_config", json_body=CONFIG)
    assert status == 401 and "no token configured" in reply["error"]


def test_a_body_over_the_limit_is_refused_with_413(api: ApiCaller, rt: Runtime) -> None:
    limit = rt.settings.max_request_bytes
    padding = "x" * (limit + 1)
    status, reply = api.post("/js_admin/jsorc_actions_config", json_body={**CONFIG, "pad": padding})
    assert status == 413
    assert f"over the limit of {limit} bytes" in reply["error"]
    assert rt.db.fetch_configs() == {}


def test_a_chunked_body_over_the_limit_is_refused_with_413(api: ApiCaller, rt: Runtime) -> None:
    limit = rt.settings.max_request_bytes
    chunks = (b" " * 65536 for _ in range(limit // 65536 + 2))
    response = urllib3.PoolManager(retries=False, timeout=30.0).request(
        "POST",
        api.base + "/js_admin/jsorc_actions_status",
        body=chunks,
        chunked=True,
        headers={**api.headers},
    )
    assert response.status == 413
    assert "over the limit" in json.loads(response.data)["error"]


def test_a_module_outside_the_allow_list_is_refused_without_being_imported(
    api: ApiCaller, rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "evil_action.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {"name": "evil", "config": {"module": "evil_action"}}

    status, reply = api.post("/js_admin/jsorc_actions_config", json_body=config)

    assert status == 403 and "evil_action" in reply["error"]
    assert not marker.exists() and "evil_action" not in sys.modules
    assert rt.state.fetch_configs() == {} and rt.db.fetch_configs() == {}


def test_an_unsafe_manifest_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "unsafe.yaml"
    manifest.write_text(
        textwrap.dedent(
            """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers:
                    - {name: main, image: nginx, securityContext: {privileged: true}}
                  volumes:
                    - {name: root, hostPath: {path: /}}
            """
        )
    )
    env = {**os.environ, "JSORC_NAMESPACE": "default", "JSORC_UNSAFE": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "jsorc.kube", "check", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "rejected, nothing was applied" in done.stderr
    assert "container 'main' is privileged" in done.stderr
    assert "hostPath" in done.stderr


def test_no_secret_reaches_the_logs(
    api: ApiCaller, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cret-mail-pw-42"
    wrong = "wrong-token-that-must-not-be-logged"
    caplog.set_level(logging.DEBUG)

    api.post("/js_admin/jsorc_actions_config", json_body=CONFIG)
    raw_post(api, "/js_admin/config_get", b"{}", {"Authorization": f"Bearer {wrong}"})
    status, _ = api.post(
        "/js_admin/config_set", json_body={"name": "service.mail", "value": {"password": password}}
    )
    assert status == 200
    status, info = api.post("/js_admin/service_info", json_body={"name": "mail"})
    logging.getLogger("test").info("Settings in use: %r", rt.settings)

    assert status == 200 and info["service"]["config"]["password"] == "***"
    assert caplog.records, "nothing was logged, so the check below would prove nothing"
    for secret in (TEST_TOKEN, wrong, password):
        assert secret not in caplog.text
