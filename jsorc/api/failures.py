"""How the API answers failures no route handles, in its usual `{success, error}` shape.

The SQL database being away is a 503 (admin operations write SQL before Redis, so a call
refused here changed nothing); a refusal raised by the framework itself (a body it
cannot parse, a wrong method) keeps its 4xx status with the message as `error`.
Non-goal: retrying; the caller (or the next regeneration tick) tries again.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)


def install_failure_handlers(app: FastAPI) -> None:
    @app.exception_handler(DBAPIError)
    async def database_away(_request: Request, exc: DBAPIError) -> JSONResponse:
        logger.warning("SQL database unreachable: %s", type(exc.orig).__name__)
        return JSONResponse(
            {
                "success": False,
                "error": "the SQL database cannot be reached, nothing was changed; "
                "try again once it is back (JSORC_DATABASE_URL)",
            },
            status_code=503,
        )

    @app.exception_handler(HTTPException)
    async def refused(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"success": False, "error": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )
