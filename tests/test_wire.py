"""The Jaseci wire protocol: bodies built by hand, checked against encode/decode and
against a real action server over HTTP."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from jsorc.actions.wire import decode_call, encode_call
from jsorc.errors import BadRequest
from tests.conftest import text_tools_server


def sample(a, b=2, *rest, scale=1, **extra):  # noqa: ANN001, ANN002, ANN003, ANN202
    return [a, b, list(rest), scale, extra]


SAMPLE_PARAMS = ["a", "b", "*rest", "scale", "**extra"]


@pytest.mark.parametrize(
    ("args", "kwargs", "body"),
    [
        ((1,), {}, {"a": 1}),
        ((1, 5), {}, {"a": 1, "b": 5}),
        ((1, 5, 7, 8), {}, {"a": 1, "b": 5, "*rest": [7, 8]}),
        ((1,), {"scale": 3}, {"a": 1, "scale": 3}),
        ((1,), {"colour": "red"}, {"a": 1, "**extra": {"colour": "red"}}),
        ((), {"a": 4, "b": 0}, {"a": 4, "b": 0}),
    ],
)
def test_encode_builds_the_jaseci_body(args: tuple, kwargs: dict, body: dict) -> None:
    assert encode_call(SAMPLE_PARAMS, args, kwargs) == body


def test_encode_refuses_what_python_would_refuse() -> None:
    with pytest.raises(BadRequest, match="at most 1 positional"):
        encode_call(["text"], ("a", "b"), {})
    with pytest.raises(BadRequest, match="unexpected keyword argument 'nope'"):
        encode_call(["text"], (), {"nope": 1})
    with pytest.raises(BadRequest, match="multiple values for argument 'text'"):
        encode_call(["text"], ("a",), {"text": "b"})


@pytest.mark.parametrize(
    ("body", "result"),
    [
        ({"a": 1}, [1, 2, [], 1, {}]),
        ({"a": 1, "b": 5, "*rest": [7, 8]}, [1, 5, [7, 8], 1, {}]),
        ({"a": 1, "scale": 3, "**extra": {"k": "v"}}, [1, 2, [], 3, {"k": "v"}]),
        ({"b": 9, "a": 0}, [0, 9, [], 1, {}]),
    ],
)
def test_decode_calls_the_function_as_python_would(body: dict, result: list) -> None:
    args, kwargs = decode_call(sample, body)
    assert sample(*args, **kwargs) == result


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "JSON object"),
        ({}, "missing required parameter 'a'"),
        ({"a": 1, "zzz": 2}, "unexpected parameter"),
        ({"a": 1, "*rest": "notalist"}, "must be a JSON array"),
        ({"a": 1, "**extra": [1]}, "must be a JSON object"),
    ],
)
def test_decode_refuses_malformed_bodies(body: Any, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        decode_call(sample, body)


@pytest.fixture(scope="module")
def text_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real action server for jsorc_examples.text_tools, in its own process."""
    with text_tools_server(tmp_path_factory.mktemp("server")) as address:
        yield address


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_spec_endpoint_lists_every_function_with_its_parameters(text_server) -> None:
    conn = http.client.HTTPConnection(*text_server, timeout=10)
    status, spec = _exchange(conn, "GET", "/jaseci_actions_spec/")
    assert status == 200
    assert spec == {
        "text_tools.word_count": ["text"],
        "text_tools.keywords": ["text", "top"],
        "text_tools.slugify": ["text"],
        "text_tools.slug": ["text"],
        "text_tools.join": ["*words", "sep"],
        "text_tools.render": ["template", "**fields"],
    }


def test_post_per_function_with_varargs_and_keyword_varargs(text_server) -> None:
    conn = http.client.HTTPConnection(*text_server, timeout=10)
    assert _exchange(conn, "POST", "/word_count/", {"text": "one two three"}) == (200, 3)
    assert _exchange(conn, "POST", "/join/", {"*words": ["a", "b", "c"], "sep": "-"}) == (
        200,
        "a-b-c",
    )
    assert _exchange(conn, "POST", "/join/", {}) == (200, "")
    assert _exchange(
        conn, "POST", "/render/", {"template": "{x}/{y}", "**fields": {"x": 1, "y": "z"}}
    ) == (200, "1/z")
    # Jaseci's loader posts without the trailing slash; aliases answer too.
    assert _exchange(conn, "POST", "/slug", {"text": "Hello, World!"}) == (200, "hello-world")
    assert _exchange(conn, "POST", "/keywords/", {"text": "b d b c d b", "top": 2}) == (
        200,
        [["b", 3], ["d", 2]],
    )


def test_one_connection_is_kept_alive_across_calls(text_server) -> None:
    conn = http.client.HTTPConnection(*text_server, timeout=10)
    _exchange(conn, "POST", "/word_count/", {"text": "a"})
    first_socket = conn.sock
    _exchange(conn, "POST", "/word_count/", {"text": "a b"})
    assert conn.sock is first_socket


@pytest.mark.parametrize(
    ("path", "raw", "status", "detail"),
    [
        ("/nope/", b"{}", 404, "no action at '/nope/'"),
        ("/word_count/", b"{not json", 422, "not valid JSON"),
        ("/word_count/", b"{}", 422, "missing required parameter 'text'"),
        ("/word_count/", b'{"text": "a", "extra": 1}', 422, "unexpected parameter"),
        ("/join/", b'{"*words": 5}', 422, "must be a JSON array"),
        ("/render/", b'{"template": "{missing}"}', 500, "KeyError"),
    ],
)
def test_bad_calls_get_a_clear_error_and_the_server_goes_on(
    text_server, path: str, raw: bytes, status: int, detail: str
) -> None:
    conn = http.client.HTTPConnection(*text_server, timeout=10)
    got_status, body = _exchange(conn, "POST", path, raw=raw)
    assert got_status == status
    assert detail in body["detail"]
    assert _exchange(conn, "POST", "/word_count/", {"text": "still here"}) == (200, 2)
