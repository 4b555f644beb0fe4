"""Every endpoint of the API's OpenAPI document, fed generated input (hypothesis).

Must hold for each request: no 5xx; and when a request is refused (4xx), Redis and SQL are
exactly as they were before it. Bodies are arbitrary JSON, objects made of the endpoint's
own field names with arbitrary values, and bytes that are not JSON at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
import urllib3
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsorc.admin import Dispatch
from jsorc.api.app import create_app
from jsorc.redis_server import free_port
from jsorc.runtime import Runtime
from tests.conftest import TEST_TOKEN, wait_until
from tests.fault_tools import redis_snapshot

# Generated requests per endpoint and kind of body.
EXAMPLES = 60
HEADERS = {"Authorization": f"Bearer {TEST_TOKEN}", "Content-Type": "application/json"}
# Words that real requests use, so generated bodies sometimes get past the first checks.
WORDS = ["text_tools", "vectors", "module", "remote", "auto", "backoff_interval", "redis",
         "jsorc_examples.config", "automation", "mail", "all_local", "adaptive", ""]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(WORDS)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


class Client:
    """Plain HTTP to the served app: status and decoded JSON (None when it is not JSON)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = urllib3.PoolManager(retries=False, timeout=30.0)

    def get(self, path: str) -> tuple[int, Any]:
        response = self.http.request("GET", self.base + path)
        return response.status, _json(response.data)

    def post(self, path: str, body: bytes) -> tuple[int, Any]:
        response = self.http.request("POST", self.base + path, body=body, headers=HEADERS)
        return response.status, _json(response.data)


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


@pytest.fixture
def client(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The API served by uvicorn; its dispatch and measurement queue only record, so no
    generated request ever starts a task."""
    import tasks.measure
    from jsorc.measure.queue import MeasureQueue

    queued: list[tuple[str, Any]] = []
    dispatch = Dispatch(
        spawn=lambda name: queued.append(("spawn", name)),
        retire=lambda name: queued.append(("retire", name)),
        refresh_service=lambda name: queued.append(("refresh", name)),
    )
    recording = MeasureQueue(
        run_loadtest=lambda test_id: queued.append(("loadtest", test_id)),
        sample_system=lambda session: queued.append(("tracksys", session)),
    )
    monkeypatch.setattr(tasks.measure, "celery_queue", lambda: recording)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(rt, dispatch), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, what="API listening")
    yield Client(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(10)


def sql_snapshot(rt: Runtime) -> dict[str, Any]:
    engine = rt.db.engine
    with engine.connect() as conn:
        return {
            table: sorted(map(repr, conn.execute(sqlalchemy.text(f'SELECT * FROM "{table}"'))))
            for table in sorted(sqlalchemy.inspect(engine).get_table_names())
        }


def snapshot(rt: Runtime) -> tuple[Any, Any]:
    return redis_snapshot(rt.state.client), sql_snapshot(rt)


def post_endpoints(client: Client) -> dict[str, list[str]]:
    """POST paths of the OpenAPI document, each with the field names of its body."""
    status, document = client.get("/openapi.json")
    assert status == 200
    schemas = document.get("components", {}).get("schemas", {})
    found = {}
    for path, operations in document["paths"].items():
        if "post" not in operations:
            continue
        body = operations["post"].get("requestBody", {}).get("content", {})
        schema = body.get("application/json", {}).get("schema", {})
        refs = [schema.get("$ref", "")] + [s.get("$ref", "") for s in schema.get("anyOf", [])]
        fields: list[str] = []
        for ref in filter(None, refs):
            fields += list(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
        found[path] = fields
    return found


def check(client: Client, rt: Runtime, path: str, body: bytes) -> None:
    before = snapshot(rt)
    status, reply = client.post(path, body)
    assert status < 500, (path, body[:200], reply)
    if status >= 400:
        assert reply["success"] is False and reply["error"], reply
        assert snapshot(rt) == before, (path, body[:200], status)


def test_the_openapi_document_lists_the_admin_endpoints(client: Client) -> None:
    paths = post_endpoints(client)
    assert {"/js_admin/jsorc_actions_config", "/js_admin/config_set"} <= set(paths)
    assert set(paths["/js_admin/jsorc_actions_load"]) == {"name", "mode", "keep_service"}


@pytest.mark.timeout(600)
def test_every_endpoint_survives_generated_input(client: Client, rt: Runtime) -> None:
    # Something to act on, so generated names sometimes hit a configured action.
    status, _ = client.post(
        "/js_admin/jsorc_actions_config",
        json.dumps({"name": "text_tools", "config": "jsorc_examples.config"}).encode(),
    )
    assert status == 200
    endpoints = post_endpoints(client)

    common = settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    for path, fields in sorted(endpoints.items()):
        shaped = st.fixed_dictionaries({}, optional={field: values for field in fields})

        @common
        @given(body=values | shaped)
        def any_json(body: Any) -> None:
            check(client, rt, path, json.dumps(body).encode())  # noqa: B023

        @common
        @given(raw=st.binary(max_size=64))
        def any_bytes(raw: bytes) -> None:
            check(client, rt, path, raw)  # noqa: B023

        any_json()
        any_bytes()


@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.~", max_size=30))
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
def test_unknown_endpoints_are_a_clear_404(client: Client, name: str) -> None:
    status, reply = client.post(f"/js_admin/x{name}", b"{}")
    assert 400 <= status < 500 and reply["success"] is False
