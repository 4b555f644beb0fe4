"""The API façade over HTTP: `POST /js_admin/<name>` with a JSON body, `GET /health`.

Replies are JSON with a `success` flag. A bad request is a 4xx whose `error` says what
to fix; Redis being away is a 503; nothing the caller sends gives a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from jsorc.admin import Dispatch
from jsorc.api.actions import action_routes
from jsorc.api.auth import install_guards
from jsorc.api.config import config_routes
from jsorc.api.failures import install_failure_handlers
from jsorc.api.measure import measure_routes, metrics_routes
from jsorc.api.policy import policy_routes
from jsorc.api.services import service_routes
from jsorc.errors import (
    ActionNotLoaded,
    BadRequest,
    JsorcError,
    ModuleNotAllowed,
    StateUnavailable,
    UnknownAction,
)
from jsorc.runtime import Runtime

logger = logging.getLogger(__name__)


def create_app(rt: Runtime, dispatch: Dispatch | Callable[[], Dispatch]) -> FastAPI:
    """The API over one Runtime; `dispatch` (or a factory of it) enqueues the work."""
    app = FastAPI(
        title="JSORC", version="0.1.0", description="Places, spawns, heals and measures actions."
    )

    def dispatcher() -> Dispatch:
        return dispatch if isinstance(dispatch, Dispatch) else dispatch()

    @app.get("/health")
    def health() -> JSONResponse:
        try:
            rt.state.ping()
        except StateUnavailable as exc:
            return JSONResponse(
                {"success": False, "status": "degraded", "error": str(exc)}, status_code=503
            )
        return JSONResponse({"success": True, "status": "ok", "backend": rt.settings.backend})

    app.include_router(action_routes(rt, dispatcher))
    app.include_router(config_routes(rt))
    app.include_router(service_routes(rt, dispatcher))
    app.include_router(measure_routes(rt))
    app.include_router(metrics_routes(rt))
    app.include_router(policy_routes(rt))

    @app.post("/js_admin/{name}", include_in_schema=False)
    def unknown_endpoint(name: str) -> JSONResponse:
        known = sorted(
            r.path.rsplit("/", 1)[-1]
            for r in app.routes
            if getattr(r, "path", "").startswith("/js_admin/") and "{" not in r.path
        )
        return JSONResponse(
            {"success": False, "error": f"no admin endpoint {name!r}; known: {', '.join(known)}"},
            status_code=404,
        )

    _install_error_handlers(app)
    install_guards(app, rt)
    install_failure_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    statuses: list[tuple[type[JsorcError], int]] = [
        (UnknownAction, 404),
        (ModuleNotAllowed, 403),
        (ActionNotLoaded, 409),
        (BadRequest, 400),
        (StateUnavailable, 503),
        (JsorcError, 400),
    ]

    @app.exception_handler(JsorcError)
    async def jsorc_error(_request: Request, exc: JsorcError) -> JSONResponse:
        status = next(code for kind, code in statuses if isinstance(exc, kind))
        return JSONResponse({"success": False, "error": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(_describe(e) for e in exc.errors())
        return JSONResponse(
            {"success": False, "error": f"invalid request: {problems}"}, status_code=422
        )


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"
