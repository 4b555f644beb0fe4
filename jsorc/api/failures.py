"""The API's answer when the SQL database is away: 503 with what to do, never a 500.

Admin operations write SQL before Redis, so a call refused here changed nothing.
Non-goal: retrying; the caller (or the next regeneration tick) tries again.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)


def install_outage_handlers(app: FastAPI) -> None:
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
