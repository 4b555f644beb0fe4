"""config_get / config_set over the API: values checked, stored, and refused cleanly."""

from __future__ import annotations

import pytest

from jsorc.runtime import Runtime
from tests.conftest import ApiCaller


def post(api: ApiCaller, endpoint: str, /, **body: object) -> tuple[int, dict]:
    return api.post(f"/js_admin/{endpoint}", json_body=body)


def test_config_get_lists_the_live_settings(api: ApiCaller) -> None:
    code, body = post(api, "config_get")
    assert code == 200
    assert body["config"] == {
        "backoff_interval": 2.0,
        "automation": True,
        "namespace": "default",
        "keep_alive": [],
    }
    assert post(api, "config_get", name="automation")[1]["config"] == {"automation": True}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("backoff_interval", 5, 5.0),
        ("backoff_interval", "7.5", 7.5),  # META-style: a string holding JSON
        ("automation", False, False),
        ("automation", "false", False),
        ("keep_alive", ["redis", "prometheus"], ["redis", "prometheus"]),
        ("namespace", "jsorc-prod", "jsorc-prod"),
    ],
)
def test_config_set_stores_a_checked_value(
    api: ApiCaller, rt: Runtime, name: str, value: object, expected: object
) -> None:
    code, body = post(api, "config_set", name=name, value=value)
    assert code == 200
    assert body["config"][name] == expected
    assert rt.db.fetch_settings()[name] == expected
    assert post(api, "config_get", name=name)[1]["config"] == {name: expected}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"name": "backoff_interval", "value": 0.5}, 400, "at least 2 seconds"),
        ({"name": "backoff_interval", "value": "soon"}, 400, "must be a number"),
        ({"name": "backoff_interval", "value": True}, 400, "number of seconds"),
        ({"name": "automation", "value": 3}, 400, "true or false"),
        ({"name": "keep_alive", "value": "redis"}, 400, "list of service names"),
        ({"name": "redis_url", "value": "redis://x"}, 400, "unknown setting"),
        ({"name": "backoff_interval"}, 422, "value"),
        ({"value": 3}, 422, "name"),
    ],
)
def test_config_set_refuses_bad_values_and_keeps_the_old_ones(
    api: ApiCaller, rt: Runtime, body: dict, code: int, message: str
) -> None:
    post(api, "config_set", name="backoff_interval", value=4)
    before = rt.db.fetch_settings()

    got_code, reply = post(api, "config_set", **body)

    assert got_code == code
    assert message in reply["error"]
    assert rt.db.fetch_settings() == before
    assert post(api, "config_get", name="backoff_interval")[1]["config"] == {
        "backoff_interval": 4.0
    }
