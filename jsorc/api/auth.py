"""Guards in front of the API: a bearer token on the admin endpoints and a body-size limit.

An ASGI middleware, so a refused request never reaches a route (nothing is parsed or
changed). `/health`, `/metrics` and the OpenAPI docs stay open. Non-goals: users, roles,
TLS. Hazard: the token is a secret; it is compared in constant time and never logged,
and neither is whatever a caller sent in its place.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)

# Path prefix of the endpoints that need the token.
ADMIN_PREFIX = "/js_admin/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def install_guards(app: FastAPI, rt: Runtime) -> None:
    """Put the token check and the size limit in front of every route of `app`."""
    app.add_middleware(ApiGuard, rt=rt)


class ApiGuard:
    """Refuses oversized bodies (413) and admin calls without the right token (401).
    Settings are read per request from `rt`, so a test or a live change applies at once."""

    def __init__(self, app: ASGIApp, *, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.rt.settings.max_request_bytes
        if scope["path"].startswith(ADMIN_PREFIX):
            refusal = token_refusal(_header(scope, b"authorization"), self.rt.settings.api_token)
            if refusal:
                logger.info("Refused %s %s: %s", scope["method"], scope["path"], refusal)
                await _refuse(send, 401, refusal, {"www-authenticate": "Bearer"})
                return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, 413, too_large(declared, limit), {"connection": "close"})
            return
        body = await _read_body(receive, limit)
        if body is None:
            await _refuse(send, 413, too_large("more than that", limit), {"connection": "close"})
            return
        await self.app(scope, _replay(body, receive), send)


def token_refusal(header: str | None, token: str) -> str:
    """Why a request with this Authorization header is refused, or '' when it may pass."""
    if not token:
        return (
            "the admin API has no token configured, so every admin call is refused; "
            "set JSORC_API_TOKEN where the API runs (`jsorc up` makes one)"
        )
    if not header:
        return (
            "admin endpoints need a bearer token: send 'Authorization: Bearer <token>' "
            "(JSORC_API_TOKEN; `jsorc up` writes it to .jsorc/stack.json)"
        )
    scheme, _, offered = header.partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return "the Authorization header must be 'Bearer <token>'"
    if not hmac.compare_digest(offered.strip().encode(), token.encode()):
        return "the bearer token is not the one this API was given; check JSORC_API_TOKEN"
    return ""


def too_large(size: str, limit: int) -> str:
    return (
        f"request body of {size} bytes is over the limit of {limit} bytes "
        "(JSORC_MAX_REQUEST_BYTES); send less"
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """The request's body messages, or None once they pass `limit` bytes (chunked)."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(send: Send, status: int, error: str, extra: dict[str, str]) -> None:
    payload = json.dumps({"success": False, "error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((key.encode(), value.encode()) for key, value in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
